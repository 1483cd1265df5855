"""Reaction forces on the constrained boundaries and equilibrium error, from the internal force.

The internal force is linear in the qp stresses for a fixed mesh, so initial_state writes it
once per run as numbers (``internal_force.nc``, :func:`operator_dataset`) and each step's
reaction is computed with numpy inside aggregate_stress: no dolfinx job per step.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from scema.fe.boundary import applied_displacement, constrained_components, prescribed_increments
from scema.io.datasets import internal_force_dataset, reaction_dataset
from scema.io.netcdf import read_dataset, write_dataset
from scema.voigt import stress_voigt_to_tensor


def operator_dataset(model, boundary_conditions: list[dict]) -> xr.Dataset:
    """The FE model's internal-force operator and the nodes of every boundary with a condition
    (collective under MPI: call on every rank)."""
    shape_gradient, cell_nodes = model.internal_force_operator()
    names = sorted({name for name, _comp in prescribed_increments(boundary_conditions)})
    return internal_force_dataset(shape_gradient, cell_nodes, {name: model.face_nodes(name) for name in names})


def internal_force(operator: xr.Dataset, stress: np.ndarray) -> np.ndarray:
    """Nodal internal force (n_nodes, 3), N, of the qp stresses (n_qp, 6, plain Voigt)."""
    g = operator["shape_gradient"].values
    cell_nodes = operator["cell_nodes"].values
    nodes = cell_nodes[np.arange(len(g)) // (len(g) // len(cell_nodes))]  # qp id = cell * points + point
    force = np.einsum("qij,qkj->qki", stress_voigt_to_tensor(stress), g)
    n_nodes = operator.sizes["node"]
    return np.column_stack(
        [np.bincount(nodes.ravel(), weights=force[..., i].ravel(), minlength=n_nodes) for i in range(3)]
    )


def run(step: int, operator: str, boundary_conditions: list[dict], stress: str, out_reaction: str) -> None:
    """Reaction on every boundary with a condition, of the stresses in ``stress``;
    ``operator``: internal_force.nc."""
    ops = read_dataset(operator)
    f_int = internal_force(ops, read_dataset(stress)["stress"].values)
    on = ops["boundary_nodes"].values.astype(bool)
    names = [str(name) for name in ops["boundary"].values]
    bcs = boundary_conditions
    constrained = np.zeros(f_int.shape, dtype=bool)
    for name, comp in prescribed_increments(bcs):
        constrained[on[names.index(name)], comp] = True
    # a reaction exists only where the displacement is prescribed; a free component's nodal sum
    # is an out-of-balance force, already counted in residual_norm
    reaction = np.full((len(names), 3), np.nan)
    for k, name in enumerate(names):
        components = constrained_components(bcs, name)
        reaction[k, components] = f_int[on[k]].sum(axis=0)[components]
    free_residual = np.where(constrained, 0.0, f_int)
    applied = np.array([applied_displacement(bcs, name, step) for name in names])
    ds = reaction_dataset(step, names, reaction, applied, np.linalg.norm(free_residual))
    write_dataset(ds, out_reaction, f"reaction force, step {step}")
