"""Stress aggregation (method section 2, step 6): qp stress = replica mean, with provenance;
cluster members that did not run MD get their cluster's transported estimate.

Runs in every step's fe_step and aggregate_stress: reads and builds its files as numpy
(``Contents``, no xarray import; see scema.io.netcdf)."""

from __future__ import annotations

import numpy as np

from scema.cluster_sampling import transported_estimate
from scema.io.netcdf import Contents, read_contents, write_dataset
from scema.io.step_datasets import SOURCE_FLAGS, md_state_dataset, stress_dataset
from scema.stages.cluster import representatives, sampled_members
from scema.stages.committee_query import committee_decision


def transport_inputs(strain_path: str, clusters_path: str) -> tuple[np.ndarray, np.ndarray]:
    """(material index per qp, stiffness per material) for the cluster transport."""
    material = read_contents(strain_path)["material"].astype(np.int64)
    ds = read_contents(clusters_path)
    if "transport_stiffness" not in ds:
        raise ValueError(
            f"{clusters_path} has no transport_stiffness (written by the cluster stage without the "
            "material files, or by older code): re-run the cluster job of this step"
        )
    return material, ds["transport_stiffness"]


def aggregate(
    step: int,
    strain_path: str,
    prev_md_state: str,
    batch_files: list[str],
    clusters_path: str | None = None,
    committee_path: str | None = None,
) -> tuple[Contents, Contents]:
    """The step's (stress, MD state index) datasets from its MD batches. Also called by the next
    step's fe_step, which starts from these stresses without waiting for this stage's files."""
    strain = read_contents(strain_path)["strain"]
    state = read_contents(prev_md_state)
    state_file = state["state_file"].astype(object)
    state_strain = state["state_strain"].copy()
    state_stress = state["state_stress"].copy()
    n_qp, replicas = state_file.shape
    replica_stress = np.full((n_qp, replicas, 6), np.nan)
    for path in batch_files:
        batch = read_contents(path)
        qp, rep = batch["qp_id"], batch["replica_id"]
        replica_stress[qp, rep] = batch["stress"]
        state_file[qp, rep] = batch["state_file"]
        state_strain[qp, rep] = batch["target_strain"]
        state_stress[qp, rep] = batch["stress"]
    # representatives answered by the committee keep their box (state, its strain and MD stress
    # unchanged): the strain accumulates and is applied by their next MD update. Audited ones
    # ran MD like any other; their committee answer is kept beside the MD stress.
    trusted, audited, committee_mean, committee_std = committee_decision(committee_path, n_qp)
    stress = replica_stress.mean(axis=1)
    std = replica_stress.std(axis=1, ddof=1) if replicas > 1 else np.zeros_like(stress)
    stress[trusted], std[trusted] = committee_mean[trusted], np.nan
    source = np.where(trusted, SOURCE_FLAGS["committee"], SOURCE_FLAGS["md"])
    # qps with a stress of their own: the clusters' sampled members that ran MD, and each
    # representative (its MD or committee answer; the committee decides per cluster and is
    # asked for representatives only). The others take the cluster estimate at their own
    # strain and adopt the representative's box by reference.
    rep = representatives(clusters_path, n_qp)
    is_rep = rep == np.arange(n_qp)
    own = is_rep | (sampled_members(clusters_path, n_qp) & ~trusted)
    if clusters_path is not None:
        stress = transported_estimate(stress, strain, rep, own, *transport_inputs(strain_path, clusters_path))
    member = ~own
    std[member], committee_std[member], committee_mean[member] = (
        std[rep[member]],
        committee_std[rep[member]],
        committee_mean[rep[member]],
    )
    for array in (state_file, state_strain, state_stress):
        array[member] = array[rep[member]]
    audited = audited & is_rep
    source = np.where(own, source, SOURCE_FLAGS["cluster"])
    missing = np.isnan(stress).any(axis=1)
    if missing.any():
        raise RuntimeError(f"step {step}: no stress for {missing.sum()} qps (first: {np.flatnonzero(missing)[:5]})")
    ds = stress_dataset(step, stress, std, source, strain, committee_std, committee_mean, audited)
    if clusters_path is not None:
        ds.attrs["cluster_estimate"] = (
            "source cluster: mean stress of the cluster's qps that ran MD (or its representative's "
            "committee answer) + C (own strain - their mean strain), C from clusters.nc"
        )
    return ds, md_state_dataset(step, state_file, state_strain, state_stress)


def run(
    step: int,
    strain_path: str,
    prev_md_state: str,
    batch_files: list[str],
    out_stress: str,
    out_md_state: str,
    clusters_path: str | None = None,
    committee_path: str | None = None,
) -> None:
    """Write the step's stress.nc and md_state.nc (see :func:`aggregate`)."""
    stress, md_state = aggregate(step, strain_path, prev_md_state, batch_files, clusters_path, committee_path)
    write_dataset(stress, out_stress, f"qp stress, step {step}")
    write_dataset(md_state, out_md_state, f"MD state index, step {step}")
