"""The files a macroscale step's jobs write (strain, FE state, MD schedule, stress, MD state,
reaction), built as :class:`scema.io.netcdf.Contents`: those jobs run between MD batches and do
not import xarray (see scema.io.netcdf). ``.to_xarray()`` gives the ``xr.Dataset``; the file is
the same either way. Every other file kind is built in scema.io.datasets, which re-exports these."""

from __future__ import annotations

import numpy as np

from scema.io.netcdf import Contents, component_coord, index_coord
from scema.voigt import SHEAR_CONVENTION

SOURCE_FLAGS = {"md": 0, "cluster": 1, "committee": 2}
DECISIONS = {"md": 0, "committee": 1, "audit": 2}  # committee_query.nc ``decision`` flags
STATISTICS = ("median", "p90", "max")  # statistics of the audit errors over audited qps
UNIT = {"units": "1"}
REACTION_ESTIMATORS = {
    "lifted": "reaction force: internal force weighted by the boundary's elastic lifting (whole specimen)",
    "face": "reaction force: sum of the nodal internal forces of the boundary's nodes",
}
XYZ = {"xyz": ("xyz", np.array(["x", "y", "z"]), {"long_name": "Cartesian axis", "units": "1"})}


def _qp_coords(n_qp: int) -> dict:
    return {
        **index_coord("qp", n_qp, "quadrature point id (input cell index * points per cell + point)"),
        **component_coord(),
    }


def source_variable(source: np.ndarray) -> tuple:
    """CF flag variable telling where each qp's stress came from."""
    return (
        "qp",
        np.asarray(source, dtype=np.int8),
        {
            "long_name": "provenance of the qp stress",
            "units": "1",
            "flag_values": np.array(list(SOURCE_FLAGS.values()), dtype=np.int8),
            "flag_meanings": " ".join(SOURCE_FLAGS),
        },
    )


def material_variable(material: np.ndarray, names: list[str], dim: str = "qp") -> tuple:
    return (
        dim,
        np.asarray(material, dtype=np.int32),
        {
            "long_name": "material index",
            "units": "1",
            "flag_values": np.arange(len(names), dtype=np.int32),
            "flag_meanings": " ".join(names),
        },
    )


def strain_dataset(step, strain, increment, coordinates, cell, material, material_names) -> Contents:
    n_qp = strain.shape[0]
    comp = "engineering shear (gamma = 2 eps) for yz xz xy"
    return Contents(
        {
            "strain": (("qp", "component"), strain, {"long_name": "total small strain", "units": "1", "shear": comp}),
            "strain_increment": (
                ("qp", "component"),
                increment,
                {"long_name": "strain increment of this step", "units": "1", "shear": comp},
            ),
            "qp_coordinates": (("qp", "xyz"), coordinates, {"long_name": "quadrature point position", "units": "m"}),
            "cell": ("qp", np.asarray(cell, dtype=np.int64), {"long_name": "input cell index", "units": "1"}),
            "material": material_variable(material, material_names),
        },
        coords={**_qp_coords(n_qp), **XYZ},
        attrs={"step": int(step), "shear_convention": SHEAR_CONVENTION},
    )


def stress_dataset(
    step, stress, replica_std, source, strain, committee_std=None, committee_mean=None, audited=None
) -> Contents:
    n_qp = stress.shape[0]
    committee_std = np.full_like(stress, np.nan) if committee_std is None else committee_std
    committee_mean = np.full_like(stress, np.nan) if committee_mean is None else committee_mean
    audited = np.zeros(n_qp, dtype=np.int8) if audited is None else np.asarray(audited, dtype=np.int8)
    return Contents(
        {
            "stress_committee_std": (
                ("qp", "component"),
                committee_std,
                {"long_name": "committee spread where the committee was asked (NaN elsewhere)", "units": "Pa"},
            ),
            "stress_committee": (
                ("qp", "component"),
                committee_mean,
                {
                    "long_name": "committee mean where the committee was asked (NaN elsewhere); audited qps keep it beside their MD stress",
                    "units": "Pa",
                },
            ),
            "stress": (("qp", "component"), stress, {"long_name": "Cauchy stress (replica mean)", "units": "Pa"}),
            "stress_replica_std": (
                ("qp", "component"),
                replica_std,
                {"long_name": "standard deviation of the stress over MD replicas (NaN where no MD ran)", "units": "Pa"},
            ),
            "source": source_variable(source),
            "audited": (
                "qp",
                audited,
                {
                    "long_name": "1 where the committee was trusted but MD also ran to check it (the MD stress is used)",
                    "units": "1",
                },
            ),
            "strain": (
                ("qp", "component"),
                strain,
                {"long_name": "total small strain the stress belongs to", "units": "1"},
            ),
        },
        coords=_qp_coords(n_qp),
        attrs={"step": int(step)},
    )


def md_state_dataset(step, state_file, state_strain, state_stress=None) -> Contents:
    """Where each (qp, replica) box was last written, and at which total strain and MD stress.

    The (strain, stress) pair is where the box's own MD path stands: the committee's inputs
    start from it, never from a stress the qp was merely assigned. Reference boxes (step 0)
    are at zero strain and zero stress (stresses are relative to the reference stress).
    """
    n_qp, n_rep = state_file.shape
    if state_stress is None:
        state_stress = np.zeros((n_qp, n_rep, 6))
    return Contents(
        {
            "state_file": (
                ("qp", "replica"),
                np.asarray(state_file, dtype=object),
                {
                    "long_name": "LAMMPS data file of the last MD state (path relative to the run directory)",
                    "units": "1",
                },
            ),
            "state_strain": (
                ("qp", "replica", "component"),
                state_strain,
                {"long_name": "total strain at which the state file was written", "units": "1"},
            ),
            "state_stress": (
                ("qp", "replica", "component"),
                state_stress,
                {
                    "long_name": "MD stress (minus the reference stress) of the box when the state file was written",
                    "units": "Pa",
                },
            ),
        },
        coords={**_qp_coords(n_qp), **index_coord("replica", n_rep, "MD replica")},
        attrs={"step": int(step)},
    )


def fe_state_dataset(step, time, displacement, velocity, node_coordinates) -> Contents:
    n = displacement.shape[0]
    return Contents(
        {
            "displacement": (("node", "xyz"), displacement, {"long_name": "total displacement", "units": "m"}),
            "velocity": (
                ("node", "xyz"),
                velocity,
                {"long_name": "nodal velocity (explicit_dynamic)", "units": "m s-1"},
            ),
            "node_coordinates": (("node", "xyz"), node_coordinates, {"long_name": "node position", "units": "m"}),
        },
        coords={**index_coord("node", n, "input mesh node index"), **XYZ},
        attrs={"step": int(step), "time": float(time), "time_units": "s"},
    )


def reaction_dataset(
    step, boundaries, reaction, out_of_balance, applied_displacement, residual_norm, estimator: str
) -> Contents:
    """``reaction.nc``: reaction force on every boundary with a prescribed displacement (NaN where
    a component is free), the out-of-balance force it contains and the free-dof residual.

    ``estimator``: "lifted" (sum_n W_n . f_int,n with the boundary's elastic lifting W: reads the
    stress of the whole specimen) or "face" (the nodal internal force summed over the boundary's
    nodes: reads only the cells touching it). ``out_of_balance``: lifted minus face, the
    W-weighted internal force of the nodes off the boundary (zero in equilibrium).
    Every constrained boundary, not only ``specimen.reaction_face``: the summary picks the face,
    so changing it reruns the summary, never the stresses or the MD.
    """
    constrained = "; ".join(
        f"{name}: {' '.join('xyz'[c] for c in np.flatnonzero(~np.isnan(row)))}"
        for name, row in zip(boundaries, applied_displacement)
    )
    return Contents(
        {
            "reaction_force": (
                ("boundary", "xyz"),
                reaction,
                {
                    "long_name": REACTION_ESTIMATORS[estimator],
                    "units": "N",
                    "estimator": estimator,
                    "comment": "only the components prescribed on a boundary are reactions; NaN where free",
                    "constrained_components": constrained,
                },
            ),
            "out_of_balance_force": (
                ("boundary", "xyz"),
                out_of_balance,
                {
                    "long_name": "lifted minus face reaction: lifting-weighted internal force off the boundary",
                    "units": "N",
                    "comment": "zero in equilibrium; the staggered scheme's equilibrium error seen by the reaction; "
                    "NaN with the face estimator (explicit_dynamic: the force off the boundary is inertia)",
                },
            ),
            "applied_displacement": (
                ("boundary", "xyz"),
                applied_displacement,
                {"long_name": "prescribed displacement of the boundary (NaN where free)", "units": "m"},
            ),
            "residual_norm": (
                (),
                float(residual_norm),
                {"long_name": "norm of the out-of-balance force on free dofs (carried to the next step)", "units": "N"},
            ),
        },
        coords={
            "boundary": ("boundary", np.array(list(boundaries)), {"long_name": "boundary name", "units": "1"}),
            **XYZ,
        },
        attrs={"step": int(step), "constrained_components": constrained, "reaction_estimator": estimator},
    )


def schedule_dataset(step, schedule, material_names) -> Contents:
    """``md_schedule.nc``: one row per (qp, replica) MD update of a ``scema.schedule.Schedule``."""
    return Contents(
        {
            "qp_id": ("update", schedule.qp, {"long_name": "quadrature point of the update", **UNIT}),
            "replica_id": ("update", schedule.replica, {"long_name": "replica of the update", **UNIT}),
            "batch": ("update", schedule.batch, {"long_name": "MD batch (job) running the update", **UNIT}),
            "material": material_variable(schedule.material, material_names, dim="update"),
            "state_in": ("update", schedule.state_in, {"long_name": "LAMMPS state the update starts from", **UNIT}),
            "state_out": ("update", schedule.state_out, {"long_name": "LAMMPS state the update writes", **UNIT}),
            "strain_increment": (
                ("update", "component"),
                schedule.strain_increment,
                {"long_name": "strain applied by the update (accumulated since state_in)", **UNIT},
            ),
            "target_strain": (
                ("update", "component"),
                schedule.target_strain,
                {"long_name": "total strain after the update", **UNIT},
            ),
            "seed": ("update", schedule.seed, {"long_name": "thermostat random seed of the update", **UNIT}),
        },
        coords={**index_coord("update", schedule.qp.size, "scheduled MD update"), **component_coord()},
        attrs={"step": int(step), "n_batches": int(schedule.n_batches)},
    )
