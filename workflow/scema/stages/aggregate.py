"""Stress aggregation (method section 2, step 6): qp stress = replica mean, with provenance."""

from __future__ import annotations

import numpy as np

from scema.io.datasets import SOURCE_FLAGS, md_state_dataset, stress_dataset
from scema.io.netcdf import read_dataset, write_dataset
from scema.stages.cluster import representatives


def run(
    step: int,
    strain_path: str,
    prev_md_state: str,
    batch_files: list[str],
    out_stress: str,
    out_md_state: str,
    clusters_path: str | None = None,
) -> None:
    strain = read_dataset(strain_path)["strain"].values
    state = read_dataset(prev_md_state)
    state_file = state["state_file"].values.astype(object)
    state_strain = state["state_strain"].values.copy()
    n_qp, replicas = state_file.shape
    replica_stress = np.full((n_qp, replicas, 6), np.nan)
    for path in batch_files:
        batch = read_dataset(path)
        qp, rep = batch["qp_id"].values, batch["replica_id"].values
        replica_stress[qp, rep] = batch["stress"].values
        state_file[qp, rep] = batch["state_file"].values
        state_strain[qp, rep] = batch["target_strain"].values
    # cluster members take their representative's stress and adopt its new state by reference
    rep = representatives(clusters_path, n_qp)
    replica_stress = replica_stress[rep]
    state_file, state_strain = state_file[rep], state_strain[rep]
    missing = np.isnan(replica_stress).any(axis=(1, 2))
    if missing.any():
        raise RuntimeError(f"step {step}: no MD stress for {missing.sum()} qps (first: {np.flatnonzero(missing)[:5]})")
    stress = replica_stress.mean(axis=1)
    std = replica_stress.std(axis=1, ddof=1) if replicas > 1 else np.zeros_like(stress)
    source = np.where(rep == np.arange(n_qp), SOURCE_FLAGS["md"], SOURCE_FLAGS["cluster"])
    write_dataset(stress_dataset(step, stress, std, source, strain), out_stress, f"qp stress, step {step}")
    write_dataset(md_state_dataset(step, state_file, state_strain), out_md_state, f"MD state index, step {step}")
