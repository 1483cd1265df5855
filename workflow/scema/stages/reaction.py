"""Reaction force on the measured boundary and equilibrium error, from the assembled internal force."""

from __future__ import annotations

import numpy as np
import xarray as xr

from scema.fe.boundary import applied_displacement, constrained_components, prescribed_increments
from scema.io.datasets import XYZ
from scema.io.netcdf import read_dataset, write_dataset
from scema.specimen import build_model


def run(config: dict, step: int, material_files: dict[str, str], stress: str, out_reaction: str) -> None:
    model, _ = build_model(config, material_files)
    f_int = model.internal_force(read_dataset(stress)["stress"].values)
    bcs = config["specimen"]["boundary_conditions"]
    face = config["specimen"]["reaction_face"]
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
    ds = xr.Dataset(
        {
            "reaction_force": (
                "xyz",
                reaction,
                {
                    "long_name": f"reaction force on boundary {face} (sum of nodal internal forces)",
                    "units": "N",
                    "comment": "only the components prescribed on the boundary are reactions; NaN where free",
                    "constrained_components": labels,
                },
            ),
            "applied_displacement": (
                "xyz",
                applied_displacement(bcs, face, step),
                {"long_name": f"prescribed displacement of boundary {face} (NaN where free)", "units": "m"},
            ),
            "residual_norm": (
                (),
                float(np.linalg.norm(free_residual)),
                {"long_name": "norm of the out-of-balance force on free dofs (carried to the next step)", "units": "N"},
            ),
        },
        coords=XYZ,
        attrs={"step": int(step), "face": face, "constrained_components": labels},
    )
    write_dataset(ds, out_reaction, f"reaction force, step {step}")
