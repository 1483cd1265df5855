"""Run summary over steps: the load-displacement curve, MD work and stage wall times."""

from __future__ import annotations

import csv
import re

import numpy as np

from scema.io.datasets import STATISTICS, summary_dataset
from scema.io.netcdf import read_dataset, write_dataset

# fe_step includes the MD planning when clustering and committee are off; aggregate_stress the reaction
STAGES = ("fe_step", "md_batch", "aggregate_stress")


def benchmark_seconds(path: str) -> float:
    """Wall-clock seconds recorded by a Snakemake ``benchmark:`` file."""
    with open(path) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return float(rows[-1]["s"])


def step_of(path: str) -> int:
    """Step number encoded as ``step_NNNN`` in a workflow file name."""
    return int(re.search(r"step_(\d{4})", path).group(1))


def committee_variables(committee_files: list[str], sample_files: list[str], accuracy_pa: float) -> dict:
    """Per step (all materials together): committee answers, audits, their errors, suspensions,
    as ``summary_dataset`` takes them.

    Audit statistics are recomputed over the audited qps of every material from the step's
    training samples (the per-material ones are in each step's committee.nc), net of the same
    pooled MD noise (``scema.committee.noise``). The estimated pass fraction over the audits of
    steps 1..t, each material fitted on its own, is the one committee_update recorded in step
    t's committee.nc (``committee_update.pass_fractions``): refitting it here cost a bootstrap
    over the run's audits per step, O(steps^2) over a run. Records written before it was recorded
    are refitted as before (``committee_update.audit_pass_fraction``). The last step's is the run's.
    """
    from scema.committee.acceptance import net_error  # not the package: no torch (committee/__init__)
    from scema.stages.committee_record import audit_statistics
    from scema.stages.committee_update import audit_pass_fraction, audit_rows

    n = len(committee_files)
    trusted, audited, suspended = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    err, net = np.full((n, 3), np.nan), np.full((n, 3), np.nan)
    passed, lower = np.full(n, np.nan), np.full(n, np.nan)
    so_far = []
    for k, (path, sample_path) in enumerate(zip(committee_files, sample_files)):
        rec = read_dataset(path)
        trusted[k], suspended[k] = int(rec["n_trusted"].sum()), int(rec["suspended"].sum())
        samples = read_dataset(sample_path)
        so_far.append(audit_rows(samples))
        if "run_audit_pass_fraction_lower" in rec:
            passed[k], lower[k] = (float(rec[f"run_audit_pass_fraction_{v}"]) for v in ("estimated", "lower"))
        else:
            passed[k], lower[k] = audit_pass_fraction(
                *(np.concatenate([s[j] for s in so_far]) for j in range(3)), accuracy_pa
            )
        rows = samples["audited"].values == 1
        audited[k] = int(rows.sum())
        if rows.any():
            e = np.abs(samples["committee_stress"].values[rows] - samples["stress"].values[rows])
            for out, values in (
                (err, e.max(axis=1)),
                (net, net_error(e, samples["pooled_noise"].values[rows]).max(axis=1)),
            ):
                out[k] = audit_statistics(values)
    return {
        "statistics": STATISTICS,
        "trusted": trusted,
        "audited": audited,
        "suspended": suspended,
        "audit_error": err,
        "audit_net_error": net,
        "pass_fraction": passed,
        "pass_fraction_lower": lower,
    }


def run(
    reaction_files: list[str],
    face: str,
    schedule_files: list[str],
    benchmarks: dict[str, list[str]],
    out_summary: str,
    committee_files: list[str] | None = None,
    sample_files: list[str] | None = None,
    accuracy_pa: float = np.nan,
) -> None:
    """``benchmarks[stage]`` lists every benchmark file of that stage (any step); ``committee_files``
    and ``sample_files`` the committee record and training samples of every step when the
    committee is on; ``accuracy_pa`` the committee's stress accuracy."""
    n = len(reaction_files)
    steps = np.array([step_of(p) for p in reaction_files])
    reactions = [read_dataset(p).sel(boundary=face) for p in reaction_files]  # specimen.reaction_face
    reaction = np.stack([r["reaction_force"].values for r in reactions])
    out_of_balance = np.stack([r["out_of_balance_force"].values for r in reactions])
    estimator = reactions[0].attrs["reaction_estimator"]
    applied = np.stack([r["applied_displacement"].values for r in reactions])
    residual = np.array([float(read_dataset(p)["residual_norm"]) for p in reaction_files])
    updates = np.array([read_dataset(p).sizes["update"] for p in schedule_files])
    wall = np.zeros((n, len(STAGES)))
    for j, stage in enumerate(STAGES):
        for path in benchmarks[stage]:
            wall[np.flatnonzero(steps == step_of(path)), j] += benchmark_seconds(path)
    committee = committee_variables(committee_files, sample_files, accuracy_pa) if committee_files else None
    ds = summary_dataset(
        steps, STAGES, face, applied, (reaction, out_of_balance, estimator), residual, updates, wall, committee
    )
    write_dataset(ds, out_summary, "run summary")
