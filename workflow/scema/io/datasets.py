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
