"""Builders of the project's NetCDF datasets: one function per file kind, names as in the README."""

from __future__ import annotations

import numpy as np
import xarray as xr

from scema.io.netcdf import component_coord, index_coord
from scema.voigt import SHEAR_CONVENTION

SOURCE_FLAGS = {"md": 0, "cluster": 1, "committee": 2}
XYZ = {"xyz": ("xyz", np.array(["x", "y", "z"]), {"long_name": "Cartesian axis", "units": "1"})}


def _qp_coords(n_qp: int) -> dict:
    return {
        **index_coord("qp", n_qp, "quadrature point id (input cell index * points per cell + point)"),
        **component_coord(),
    }


def source_variable(source: np.ndarray) -> xr.Variable:
    """CF flag variable telling where each qp's stress came from."""
    return xr.Variable(
        "qp",
        np.asarray(source, dtype=np.int8),
        {
            "long_name": "provenance of the qp stress",
            "units": "1",
            "flag_values": np.array(list(SOURCE_FLAGS.values()), dtype=np.int8),
            "flag_meanings": " ".join(SOURCE_FLAGS),
        },
    )


def material_variable(material: np.ndarray, names: list[str], dim: str = "qp") -> xr.Variable:
    return xr.Variable(
        dim,
        np.asarray(material, dtype=np.int32),
        {
            "long_name": "material index",
            "units": "1",
            "flag_values": np.arange(len(names), dtype=np.int32),
            "flag_meanings": " ".join(names),
        },
    )


def strain_dataset(step, strain, increment, coordinates, cell, material, material_names) -> xr.Dataset:
    n_qp = strain.shape[0]
    comp = "engineering shear (gamma = 2 eps) for yz xz xy"
    return xr.Dataset(
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
) -> xr.Dataset:
    n_qp = stress.shape[0]
    committee_std = np.full_like(stress, np.nan) if committee_std is None else committee_std
    committee_mean = np.full_like(stress, np.nan) if committee_mean is None else committee_mean
    audited = np.zeros(n_qp, dtype=np.int8) if audited is None else np.asarray(audited, dtype=np.int8)
    return xr.Dataset(
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


def md_state_dataset(step, state_file, state_strain, state_stress=None) -> xr.Dataset:
    """Where each (qp, replica) box was last written, and at which total strain and MD stress.

    The (strain, stress) pair is where the box's own MD path stands: the committee's inputs
    start from it, never from a stress the qp was merely assigned. Reference boxes (step 0)
    are at zero strain and zero stress (stresses are relative to the reference stress).
    """
    n_qp, n_rep = state_file.shape
    if state_stress is None:
        state_stress = np.zeros((n_qp, n_rep, 6))
    return xr.Dataset(
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


def fe_state_dataset(step, time, displacement, velocity, node_coordinates) -> xr.Dataset:
    n = displacement.shape[0]
    return xr.Dataset(
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


def reaction_dataset(step, face, reaction, applied_displacement, residual_norm, constrained_labels) -> xr.Dataset:
    """``reaction.nc``: reaction force on boundary ``face`` (NaN where free) and the free-dof residual."""
    return xr.Dataset(
        {
            "reaction_force": (
                "xyz",
                reaction,
                {
                    "long_name": f"reaction force on boundary {face} (sum of nodal internal forces)",
                    "units": "N",
                    "comment": "only the components prescribed on the boundary are reactions; NaN where free",
                    "constrained_components": constrained_labels,
                },
            ),
            "applied_displacement": (
                "xyz",
                applied_displacement,
                {"long_name": f"prescribed displacement of boundary {face} (NaN where free)", "units": "m"},
            ),
            "residual_norm": (
                (),
                float(residual_norm),
                {"long_name": "norm of the out-of-balance force on free dofs (carried to the next step)", "units": "N"},
            ),
        },
        coords=XYZ,
        attrs={"step": int(step), "face": face, "constrained_components": constrained_labels},
    )


def schedule_dataset(step, schedule, material_names) -> xr.Dataset:
    """``md_schedule.nc``: one row per (qp, replica) MD update of a ``scema.schedule.Schedule``."""
    unit = {"units": "1"}
    return xr.Dataset(
        {
            "qp_id": ("update", schedule.qp, {"long_name": "quadrature point of the update", **unit}),
            "replica_id": ("update", schedule.replica, {"long_name": "replica of the update", **unit}),
            "batch": ("update", schedule.batch, {"long_name": "MD batch (job) running the update", **unit}),
            "material": material_variable(schedule.material, material_names, dim="update"),
            "state_in": ("update", schedule.state_in, {"long_name": "LAMMPS state the update starts from", **unit}),
            "state_out": ("update", schedule.state_out, {"long_name": "LAMMPS state the update writes", **unit}),
            "strain_increment": (
                ("update", "component"),
                schedule.strain_increment,
                {"long_name": "strain applied by the update (accumulated since state_in)", **unit},
            ),
            "target_strain": (
                ("update", "component"),
                schedule.target_strain,
                {"long_name": "total strain after the update", **unit},
            ),
            "seed": ("update", schedule.seed, {"long_name": "thermostat random seed of the update", **unit}),
        },
        coords={**index_coord("update", schedule.qp.size, "scheduled MD update"), **component_coord()},
        attrs={"step": int(step), "n_batches": int(schedule.n_batches)},
    )


def summary_dataset(
    steps, stages, applied_displacement, reaction_force, residual_norm, md_updates, wall_time, committee=None
) -> xr.Dataset:
    """``summary.nc``: per step the load-displacement curve, MD work and stage wall times.

    ``committee`` (when the committee is on): ``statistics`` names and per step ``trusted``,
    ``audited``, ``suspended`` counts and ``audit_error``, ``audit_net_error`` (step, statistic).
    """
    one = {"units": "1"}
    committee_vars, committee_coords = {}, {}
    if committee:
        committee_vars = {
            "committee_answers": (
                "step",
                committee["trusted"],
                {"long_name": "qps (representatives) the committee was trusted for, audits included", **one},
            ),
            "audited": ("step", committee["audited"], {"long_name": "trusted qps also run by MD (audits)", **one}),
            "suspended_materials": (
                "step",
                committee["suspended"],
                {"long_name": "materials whose committee is suspended after the step", **one},
            ),
            "audit_error": (
                ("step", "statistic"),
                committee["audit_error"],
                {"long_name": "max-component |committee - MD| over audited qps", "units": "Pa"},
            ),
            "audit_net_error": (
                ("step", "statistic"),
                committee["audit_net_error"],
                {"long_name": "max-component |committee - MD| net of the MD noise over audited qps", "units": "Pa"},
            ),
        }
        committee_coords = {
            "statistic": (
                "statistic",
                np.array(committee["statistics"]),
                {"long_name": "statistic over audited qps", **one},
            )
        }
    return xr.Dataset(
        {
            "applied_displacement": (
                ("step", "xyz"),
                applied_displacement,
                {"long_name": "prescribed displacement of the reaction face", "units": "m"},
            ),
            "reaction_force": (
                ("step", "xyz"),
                reaction_force,
                {"long_name": "reaction force on the reaction face", "units": "N"},
            ),
            "residual_norm": ("step", residual_norm, {"long_name": "out-of-balance force on free dofs", "units": "N"}),
            "md_updates": ("step", md_updates, {"long_name": "number of (qp, replica) MD updates run", "units": "1"}),
            "wall_time": (
                ("step", "stage"),
                wall_time,
                {"long_name": "wall time of each stage (sum over its jobs)", "units": "s"},
            ),
            **committee_vars,
        },
        coords={
            "step": ("step", steps, {"long_name": "macroscale step", "units": "1"}),
            "stage": ("stage", np.array(stages), {"long_name": "workflow stage", "units": "1"}),
            **XYZ,
            **committee_coords,
        },
    )


def clusters_dataset(step, clusters, settings) -> xr.Dataset:
    """``clusters.nc``: each qp's representative, its distance to it and its cluster's size."""
    unit = {"units": "1"}
    return xr.Dataset(
        {
            "representative": ("qp", clusters.representative, {"long_name": "qp whose MD run serves this qp", **unit}),
            "distance_to_representative": (
                "qp",
                clusters.distance_to_representative,
                {"long_name": f"{settings['metric']} distance between spline signatures", **unit},
            ),
            "cluster_size": ("qp", clusters.cluster_size, {"long_name": "number of qps in this qp's cluster", **unit}),
        },
        coords=index_coord("qp", clusters.representative.shape[0], "quadrature point id"),
        attrs={
            "step": int(step),
            "alpha": float(settings["alpha"]),
            "metric": settings["metric"],
            "n_points": int(settings["n_points"]),
            "n_representatives": int(np.unique(clusters.representative).size),
        },
    )
