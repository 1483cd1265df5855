"""Reaction force on the measured boundary and equilibrium error, from the assembled internal force."""

from __future__ import annotations

import numpy as np

from scema.fe.boundary import applied_displacement, constrained_components, prescribed_increments
from scema.io.datasets import reaction_dataset
from scema.io.netcdf import read_dataset, write_dataset
from scema.specimen import build_model


def run(
    model_settings: dict,
    boundary_conditions: list[dict],
    face: str,
    step: int,
    material_files: dict[str, str],
    stress: str,
    out_reaction: str,
) -> None:
    """Reaction on boundary ``face``; ``model_settings``: what build_model reads (rule params)."""
    model, _ = build_model(model_settings, material_files)
    f_int = model.internal_force(read_dataset(stress)["stress"].values)
    bcs = boundary_conditions
    constrained = np.zeros(f_int.shape, dtype=bool)
    for name, comp in prescribed_increments(bcs):
        constrained[model.face_nodes(name), comp] = True
    # a reaction exists only where the displacement is prescribed; a free component's nodal sum
    # is an out-of-balance force, already counted in residual_norm
    components = constrained_components(bcs, face)
    reaction = np.full(3, np.nan)
    reaction[components] = f_int[model.face_nodes(face)].sum(axis=0)[components]
    free_residual = np.where(constrained, 0.0, f_int)
    if model.comm.rank != 0:  # every rank holds the gathered arrays; one writes them
        return
    labels = " ".join("xyz"[c] for c in components)
    ds = reaction_dataset(
        step, face, reaction, applied_displacement(bcs, face, step), np.linalg.norm(free_residual), labels
    )
    write_dataset(ds, out_reaction, f"reaction force, step {step}")
