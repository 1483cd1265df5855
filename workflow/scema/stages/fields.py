"""ParaView fields of a finished run (issue 10): one XDMF time series, a frame per step."""

from __future__ import annotations

from scema.fe.fields import INFORMATION, cell_fields
from scema.io.netcdf import read_dataset
from scema.specimen import build_model


def run(
    config: dict,
    material_files: dict[str, str],
    fe_states: list[str],
    stresses: list[str],
    out_fields: str,
    clusters: list[str] | None = None,
) -> None:
    """Displacement (nodal) and the per-cell stress fields of every step at the step's time."""
    model, _density = build_model(config, material_files)
    frames = []
    for k, (fe_path, stress_path) in enumerate(zip(fe_states, stresses)):
        state = read_dataset(fe_path)
        representative = read_dataset(clusters[k])["representative"].values if clusters else None
        cells = cell_fields(read_dataset(stress_path), model.points_per_cell, representative)
        frames.append((state.attrs["time"], {"nodes": {"displacement": state["displacement"].values}, "cells": cells}))
    model.write_time_series(out_fields, frames, INFORMATION)
