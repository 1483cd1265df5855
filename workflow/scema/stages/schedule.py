"""Write a step's MD schedule (which updates, which batch): the one planning function.

Not a job of its own: the last stage before the MD calls it (fe_step, or cluster when clustering
is on, or committee_query when the committee is on), so a step does not pay an interpreter
start, the imports and a Snakemake round trip just to plan. The schedule stays its own file,
written after the stage's other outputs: a killed job reruns as a whole, nothing is half planned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scema.io.netcdf import Contents, read_contents, write_dataset
from scema.io.step_datasets import schedule_dataset
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
    prev_md_state: str | Contents,
    out_schedule: str,
    clusters_path: str | None = None,
    committee_path: str | None = None,
) -> None:
    """``settings``: the rule param ``schedule`` (``batches``: at most this many batch jobs,
    ``seed``: the run seed, ``materials``: every material name in config order, the index;
    ``replicas``, read by fe_step for step 1's rest state; ``state_suffixes``: each material's
    qp state format, scema.md.state.state_suffix);
    ``prev_md_state``: the previous step's md_state.nc, or its contents (fe_step aggregates it).
    Runs in the step's jobs: reads as numpy (``Contents``, no xarray import; scema.io.netcdf)."""
    strain = read_contents(strain_path)
    state = prev_md_state if isinstance(prev_md_state, Contents) else read_contents(prev_md_state)
    state_dir = Path(out_schedule).parent / "md" / "state"
    n_qp = strain.sizes["qp"]
    trusted, _, _, _ = committee_decision(committee_path, n_qp)  # audited qps run MD too
    schedule = plan(
        select_md_qps(sampled_members(clusters_path, n_qp), trusted),
        strain["strain"],
        strain["material"],
        state["state_file"],
        state["state_strain"],
        int(settings["batches"]),
        state_dir,
        list(settings["state_suffixes"]),
        run_seed=int(settings["seed"]),
        step=step,
    )
    ds = schedule_dataset(step, schedule, list(settings["materials"]))
    write_dataset(ds, out_schedule, f"MD schedule, step {step}")
