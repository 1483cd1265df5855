"""Reaction forces on the constrained boundaries and equilibrium error, from the internal force.

The internal force is linear in the qp stresses for a fixed mesh, so initial_state writes it
once per run as numbers (``internal_force.nc``, :func:`operator_dataset`) and each step's
reaction is computed with numpy inside aggregate_stress: no dolfinx job per step.

Which reaction (the extraction idea of Babuska & Miller): the nodal internal force summed over
the boundary's nodes reads only the qps of the cells touching the boundary. Weighting every
node's internal force with a lifting W, a displacement field equal to e_i on boundary k and 0
on every other prescribed component, gives the same force in equilibrium but reads every qp
through eps(W). The lifting used is the FE's own linear-elastic solution for that unit
displacement, so R = sum_n W_n . f_int,n is also the face reaction after one elastic solve of the
out-of-balance force (what the next step's FE solve does), and its weights take in the lateral
stresses as a free bar's contraction does, which cancels most of the MD's pressure noise.
Out of equilibrium (the staggered scheme's MD stress of a step is not balanced) the two differ
by the W-weighted out-of-balance force, written beside the reaction. The quasistatic integrator
reports the lifted reaction; the explicit one the face sum, because there the force off the
boundary is inertia, not an error to average away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scema.fe.boundary import applied_displacement, constrained_components, prescribed_increments
from scema.io.netcdf import Contents, read_contents, write_dataset
from scema.io.step_datasets import reaction_dataset

if TYPE_CHECKING:
    import xarray as xr
from scema.voigt import stress_voigt_to_tensor

ESTIMATOR = {"quasistatic": "lifted", "explicit_dynamic": "face"}  # fe.integrator -> reaction_force


def operator_dataset(model, boundary_conditions: list[dict], integrator: str) -> xr.Dataset:
    """The FE model's internal-force operator, the nodes of every boundary with a condition,
    the estimator of ``integrator`` (fe.integrator) and, for the lifted one, the lifting of each
    prescribed (boundary, component) (collective under MPI: call on every rank). The liftings
    solve with fe_step's quasistatic constraints, so they exist whenever that solve does; the
    explicit integrator's constraints may leave rigid modes free, and it reads no lifting."""
    from scema.io.datasets import internal_force_dataset  # initial_state only: xarray is paid there

    shape_gradient, cell_nodes = model.internal_force_operator()
    prescribed = prescribed_increments(boundary_conditions)
    names = sorted({name for name, _comp in prescribed})
    nodes = {name: model.face_nodes(name) for name in names}
    n_nodes = len(next(iter(nodes.values())))
    estimator = ESTIMATOR[integrator]
    if estimator == "face":
        return internal_force_dataset(shape_gradient, cell_nodes, nodes, None, estimator)
    lifting = {name: np.zeros((3, n_nodes, 3)) for name in names}
    zeros = np.zeros((n_nodes, 3))
    for name, comp in prescribed:
        unit = {key: 0.0 for key in prescribed if key != (name, comp)}
        unit[(name, comp)] = 1.0  # last: wins on nodes shared with another boundary
        lifting[name][comp] = model.solve_increment(zeros, unit)
    return internal_force_dataset(shape_gradient, cell_nodes, nodes, lifting, estimator)


def internal_force(operator: xr.Dataset | Contents, stress: np.ndarray) -> np.ndarray:
    """Nodal internal force (n_nodes, 3), N, of the qp stresses (n_qp, 6, plain Voigt)."""
    g = np.asarray(operator["shape_gradient"])
    cell_nodes = np.asarray(operator["cell_nodes"])
    nodes = cell_nodes[np.arange(len(g)) // (len(g) // len(cell_nodes))]  # qp id = cell * points + point
    force = np.einsum("qij,qkj->qki", stress_voigt_to_tensor(stress), g)
    n_nodes = operator.sizes["node"]
    return np.column_stack(
        [np.bincount(nodes.ravel(), weights=force[..., i].ravel(), minlength=n_nodes) for i in range(3)]
    )


def lifting(operator: xr.Dataset | Contents, path: str) -> np.ndarray:
    """(boundary, xyz, node, direction) liftings; a clear error for an operator written without them."""
    if "lifting_displacement" not in operator:
        raise ValueError(
            f"{path} has no lifting_displacement (written by older code): re-run initial_state "
            "(snakemake --forcerun initial_state) to compute the reaction"
        )
    return np.asarray(operator["lifting_displacement"])


def boundary_reactions(
    operator: xr.Dataset | Contents, f_int: np.ndarray, lift: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(face sum, lifted) force on every boundary of ``operator``, (boundary, xyz) N, every
    component (the caller keeps the prescribed ones); lifted is NaN without ``lift``."""
    on = np.asarray(operator["boundary_nodes"]).astype(bool)
    face = np.stack([f_int[nodes].sum(axis=0) for nodes in on])
    if lift is None:
        return face, np.full(face.shape, np.nan)
    return face, np.einsum("kinj,nj->ki", lift, f_int)


def run(step: int, operator: str, boundary_conditions: list[dict], stress: str, out_reaction: str) -> None:
    """Reaction on every boundary with a condition, of the stresses in ``stress``;
    ``operator``: internal_force.nc (its ``reaction_estimator`` says which, see above). Runs in
    every step's aggregate_stress: reads as numpy (``Contents``, no xarray; scema.io.netcdf)."""
    ops = read_contents(operator)
    estimator = ops.attrs.get("reaction_estimator", "lifted")  # older operators: their error below
    lift = lifting(ops, operator) if estimator == "lifted" else None
    f_int = internal_force(ops, read_contents(stress)["stress"])
    on = ops["boundary_nodes"].astype(bool)
    names = [str(name) for name in ops["boundary"]]
    bcs = boundary_conditions
    constrained = np.zeros(f_int.shape, dtype=bool)
    for name, comp in prescribed_increments(bcs):
        constrained[on[names.index(name)], comp] = True
    # a reaction exists only where the displacement is prescribed; a free component's nodal sum
    # is an out-of-balance force, already counted in residual_norm
    face_all, lifted_all = boundary_reactions(ops, f_int, lift)
    face, lifted = np.full((len(names), 3), np.nan), np.full((len(names), 3), np.nan)
    for k, name in enumerate(names):
        components = constrained_components(bcs, name)
        face[k, components] = face_all[k, components]
        lifted[k, components] = lifted_all[k, components]
    free_residual = np.where(constrained, 0.0, f_int)
    applied = np.array([applied_displacement(bcs, name, step) for name in names])
    reaction = lifted if estimator == "lifted" else face
    ds = reaction_dataset(step, names, reaction, lifted - face, applied, np.linalg.norm(free_residual), estimator)
    write_dataset(ds, out_reaction, f"reaction force, step {step}")
