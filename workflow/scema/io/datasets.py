"""Builders of the project's NetCDF datasets: one function per file kind, names as in the README."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from scema.io.netcdf import component_coord, index_coord
from scema.io.step_datasets import (  # noqa: F401  (re-exported: every builder is importable from here)
    DECISIONS,
    REACTION_ESTIMATORS,
    SOURCE_FLAGS,
    STATISTICS,
    UNIT,
    XYZ,
    fe_state_dataset,
    md_state_dataset,
    reaction_dataset,
    schedule_dataset,
    strain_dataset,
    stress_dataset,
)
from scema.voigt import COMPONENTS

if TYPE_CHECKING:
    from scema.committee.acceptance import HeldOutErrors
    from scema.committee.settings import CommitteeSettings

DIRECTION = {"long_name": "displacement direction", "units": "1"}


def internal_force_dataset(
    shape_gradient, cell_nodes, boundary_nodes: dict[str, np.ndarray], lifting: dict[str, np.ndarray], estimator
) -> xr.Dataset:
    """``internal_force.nc``: the internal force as a linear map of the qp stresses (see
    ``FEModel.internal_force_operator``), the nodes of each boundary with a condition and its
    liftings (``lifting[boundary][i]``: nodal displacement (node, 3) of the FE's elastic solution
    for a unit displacement i of the boundary; None for the face estimator), from which the
    reaction is read; ``estimator`` names the reaction aggregate_stress reports (see
    ``reaction_dataset``)."""
    n_qp, per_cell, _ = shape_gradient.shape
    names = sorted(boundary_nodes)
    liftings = {}
    if lifting is not None:
        liftings = {
            "lifting_displacement": (
                ("boundary", "xyz", "node", "direction"),
                np.array([lifting[b] for b in names], dtype=float).reshape(len(names), 3, -1, 3),
                {
                    "long_name": "FE elastic displacement for a unit displacement of the boundary along xyz, "
                    "every other prescribed component held at 0",
                    "units": "1",
                    "comment": "lifted reaction R[b, i] = sum over nodes n and directions j of "
                    "lifting_displacement[b, i, n, j] f_int[n, j]; 0 for a component the boundary leaves free",
                },
            ),
        }
    flags = {"units": "1", "flag_values": np.array([0, 1], dtype=np.int8), "flag_meanings": "off on"}
    return xr.Dataset(
        {
            "shape_gradient": (
                ("qp", "cell_node", "xyz"),
                shape_gradient,
                {
                    "long_name": "Gauss weight x |det J| x gradient of the cell node's shape function at the qp",
                    "units": "m2",
                    "comment": "f_int[node, i] = sum over qps q and their cell's nodes k of sigma_ij(q) g[q, k, j]",
                },
            ),
            "cell_nodes": (
                ("cell", "cell_node"),
                np.asarray(cell_nodes, dtype=np.int64),
                {"long_name": "input node id of each node of the cell, in the element's order", "units": "1"},
            ),
            "boundary_nodes": (
                ("boundary", "node"),
                np.array([boundary_nodes[b] for b in names], dtype=np.int8).reshape(len(names), -1),
                {"long_name": "node lies on the boundary", **flags},
            ),
            **liftings,
        },
        coords={
            **index_coord("qp", n_qp, "quadrature point id (input cell index * points per cell + point)"),
            **index_coord("cell", len(cell_nodes), "input cell index"),
            **index_coord("cell_node", per_cell, "node of a cell, in the element's order"),
            **index_coord("node", len(next(iter(boundary_nodes.values()))), "input mesh node index"),
            "boundary": ("boundary", np.array(names), {"long_name": "boundary name", "units": "1"}),
            **XYZ,
            **({"direction": ("direction", np.array(["x", "y", "z"]), DIRECTION)} if liftings else {}),
        },
        attrs={"reaction_estimator": estimator},
    )


def audit_error_variables(dim: str, error, net_error) -> dict:
    """Audit errors per ``dim`` and statistic (summary.nc per step, committee.nc per material)."""
    return {
        "audit_error": (
            (dim, "statistic"),
            error,
            {"long_name": "max-component |committee - MD| over audited qps", "units": "Pa"},
        ),
        "audit_net_error": (
            (dim, "statistic"),
            net_error,
            {
                "long_name": "max-component |committee - MD| net of the pooled MD noise over audited qps",
                "units": "Pa",
            },
        ),
    }


def audit_pass_fraction_variables(dim: str | tuple, estimate, lower, prefix: str = "", whose: str = "") -> dict:
    """The goal's share of audited qps within the accuracy, estimated net of the MD noise over
    the audits of the run so far (``scema.committee.pass_fraction``), and its lower bound;
    ``prefix`` and ``whose`` name and describe another set of audits (committee.nc's run-wide pair)."""
    what = (
        "share of audited qps whose committee error (committee - MD expectation, deconvolved from "
        f"the MD noise) is within the accuracy in every component, audits of the run so far{whose}"
    )
    return {
        f"{prefix}audit_pass_fraction_estimated": (dim, estimate, {"long_name": f"estimated {what}", "units": "1"}),
        f"{prefix}audit_pass_fraction_lower": (
            dim,
            lower,
            {"long_name": f"lower 95 % bound (parametric bootstrap) of the {what}", "units": "1"},
        ),
    }


def statistic_coord(names) -> dict:
    """The ``statistic`` coordinate of the audit errors (names as in ``STATISTICS``)."""
    return {"statistic": ("statistic", np.array(names), {"long_name": "statistic over audited qps", "units": "1"})}


def summary_dataset(
    steps, stages, face, applied_displacement, reaction_force, residual_norm, md_updates, wall_time, committee=None
) -> xr.Dataset:
    """``summary.nc``: per step the load-displacement curve, MD work and stage wall times.

    ``reaction_force``: (reaction, out-of-balance force, estimator name) as in ``reaction.nc``.

    ``committee`` (when the committee is on): ``statistics`` names and per step ``trusted``,
    ``audited``, ``suspended`` counts and ``audit_error``, ``audit_net_error`` (step, statistic),
    ``pass_fraction`` and ``pass_fraction_lower`` (step; over the audits of steps 1..step).
    """
    one = {"units": "1"}
    reaction_force, out_of_balance, estimator = reaction_force
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
            **audit_error_variables("step", committee["audit_error"], committee["audit_net_error"]),
            **audit_pass_fraction_variables("step", committee["pass_fraction"], committee["pass_fraction_lower"]),
        }
        committee_coords = statistic_coord(committee["statistics"])
    return xr.Dataset(
        {
            "applied_displacement": (
                ("step", "xyz"),
                applied_displacement,
                {"long_name": "prescribed displacement of the reaction face", "units": "m", "boundary": face},
            ),
            "reaction_force": (
                ("step", "xyz"),
                reaction_force,
                {
                    "long_name": "reaction force on the reaction face",
                    "units": "N",
                    "boundary": face,
                    "estimator": estimator,
                    "comment": REACTION_ESTIMATORS[estimator],
                },
            ),
            "out_of_balance_force": (
                ("step", "xyz"),
                out_of_balance,
                {
                    "long_name": "lifted minus face reaction on the reaction face (zero in equilibrium)",
                    "units": "N",
                    "boundary": face,
                },
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


def clusters_dataset(step, clusters, settings, sampled=None, stiffness=None) -> xr.Dataset:
    """``clusters.nc``: each qp's representative, its distance to it, its cluster's size and
    whether it runs MD for its cluster (``sampled``; the representatives when None); with
    ``stiffness`` (material, 6, 6) the C that transports the estimate to the other members."""
    unit = {"units": "1"}
    if sampled is None:
        sampled = clusters.representative == np.arange(clusters.representative.shape[0])
    allowance = settings.get("noise_allowance")
    extra, coords = {}, {}
    if stiffness is not None:
        extra["transport_stiffness"] = (
            ("material", "i", "j"),
            np.asarray(stiffness, dtype=float),
            {
                "long_name": "stiffness C_ij that carries the cluster estimate to each member's strain "
                "(sigma = mean sampled sigma + C (eps - mean sampled eps); NaN: material not used)",
                "units": "Pa",
            },
        )
        coords = {
            **index_coord("material", stiffness.shape[0], "material index"),
            **index_coord("i", 6, "Voigt row (xx yy zz yz xz xy)"),
            **index_coord("j", 6, "Voigt column (engineering shear)"),
        }
    return xr.Dataset(
        {
            "representative": ("qp", clusters.representative, {"long_name": "qp whose MD run serves this qp", **unit}),
            "sampled": (
                "qp",
                np.asarray(sampled, dtype=np.int8),
                {"long_name": "1 where this qp runs MD for its cluster (the representative first)", **unit},
            ),
            "distance_to_representative": (
                "qp",
                clusters.distance_to_representative,
                {"long_name": f"{settings['metric']} distance between spline signatures", **unit},
            ),
            "cluster_size": ("qp", clusters.cluster_size, {"long_name": "number of qps in this qp's cluster", **unit}),
            **extra,
        },
        coords={**index_coord("qp", clusters.representative.shape[0], "quadrature point id"), **coords},
        attrs={
            "step": int(step),
            "alpha": float(settings["alpha"]),
            "metric": settings["metric"],
            "n_points": int(settings["n_points"]),
            "n_representatives": int(np.unique(clusters.representative).size),
            "n_sampled": int(np.count_nonzero(sampled)),
            # beta; "none": one representative per cluster (NetCDF has no null attribute)
            "noise_allowance": "none" if allowance is None else float(allowance),
        },
    )


def strain_history_dataset(history: np.ndarray, strain: xr.Dataset) -> xr.Dataset:
    """``strain_history.nc``: the total qp strain at steps 0..t (step, qp, component).

    ``strain`` is step t's ``strain.nc`` as read: its qp, component and material variables
    (metadata included) are carried over unchanged.
    """
    attrs = {k: v for k, v in strain["strain"].attrs.items() if k == "shear"}
    return xr.Dataset(
        {
            "strain_history": (
                ("step", "qp", "component"),
                history,
                {"long_name": "total qp strain at steps 0..t", "units": "1", **attrs},
            ),
            "material": strain["material"].variable,
        },
        coords={
            **index_coord("step", history.shape[0], "macroscale step"),
            "qp": strain["qp"].variable,
            "component": strain["component"].variable,
        },
    )


def md_batch_dataset(rows: xr.Dataset, records, step: int, batch: int, processes: int) -> xr.Dataset:
    """``md/batch_{b}.nc``: the MD result of each update of one batch, in schedule order.

    ``rows``: the batch's rows of ``md_schedule.nc``; ``records``: one ``scema.md.journal.Record``
    (stress, attempt, seconds) per row.
    """
    n = len(records)
    unit = {"units": "1"}
    return xr.Dataset(
        {
            "qp_id": ("update", rows["qp_id"].values.astype(np.int64), {"long_name": "quadrature point", **unit}),
            "replica_id": ("update", rows["replica_id"].values.astype(np.int64), {"long_name": "replica", **unit}),
            "stress": (
                ("update", "component"),
                np.array([r.stress for r in records]).reshape(n, 6),
                {"long_name": "MD stress minus reference stress", "units": "Pa"},
            ),
            "state_file": ("update", rows["state_out"].values.astype(object), {"long_name": "state written", **unit}),
            "target_strain": (
                ("update", "component"),
                rows["target_strain"].values,
                {"long_name": "total strain of the state", **unit},
            ),
            "retries": (
                "update",
                np.array([r.attempt for r in records], dtype=np.int64),
                {"long_name": "failed attempts before the update succeeded", **unit},
            ),
            "wall_time": (
                "update",
                np.array([r.seconds for r in records], dtype=float),
                {"long_name": "wall time of the update", "units": "s"},
            ),
        },
        coords={**index_coord("update", n, "update within this batch"), **component_coord()},
        attrs={"step": step, "batch": batch, "processes": processes},
    )


def _jump_variables(jumps, replica_of) -> tuple[dict, dict]:
    """Ageing jumps cut from reference windows, one entry per jump (a ragged ``jump`` dimension,
    none when no window had one): data variables and their auxiliary coordinates."""
    n = len(jumps)
    step = np.array([j.at for j in jumps], dtype=np.int64)
    size = np.array([j.size for j in jumps], dtype=float).reshape(n, 6)
    z = np.array([j.z for j in jumps], dtype=float).reshape(n, 6)
    data = {
        "jump_size": (
            ("jump", "component"),
            size,
            {
                "long_name": "ageing jump cut from the reference window: mean stress after it minus before it "
                "(before: back to the previous cut)",
                "units": "Pa",
            },
        ),
        "jump_z": (
            ("jump", "component"),
            z,
            {
                "long_name": "ageing jump: |jump_size| over its standard error (a cut needs > 6 on some "
                "component, and |jump_size| > reference_standard_error)",
                "units": "1",
            },
        ),
    }
    coords = {
        "jump_step": (
            "jump",
            step,
            {
                "long_name": "ageing jump: first MD step after it, counted from the start of the reference "
                "window (block resolution); the window before it is discarded",
                "units": "1",
            },
        ),
        "jump_replica": (
            "jump",
            np.asarray(replica_of, dtype=np.int64),
            {"long_name": "replica of the jump", "units": "1"},
        ),
    }
    return data, coords


def _reference_window_variables(refs, dim) -> dict:
    """What each reference window was: its length, its stationary part, its drift (the numbers
    material_init's log lines and warnings quote)."""
    pa, steps = {"units": "Pa"}, {"units": "1"}
    stack = np.stack if dim else (lambda values: values[0])
    dims = (dim,) if dim else ()
    return {
        "reference_measured_steps": (
            dims,
            stack([np.int64(r.measured_steps) for r in refs]),
            {"long_name": "MD steps of the whole reference window (ageing jumps included)", **steps},
        ),
        "reference_stationary_steps": (
            dims,
            stack([np.int64(r.stationary_steps) for r in refs]),
            {"long_name": "MD steps after the last ageing jump: the part reference_stress averages", **steps},
        ),
        "reference_drift": (
            (*dims, "component"),
            stack([r.drift for r in refs]),
            {"long_name": "second-half minus first-half mean of the stationary reference window", **pa},
        ),
        "reference_drift_standard_error": (
            (*dims, "component"),
            stack([r.drift_error for r in refs]),
            {"long_name": "standard error of reference_drift", **pa},
        ),
    }


def _rest_state_variable(files, dims: tuple[str, ...]) -> dict:
    """``rest_state_file``: the states along the reference window that qps start from (none: absent)."""
    if len(files) == 0:
        return {}
    return {
        "rest_state_file": (
            (*dims, "rest_state"),
            np.array([[str(f) for f in row] for row in files] if dims else [str(f) for f in files], dtype=object),
            {
                "long_name": "LAMMPS data files of states along the stationary reference window; "
                "the k-th qp of the material starts from rest_state k mod rest_states",
                "units": "1",
            },
        )
    }


def _rest_state_coord(count: int) -> dict:
    return index_coord("rest_state", count, "state along the reference window") if count else {}


def zero_kelvin_dataset(name, spec, law: np.ndarray, strain: float) -> xr.Dataset:
    """``materials/{name}/zero_kelvin.nc``: the perfect lattice's second-order law at 0 K
    (``scema.md.preparation.zero_kelvin_law``), the committee prior's second-order mean."""
    i, j = np.triu_indices(len(COMPONENTS))
    pairs = np.array([f"{COMPONENTS[a]}*{COMPONENTS[b]}" for a, b in zip(i, j, strict=True)])
    return xr.Dataset(
        {
            "second_order": (
                ("pair", "component"),
                np.asarray(law, dtype=float),
                {
                    "long_name": "coefficient of eps_i eps_j (engineering shear) in each stress component, "
                    "perfect lattice at 0 K, least squares over +-h e_i and +-h (e_i + e_j)",
                    "units": "Pa",
                },
            ),
        },
        coords={
            "pair": ("pair", pairs, {"long_name": "strain product eps_i*eps_j (i <= j, Voigt)", "units": "1"}),
            **component_coord(),
        },
        attrs={"material": name, "units_style": spec.units, "strain_amplitude": float(strain)},
    )


def _standard_error_name(estimator: str) -> str:
    how = "std / sqrt(n) of the zero-strain updates" if estimator == "rest_updates" else "block averaging"
    return f"standard error of reference_stress ({how})"


def _reference_update_variables(refs, dim, rest_states: int) -> tuple[dict, dict]:
    """With ``reference_estimator: rest_updates``: the zero-strain updates reference_stress
    averages (raw stresses, the rest state each started from, their count) and the window's own
    mean and error beside them; nothing with the window estimator (data variables, coordinates)."""
    if refs[0].estimator != "rest_updates":
        return {}, {}
    pa, one = {"units": "Pa"}, {"units": "1"}
    stack = np.stack if dim else (lambda values: values[0])
    dims = (dim,) if dim else ()
    count = len(refs[0].update_stress)
    data = {
        "reference_update_stress": (
            (*dims, "reference_update", "component"),
            stack([np.asarray(r.update_stress, dtype=float) for r in refs]),
            {
                "long_name": "stress of each zero-strain update from the rest states (reference_stress is their mean)",
                **pa,
            },
        ),
        "reference_update_rest_state": (
            "reference_update",
            np.arange(count, dtype=np.int64) % rest_states,
            {"long_name": "rest state each zero-strain update started from (update i: i mod rest_states)", **one},
        ),
        "reference_updates": (
            dims,
            stack([np.int64(len(r.update_stress)) for r in refs]),
            {"long_name": "zero-strain updates averaged into reference_stress", **one},
        ),
        "window_reference_stress": (
            (*dims, "component"),
            stack([r.window_reference for r in refs]),
            {"long_name": "mean stress of the stationary reference window (the window estimator)", **pa},
        ),
        "window_reference_standard_error": (
            (*dims, "component"),
            stack([r.window_standard_error for r in refs]),
            {"long_name": "standard error of window_reference_stress (block averaging)", **pa},
        ),
    }
    return data, index_coord("reference_update", count, "zero-strain update of the reference")


def material_replica_dataset(name, spec, replica, ref, stiffness) -> xr.Dataset:
    """``materials/{name}/replica_{r}.nc``: what one replica's job measured (``ref``: its
    ``scema.md.preparation.ReferenceState``), combined by material_init into ``material.nc``."""
    from scema.md.units import distance_unit_name

    pa = {"units": "Pa"}
    jump_data, jump_coords = _jump_variables(ref.jumps, [replica] * len(ref.jumps))
    update_data, update_coords = _reference_update_variables([ref], None, spec.rest_states)
    window_stress = np.asarray(ref.window_stress, dtype=float).reshape(-1, 6)
    return xr.Dataset(
        {
            "stiffness": (
                ("i", "j"),
                stiffness,
                {"long_name": "homogenised stiffness C_ij = d sigma_i / d eps_j (engineering shear)", **pa},
            ),
            "reference_stress": (
                "component",
                ref.reference_stress,
                {"long_name": "residual stress of the reference box", **pa},
            ),
            "reference_stress_standard_error": (
                "component",
                ref.standard_error,
                {"long_name": _standard_error_name(ref.estimator), **pa},
            ),
            **update_data,
            "window_stress": (
                ("window", "component"),
                window_stress,
                {
                    "long_name": "mean stress of successive sampling_steps windows of the stationary reference window",
                    **pa,
                },
            ),
            **_reference_window_variables([ref], None),
            "reference_cell": (
                ("row", "col"),
                ref.cell,
                {
                    "long_name": "reference cell H_ref (columns are the box vectors a, b, c; upper triangular)",
                    "units": distance_unit_name(spec.units),
                },
            ),
            "density": ((), float(ref.density), {"long_name": "mass density of the reference box", "units": "kg m-3"}),
            "volume": ((), float(ref.volume), {"long_name": "volume of the reference box", "units": "m3"}),
            **_rest_state_variable(ref.rest_states, ()),
            **jump_data,
        },
        coords={
            **component_coord(),
            "i": ("i", np.array(COMPONENTS), {"long_name": "stress component (Voigt)", "units": "1"}),
            "j": ("j", np.array(COMPONENTS), {"long_name": "strain component (Voigt)", "units": "1"}),
            **index_coord("row", 3, "cell matrix row (x, y, z)"),
            **index_coord("col", 3, "cell matrix column (box vector a, b, c)"),
            **index_coord("window", len(window_stress), "update window of the stationary reference window"),
            **_rest_state_coord(len(ref.rest_states)),
            **jump_coords,
            **update_coords,
        },
        attrs={
            "material": name,
            "replica": int(replica),
            "reference_estimator": ref.estimator,
            "state_file": str(ref.state),
            "n_atoms": int(ref.n_atoms),
            "units_style": spec.units,
        },
    )


def _sampling_noise_variables(noise, window_noise) -> dict:
    """``sampling_noise`` (what the committee takes as one replica's MD noise), and when it came
    from rest updates (``material_noise`` then returns the window's too) the window's own value
    beside it as ``window_sampling_noise``: one decision, made where the noise is measured."""
    window_name = "std of the stress averaged over one update window (sampling_steps) of one replica at rest"
    if window_noise is None:
        return {"sampling_noise": ("component", noise, {"long_name": window_name, "units": "Pa"})}
    name = (
        "std of one zero-strain update's stress from the rest states about its replica's reference_stress "
        "(pooled over replicas; includes the spread between rest states)"
    )
    return {
        "sampling_noise": ("component", noise, {"long_name": name, "units": "Pa"}),
        "window_sampling_noise": ("component", window_noise, {"long_name": window_name, "units": "Pa"}),
    }


def material_dataset(name, spec, refs, stiffness, noise, state_files, window_noise=None) -> xr.Dataset:
    """``materials/{name}/material.nc``: reference boxes, reference stress, sampling noise and
    stiffness of one material (``spec``: its ``scema.md.material.MaterialSpec``; ``refs``: one
    ``scema.md.preparation.ReferenceState`` per replica), with the ageing jumps cut from each
    replica's reference window. ``window_noise``: with ``rest_updates``, the window's sampling
    noise (``noise`` is then the updates')."""
    from scema.md.units import distance_unit_name

    replicas = len(state_files)
    pa = {"units": "Pa"}
    jumps = [jump for ref in refs for jump in ref.jumps]
    jump_data, jump_coords = _jump_variables(jumps, [r for r, ref in enumerate(refs) for _ in ref.jumps])
    update_data, update_coords = _reference_update_variables(refs, "replica", spec.rest_states)
    return xr.Dataset(
        {
            "stiffness": (
                ("replica", "i", "j"),
                stiffness,
                {"long_name": "homogenised stiffness C_ij = d sigma_i / d eps_j (engineering shear)", **pa},
            ),
            "reference_stress": (
                ("replica", "component"),
                np.stack([r.reference_stress for r in refs]),
                {"long_name": "residual stress of the reference box (subtracted from its updates)", **pa},
            ),
            "reference_stress_standard_error": (
                ("replica", "component"),
                np.stack([r.standard_error for r in refs]),
                {"long_name": _standard_error_name(refs[0].estimator), **pa},
            ),
            **update_data,
            **_reference_window_variables(refs, "replica"),
            "reference_jumps": (
                "replica",
                np.array([len(r.jumps) for r in refs], dtype=np.int64),
                {"long_name": "ageing jumps cut from the reference window (listed along jump)", "units": "1"},
            ),
            **jump_data,
            **_sampling_noise_variables(noise, window_noise),
            "reference_cell": (
                ("replica", "row", "col"),
                np.stack([r.cell for r in refs]),
                {
                    "long_name": "reference cell H_ref (columns are the box vectors a, b, c; upper triangular); "
                    "a box at strain eps has the cell (I + G(eps)) H_ref",
                    "units": distance_unit_name(spec.units),
                },
            ),
            "density": (
                "replica",
                np.array([r.density for r in refs], dtype=float),
                {"long_name": "mass density of the reference box", "units": "kg m-3"},
            ),
            "state_file": (
                "replica",
                np.array(state_files, dtype=object),
                {"long_name": "reference box LAMMPS data file", "units": "1"},
            ),
            **_rest_state_variable([r.rest_states for r in refs] if refs[0].rest_states else [], ("replica",)),
        },
        coords={
            **index_coord("replica", replicas, "MD replica"),
            **_rest_state_coord(len(refs[0].rest_states)),
            **component_coord(),
            "i": ("i", np.array(COMPONENTS), {"long_name": "stress component (Voigt)", "units": "1"}),
            "j": ("j", np.array(COMPONENTS), {"long_name": "strain component (Voigt)", "units": "1"}),
            **index_coord("row", 3, "cell matrix row (x, y, z)"),
            **index_coord("col", 3, "cell matrix column (box vector a, b, c)"),
            **jump_coords,
            **update_coords,
        },
        attrs={
            "material": name,
            "units_style": spec.units,
            "reference_estimator": refs[0].estimator,
            "temperature_K": spec.temperature,
            "n_atoms": int(refs[0].n_atoms),
            "sampling_steps": int(spec.sampling_steps),
            "reference_sampling_steps": int(spec.reference_sampling_steps),
            "strain_measure": "H = (I + G(eps)) H_ref, G = [[exx, gxy, gxz], [0, eyy, gyz], [0, 0, ezz]] "
            "(small strain, engineering shear as box tilt)",
        },
    )


# --- committee files (method section 6) ---------------------------------------------------


def material_coord(names: list[str]) -> dict:
    """The ``material`` coordinate of the committee files (index, flag names)."""
    return {
        "material": (
            "material",
            np.arange(len(names), dtype=np.int64),
            {
                "long_name": "material index",
                "units": "1",
                "flag_values": np.arange(len(names), dtype=np.int64),
                "flag_meanings": " ".join(names),
            },
        )
    }


def committee_query_dataset(
    step, material_names, mean, std, decision, version, usable, committee_used, stress_accuracy_mpa
) -> xr.Dataset:
    """``committee_query.nc``: committee mean and spread per queried qp, the md / committee /
    audit decision per qp, and per material the version asked and whether it was usable."""
    n_qp = decision.shape[0]
    return xr.Dataset(
        {
            "mean": (("qp", "component"), mean, {"long_name": "committee mean of the stress", "units": "Pa"}),
            "std": (
                ("qp", "component"),
                std,
                {"long_name": "committee spread (std across members, ddof=1)", "units": "Pa"},
            ),
            "decision": (
                "qp",
                decision,
                {
                    "long_name": "who gives this qp's stress (audit: trusted, but MD runs and its stress is used)",
                    "flag_values": np.array(list(DECISIONS.values()), dtype=np.int8),
                    "flag_meanings": " ".join(DECISIONS),
                    **UNIT,
                },
            ),
            "version": ("material", version, {"long_name": "committee version asked (0: none)", **UNIT}),
            "usable": ("material", usable, {"long_name": "1 if the version is accepted and not suspended", **UNIT}),
        },
        coords={
            **index_coord("qp", n_qp, "quadrature point id"),
            **component_coord(),
            **material_coord(material_names),
        },
        attrs={
            "step": int(step),
            "committee_used": int(bool(committee_used)),
            "stress_accuracy_mpa": float(stress_accuracy_mpa),
        },
    )


def committee_record_dataset(
    step: int,
    names: list[str],
    version,
    directory,
    n_samples,
    n_at_training,
    accepted,
    suspended,
    counts: dict | None = None,
    audit: dict | None = None,
) -> xr.Dataset:
    """``committee.nc``: per material the current committee version, its directory, sample
    counts, accepted / suspended, and the step's query counts and audit errors (``counts``:
    queried, trusted, audited; ``audit``: error, net_error, failed_fraction, exact_pass_fraction,
    and pass_fraction, pass_fraction_lower over the material's audits of the run so far, and
    run_pass_fraction, run_pass_fraction_lower (scalars) over every material's, which summary.nc
    takes per step instead of refitting the run's audits; none: zeros / NaN, also for any audit
    entry left out)."""
    n = len(names)
    counts = counts or {k: np.zeros(n, np.int64) for k in ("queried", "trusted", "audited")}
    audit = {
        "error": np.full((n, 3), np.nan),
        "net_error": np.full((n, 3), np.nan),
        **{
            k: np.full(n, np.nan)
            for k in ("failed_fraction", "exact_pass_fraction", "pass_fraction", "pass_fraction_lower")
        },
        "run_pass_fraction": np.nan,
        "run_pass_fraction_lower": np.nan,
        **(audit or {}),
    }
    dims = ("material",)
    return xr.Dataset(
        {
            "version": (
                dims,
                np.asarray(version, np.int64),
                {
                    "long_name": "current committee version (0: none trained; the prior alone when directory is set)",
                    **UNIT,
                },
            ),
            "directory": (
                dims,
                np.asarray(directory, dtype=object),
                {"long_name": "directory of the current version", **UNIT},
            ),
            "n_samples": (dims, np.asarray(n_samples, np.int64), {"long_name": "MD training samples so far", **UNIT}),
            "n_samples_at_training": (
                dims,
                np.asarray(n_at_training, np.int64),
                {"long_name": "training samples when the current version was trained", **UNIT},
            ),
            "accepted": (
                dims,
                np.asarray(accepted, np.int8),
                {
                    "long_name": "1 if the current version's held-out error net of MD noise is below the accuracy",
                    **UNIT,
                },
            ),
            "suspended": (
                dims,
                np.asarray(suspended, np.int8),
                {"long_name": "1 if audits failed: everything goes to MD until a new version is accepted", **UNIT},
            ),
            "n_queried": (
                dims,
                counts["queried"],
                {"long_name": "representatives the committee was asked for this step", **UNIT},
            ),
            "n_trusted": (
                dims,
                counts["trusted"],
                {"long_name": "representatives answered by the committee this step (audits included)", **UNIT},
            ),
            "n_audited": (
                dims,
                counts["audited"],
                {"long_name": "trusted representatives also run by MD this step", **UNIT},
            ),
            **audit_error_variables("material", audit["error"], audit["net_error"]),
            "audit_failed_fraction": (
                dims,
                audit["failed_fraction"],
                {"long_name": "share of audited qps whose net error exceeds the accuracy", **UNIT},
            ),
            "audit_exact_pass_fraction": (
                dims,
                audit["exact_pass_fraction"],
                {
                    "long_name": "share of single audits an exact committee would have within the accuracy "
                    "at this MD noise (lower bound)",
                    **UNIT,
                },
            ),
            **audit_pass_fraction_variables("material", audit["pass_fraction"], audit["pass_fraction_lower"]),
            **audit_pass_fraction_variables(
                (),
                float(audit["run_pass_fraction"]),
                float(audit["run_pass_fraction_lower"]),
                prefix="run_",
                whose=", all materials together",
            ),
        },
        coords={
            **material_coord(names),
            **statistic_coord(STATISTICS),
        },
        attrs={"step": int(step)},
    )


def training_samples_dataset(
    step,
    target,
    qp_id,
    material,
    inputs,
    stress,
    noise,
    anchor_noise,
    comparison_noise,
    pooled_noise,
    committee_stress,
    audited,
) -> xr.Dataset:
    """``training_samples.nc``: one sample per qp whose stress came from its own MD this step:
    committee inputs, MD stress, its MD noises, and at audits the committee's answer beside it."""
    n = qp_id.size
    noise_vars = {
        "noise": (noise, "MD noise of the stress (replica std / sqrt(R), or the material's sampling noise)"),
        "anchor_noise": (
            anchor_noise,
            "MD noise of sigma_s, the stress the box's state was saved at (0 for reference boxes)",
        ),
        "comparison_noise": (
            comparison_noise,
            f"MD noise in committee - MD for target {target}, from this sample's own replicas",
        ),
        "pooled_noise": (
            pooled_noise,
            "comparison noise pooled over the material's MD samples of this step (and earlier ones "
            "until 30): what audits and the held-out acceptance subtract",
        ),
    }
    return xr.Dataset(
        {
            "inputs": (
                ("sample", "feature"),
                inputs,
                {
                    "long_name": "eps_s (6), sigma_s (6, Pa), eps_t - eps_s (6)",
                    "units": "1",
                    "feature_units": "features 0-5 and 12-17 strain (1), 6-11 stress (Pa)",
                },
            ),
            "stress": (("sample", "component"), stress, {"long_name": "MD stress (replica mean)", "units": "Pa"}),
            **{
                k: (("sample", "component"), v, {"long_name": long, "units": "Pa"})
                for k, (v, long) in noise_vars.items()
            },
            "committee_stress": (
                ("sample", "component"),
                committee_stress,
                {"long_name": "committee mean at audited samples (NaN elsewhere)", "units": "Pa"},
            ),
            "audited": (
                "sample",
                np.asarray(audited, dtype=np.int8),
                {"long_name": "1 if the committee was trusted here and MD checked it", **UNIT},
            ),
            "material": ("sample", material, {"long_name": "material index of the sample", **UNIT}),
            "qp_id": ("sample", qp_id.astype(np.int64), {"long_name": "quadrature point of the sample", **UNIT}),
            "step_id": ("sample", np.full(n, step, dtype=np.int64), {"long_name": "step of the sample", **UNIT}),
        },
        coords={
            **index_coord("sample", n, "training sample"),
            **index_coord("feature", 18, "input feature (strain_s, stress_s, strain since s)"),
            **component_coord(),
        },
        attrs={"step": int(step), "target": target},
    )


def training_set_dataset(previous: xr.Dataset | None, samples: xr.Dataset) -> xr.Dataset:
    """``training_set.nc``: every training sample of the run up to ``samples``' step, in step order:
    the previous step's set (None at the first step) with the step's samples (``training_samples_dataset``)
    appended; ``step_id`` tells the steps apart, attribute ``step`` is the last step it holds.
    Why one accumulated file: a step's update then reads one file, not every earlier step's sample
    file (committee_update cost grew with the run, issue 12), as clustering's strain history does."""
    ds = samples if previous is None else xr.concat([previous, samples], dim="sample", data_vars="minimal")
    ds = ds.assign_coords(index_coord("sample", ds.sizes["sample"], "training sample"))
    ds.attrs = {"step": int(samples.attrs["step"]), "target": samples.attrs["target"]}
    return ds


def committee_metrics_dataset(
    errors: HeldOutErrors,
    train_size: np.ndarray,
    epochs: np.ndarray,
    best_epoch: np.ndarray,
    seeds: np.ndarray,
    n_validation: int,
    settings: CommitteeSettings,
    prior_factors: np.ndarray | None = None,
) -> xr.Dataset:
    """``v{k}/metrics.nc`` of a committee version: held-out RMSE, MD noise and net error per
    member and component, each member's training record, the settings it was trained with and,
    when fitted (``scema.committee.evidence``), the physical prior's group scales (else all 1)."""
    pa, one = "Pa", "1"
    member_comp, comp, member = ("member", "component"), ("component",), ("member",)
    held = "on the held-out validation set"
    variables = {
        "validation_rmse": (member_comp, errors.member_rmse, pa, f"member root-mean-square stress error {held}"),
        "validation_net_error": (
            member_comp,
            errors.member_net,
            pa,
            f"member stress error {held} net of the MD noise, sqrt(max(0, rmse^2 - noise^2))",
        ),
        "committee_validation_rmse": (
            comp,
            errors.committee_rmse,
            pa,
            f"committee-mean root-mean-square stress error {held}",
        ),
        "committee_validation_net_error": (
            comp,
            errors.committee_net,
            pa,
            f"committee-mean stress error {held} net of the MD noise",
        ),
        "validation_noise": (comp, errors.noise, pa, "root-mean-square MD noise of the held-out stresses"),
        "train_size": (
            member,
            train_size.astype(np.int64),
            one,
            "number of training samples (bootstrap draws) of the member",
        ),
        "epochs": (member, epochs.astype(np.int64), one, "training epochs run (early stopping included)"),
        "best_epoch": (
            member,
            best_epoch.astype(np.int64),
            one,
            "epoch (1-based) with the lowest validation loss, whose weights are kept",
        ),
        "member_seed": (
            member,
            seeds.astype(np.int64),
            one,
            "random seed of the member (initialisation, bootstrap, shuffling)",
        ),
        "validation_size": (
            (),
            np.int64(n_validation),
            one,
            "number of held-out validation samples (shared by all members)",
        ),
    }
    ds = xr.Dataset(
        {
            name: (dims, values, {"units": units, "long_name": long})
            for name, (dims, values, units, long) in variables.items()
        },
        coords={**index_coord("member", len(train_size), "committee member index"), **component_coord()},
    )
    from scema.committee.models import GROUP_NAMES

    factors = np.ones(len(GROUP_NAMES)) if prior_factors is None else np.asarray(prior_factors, dtype=float)
    ds["prior_scale_factor"] = xr.DataArray(
        factors,
        dims=("prior_group",),
        coords={
            "prior_group": (
                "prior_group",
                np.array(GROUP_NAMES),
                {"long_name": "group of physical-prior coefficients (scema.committee.models)", "units": "1"},
            )
        },
        attrs={
            "units": "1",
            "long_name": "physical prior's std of each coefficient group as a multiple of its fixed guess "
            "(evidence-fitted; 1: the guess)",
        },
    )
    ds.attrs.update({f"settings_{k}": (v if not isinstance(v, bool) else int(v)) for k, v in asdict(settings).items()})
    ds.attrs["std_ddof"] = 1
    return ds


# --- comparison and study files (post-processing of finished runs) ------------------------


def comparison_dataset(
    reference: str, modes, steps, stages, per_mode: dict, per_step, stage_wall, loaded_component: int, band: dict
) -> xr.Dataset:
    """``comparison.nc``: per mode (run) its MD work, speedup and differences from the brute-force
    ``reference``, with the brute-force seed-to-seed ``band`` in the attributes.

    ``per_mode``: updates, ratio, curve_max, curve_rms, curve_max_over_band, stress_rms,
    stress_max, not_md, wall (one value per mode); ``per_step``: MD updates (mode, step);
    ``stage_wall``: wall time (mode, stage); ``band``: reaction_max, reaction_rms, stress_rms,
    stress_max; ``loaded_component``: the xyz index of the load.
    """
    one = {"units": "1"}
    mode_dim = ("mode",)
    return xr.Dataset(
        {
            "md_updates": (mode_dim, per_mode["updates"], {"long_name": "MD updates over the run", **one}),
            "md_updates_per_step": (("mode", "step"), per_step, {"long_name": "MD updates per step", **one}),
            "speedup": (
                mode_dim,
                per_mode["ratio"],
                {"long_name": "brute-force MD updates / this mode's MD updates", **one},
            ),
            "reaction_max_difference": (
                mode_dim,
                per_mode["curve_max"],
                {"long_name": "largest |R - R_brute| over steps relative to the brute-force peak reaction", **one},
            ),
            "reaction_rms_difference": (
                mode_dim,
                per_mode["curve_rms"],
                {"long_name": "RMS of R - R_brute over steps relative to the brute-force peak reaction", **one},
            ),
            "reaction_max_difference_over_band": (
                mode_dim,
                per_mode["curve_max_over_band"],
                {"long_name": "largest reaction difference divided by the brute-force seed-to-seed one", **one},
            ),
            "stress_rms_difference": (
                mode_dim,
                per_mode["stress_rms"],
                {"long_name": "RMS over qps and steps of the largest-component |sigma - sigma_brute|", "units": "Pa"},
            ),
            "stress_max_difference": (
                mode_dim,
                per_mode["stress_max"],
                {"long_name": "largest |sigma - sigma_brute| over qps, steps and components", "units": "Pa"},
            ),
            "not_md_fraction": (
                mode_dim,
                per_mode["not_md"],
                {"long_name": "share of qp stresses not from the qp's own MD (cluster member or committee)", **one},
            ),
            "wall_time": (
                mode_dim,
                per_mode["wall"],
                {"long_name": "wall time summed over stages and jobs", "units": "s"},
            ),
            "stage_wall_time": (("mode", "stage"), stage_wall, {"long_name": "wall time per stage", "units": "s"}),
        },
        coords={
            "mode": ("mode", np.array(modes, dtype="S"), {"long_name": "run mode", **one}),
            "step": ("step", steps, {"long_name": "macroscale step", **one}),
            "stage": ("stage", np.array([str(s) for s in stages], dtype="S"), {"long_name": "workflow stage", **one}),
        },
        attrs={
            "reference": reference,
            "loaded_component": "xyz"[loaded_component],
            "band_reaction_max_difference": band["reaction_max"],
            "band_reaction_rms_difference": band["reaction_rms"],
            "band_stress_rms_difference_pa": band["stress_rms"],
            "band_stress_max_difference_pa": band["stress_max"],
        },
    )


def study_dataset(
    points: list[str],
    compared: dict,
    md_updates_saved,
    usage: np.ndarray,
    parameters: dict,
    comparison_attrs: dict,
    brute_force_md_updates: float,
) -> xr.Dataset:
    """``study.nc``: per study point its parameter values, what it saved and how accurate it was.

    ``compared``: comparison variable name -> (values per point, its ``comparison.nc`` attributes);
    ``usage``: (point, 3) training samples, accepted share, trusted share; ``parameters``: dotted
    parameter -> values per point (first point: the baseline); ``comparison_attrs``: the band and
    loaded-component attributes of ``comparison.nc``, carried over.
    """
    one = {"units": "1"}
    data = {name: ("point", values, dict(attrs)) for name, (values, attrs) in compared.items()}
    data["md_updates_saved"] = (
        "point",
        md_updates_saved,
        {"long_name": "share of brute-force MD updates not run", **one},
    )
    data["training_samples"] = (
        "point",
        usage[:, 0],
        {"long_name": "committee training-set size at the last step (MD samples used)", **one},
    )
    data["committee_accepted_share"] = (
        "point",
        usage[:, 1],
        {"long_name": "share of step records whose committee version was accepted", **one},
    )
    data["committee_trusted_share"] = (
        "point",
        usage[:, 2],
        {"long_name": "share of committee queries answered by the committee (audits included)", **one},
    )
    for parameter, values in parameters.items():
        unit = "MPa" if parameter.endswith("_mpa") else "1"
        data[parameter.replace(".", "_")] = ("point", values, {"long_name": f"{parameter} of the point", "units": unit})
    return xr.Dataset(
        data,
        coords={"point": ("point", np.array(points, dtype="S"), {"long_name": "study point (run folder)", **one})},
        attrs={
            **comparison_attrs,
            "brute_force_md_updates": float(brute_force_md_updates),
            "parameters": " ".join(parameters),
            "baseline": points[0],
        },
    )
