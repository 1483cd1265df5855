"""Write a step's MD schedule (which updates, which batch): the one planning function.

Not a job of its own: the last stage before the MD calls it (fe_step, or cluster when clustering
is on, or committee_query when the committee is on), so a step does not pay an interpreter
start, the imports and a Snakemake round trip just to plan. The schedule stays its own file,
written after the stage's other outputs: a killed job reruns as a whole, nothing is half planned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from scema.io.datasets import schedule_dataset
from scema.io.netcdf import read_dataset, write_dataset
from scema.schedule import plan
from scema.stages.cluster import sampled_members
from scema.stages.committee_query import committee_decision


def select_md_qps(sampled: np.ndarray, trusted: np.ndarray) -> np.ndarray:
    """qps whose MD runs this step: the clusters' sampled members (every qp without clustering)
    that the committee did not answer for (its decision is per cluster: members follow their
    representative)."""
    return np.flatnonzero(sampled & ~trusted)


def write_schedule(
    settings: dict,
    step: int,
    strain_path: str,
    prev_md_state: str | xr.Dataset,
    out_schedule: str,
    clusters_path: str | None = None,
    committee_path: str | None = None,
) -> None:
    """``settings``: the rule param ``schedule`` (``batches``: at most this many batch jobs,
    ``seed``: the run seed, ``materials``: every material name in config order, the index;
    ``replicas``, read by fe_step for step 1's rest state);
    ``prev_md_state``: the previous step's md_state.nc, or that dataset (fe_step aggregates it)."""
    strain = read_dataset(strain_path)
    state = prev_md_state if isinstance(prev_md_state, xr.Dataset) else read_dataset(prev_md_state)
    state_dir = Path(out_schedule).parent / "md" / "state"
    n_qp = strain.sizes["qp"]
    trusted, _, _, _ = committee_decision(committee_path, n_qp)  # audited qps run MD too
    schedule = plan(
        select_md_qps(sampled_members(clusters_path, n_qp), trusted),
        strain["strain"].values,
        strain["material"].values,
        state["state_file"].values,
        state["state_strain"].values,
        int(settings["batches"]),
        state_dir,
        run_seed=int(settings["seed"]),
        step=step,
    )
    ds = schedule_dataset(step, schedule, list(settings["materials"]))
    write_dataset(ds, out_schedule, f"MD schedule, step {step}")
