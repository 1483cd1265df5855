"""Run summary over steps: the load-displacement curve, MD work and stage wall times."""

from __future__ import annotations

import csv
import re

import numpy as np
import xarray as xr

from scema.io.datasets import XYZ
from scema.io.netcdf import index_coord, read_dataset, write_dataset

STAGES = ("fe_step", "md_schedule", "md_batch", "aggregate_stress", "reaction_force")


def benchmark_seconds(path: str) -> float:
    """Wall-clock seconds recorded by a Snakemake ``benchmark:`` file."""
    with open(path) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return float(rows[-1]["s"])


def step_of(path: str) -> int:
    """Step number encoded as ``step_NNNN`` in a workflow file name."""
    return int(re.search(r"step_(\d{4})", path).group(1))


def run(reaction_files: list[str], schedule_files: list[str], benchmarks: dict[str, list[str]], out_summary: str) -> None:
    """``benchmarks[stage]`` lists every benchmark file of that stage (any step)."""
    n = len(reaction_files)
    steps = np.array([step_of(p) for p in reaction_files])
    reaction = np.stack([read_dataset(p)["reaction_force"].values for p in reaction_files])
    applied = np.stack([read_dataset(p)["applied_displacement"].values for p in reaction_files])
    residual = np.array([float(read_dataset(p)["residual_norm"]) for p in reaction_files])
    updates = np.array([read_dataset(p).sizes["update"] for p in schedule_files])
    wall = np.zeros((n, len(STAGES)))
    for j, stage in enumerate(STAGES):
        for path in benchmarks[stage]:
            wall[np.flatnonzero(steps == step_of(path)), j] += benchmark_seconds(path)
    ds = xr.Dataset(
        {
            "applied_displacement": (("step", "xyz"), applied, {"long_name": "prescribed displacement of the reaction face", "units": "m"}),
            "reaction_force": (("step", "xyz"), reaction, {"long_name": "reaction force on the reaction face", "units": "N"}),
            "residual_norm": ("step", residual, {"long_name": "out-of-balance force on free dofs", "units": "N"}),
            "md_updates": ("step", updates, {"long_name": "number of (qp, replica) MD updates run", "units": "1"}),
            "wall_time": (("step", "stage"), wall, {"long_name": "wall time of each stage (sum over its jobs)", "units": "s"}),
        },
        coords={
            "step": ("step", steps, {"long_name": "macroscale step", "units": "1"}),
            "stage": ("stage", np.array(STAGES), {"long_name": "workflow stage", "units": "1"}),
            **XYZ,
        },
    )
    write_dataset(ds, out_summary, "run summary")
