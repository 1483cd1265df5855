"""Reaction force on the loaded face and equilibrium error, from the assembled internal force."""

from __future__ import annotations

import numpy as np
import xarray as xr

from scema.fe.boundary import applied_displacement, prescribed_increments
from scema.io.datasets import XYZ
from scema.io.netcdf import read_dataset, write_dataset
from scema.specimen import build_model


def run(config: dict, step: int, material_files: dict[str, str], stress: str, out_reaction: str) -> None:
    model, _ = build_model(config, material_files)
    f_int = model.internal_force(read_dataset(stress)["stress"].values)
    bcs = config["specimen"]["boundary_conditions"]
    face = config["specimen"]["reaction_face"]
    on_face = model.face_nodes(face)
    constrained = np.zeros(f_int.shape, dtype=bool)
    for f, comp in prescribed_increments(bcs):
        constrained[model.face_nodes(f), comp] = True
    free_residual = np.where(constrained, 0.0, f_int)
    if model.comm.rank != 0:  # every rank holds the gathered arrays; one writes them
        return
    ds = xr.Dataset(
        {
            "reaction_force": (
                "xyz",
                f_int[on_face].sum(axis=0),
                {"long_name": f"reaction force on face {face} (sum of nodal internal forces)", "units": "N"},
            ),
            "applied_displacement": (
                "xyz",
                applied_displacement(bcs, face, step),
                {"long_name": f"prescribed displacement of face {face} (NaN where free)", "units": "m"},
            ),
            "residual_norm": (
                (),
                float(np.linalg.norm(free_residual)),
                {"long_name": "norm of the out-of-balance force on free dofs (carried to the next step)", "units": "N"},
            ),
        },
        coords=XYZ,
        attrs={"step": int(step), "face": face},
    )
    write_dataset(ds, out_reaction, f"reaction force, step {step}")
