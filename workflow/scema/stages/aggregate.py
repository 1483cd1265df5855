"""Stress aggregation (method section 2, step 6): qp stress = replica mean, with provenance."""

from __future__ import annotations

import numpy as np

from scema.io.datasets import SOURCE_FLAGS, md_state_dataset, stress_dataset
from scema.io.netcdf import read_dataset, write_dataset
from scema.stages.cluster import representatives
from scema.stages.committee_query import committee_decision


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
    strain = read_dataset(strain_path)["strain"].values
    state = read_dataset(prev_md_state)
    state_file = state["state_file"].values.astype(object)
    state_strain = state["state_strain"].values.copy()
    state_stress = state["state_stress"].values.copy()
    n_qp, replicas = state_file.shape
    replica_stress = np.full((n_qp, replicas, 6), np.nan)
    for path in batch_files:
        batch = read_dataset(path)
        qp, rep = batch["qp_id"].values, batch["replica_id"].values
        replica_stress[qp, rep] = batch["stress"].values
        state_file[qp, rep] = batch["state_file"].values
        state_strain[qp, rep] = batch["target_strain"].values
        state_stress[qp, rep] = batch["stress"].values
    # representatives answered by the committee keep their box (state, its strain and MD stress
    # unchanged): the strain accumulates and is applied by their next MD update. Audited ones
    # ran MD like any other; their committee answer is kept beside the MD stress.
    trusted, audited, committee_mean, committee_std = committee_decision(committee_path, n_qp)
    stress = replica_stress.mean(axis=1)
    std = replica_stress.std(axis=1, ddof=1) if replicas > 1 else np.zeros_like(stress)
    stress[trusted], std[trusted] = committee_mean[trusted], np.nan
    source = np.where(trusted, SOURCE_FLAGS["committee"], SOURCE_FLAGS["md"])
    # cluster members take their representative's stress and adopt its state by reference
    rep = representatives(clusters_path, n_qp)
    stress, std, committee_std, committee_mean = stress[rep], std[rep], committee_std[rep], committee_mean[rep]
    state_file, state_strain, state_stress = state_file[rep], state_strain[rep], state_stress[rep]
    audited = audited & (rep == np.arange(n_qp))
    source = np.where(rep == np.arange(n_qp), source[rep], SOURCE_FLAGS["cluster"])
    missing = np.isnan(stress).any(axis=1)
    if missing.any():
        raise RuntimeError(f"step {step}: no stress for {missing.sum()} qps (first: {np.flatnonzero(missing)[:5]})")
    write_dataset(
        stress_dataset(step, stress, std, source, strain, committee_std, committee_mean, audited),
        out_stress,
        f"qp stress, step {step}",
    )
    write_dataset(
        md_state_dataset(step, state_file, state_strain, state_stress), out_md_state, f"MD state index, step {step}"
    )
