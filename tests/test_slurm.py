"""The workflow on a real (single-node) SLURM cluster, run as users type it: `snakemake --profile slurm`
with profiles/slurm installed by `make slurm-profile` (into a temporary XDG_CONFIG_HOME).

The cluster (munge, MariaDB, slurmdbd, slurmctld, slurmd) is started by tests/slurm_cluster.py
for this module and stopped at the end. Needs root on Debian; elsewhere the tests are skipped,
except under CI (CI=true), where not being able to run them is a failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import REPO, seed_materials, small_config, snakemake_cmd, write_config
from slurm_cluster import SlurmCluster, slurm_cluster_fixture  # noqa: F401 - provides the slurm_cluster fixture

RUN_TIMEOUT = 900  # s, for all three concurrent runs (about 3-4 min expected on 2 idle cores)
SLURM_RULES = {"initial_state", "fe_step", "md_batch", "aggregate_stress", "summary"}


def install_profile(xdg_config_home: Path, cluster: SlurmCluster, status_command: str | None = None) -> Path:
    """Install profiles/slurm as a user does (`make slurm-profile`), into a private XDG_CONFIG_HOME.

    Then only the test cluster's polling is made quicker (and, for one run, the status command
    changed): partition and account come from the make target itself.
    """
    env = {**os.environ, "XDG_CONFIG_HOME": str(xdg_config_home)}
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(REPO),
            "slurm-profile",
            f"SLURM_PARTITION={cluster.partition}",
            f"SLURM_ACCOUNT={cluster.account}",
        ],
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    installed = xdg_config_home / "snakemake" / "slurm" / "config.yaml"
    with open(installed) as fh:
        profile = yaml.safe_load(fh)
    assert profile["default-resources"]["slurm_partition"] == cluster.partition
    assert profile["default-resources"]["slurm_account"] == cluster.account
    profile["slurm-init-seconds-before-status-checks"] = 2
    if status_command:
        profile["slurm-status-command"] = status_command
    profile["latency-wait"] = 5  # one local disk, no NFS delay
    with open(installed, "w") as fh:
        yaml.safe_dump(profile, fh, sort_keys=False)
    return xdg_config_home


def slurm_config() -> dict:
    """The small config, one step: every rule still runs as a SLURM job, and the plugin's
    fixed delays (5 s per sbatch, status polling back-off) are paid for half as many jobs."""
    cfg = small_config()
    cfg["run"]["steps"] = 1
    return cfg


LAST_STEP = "0001"


def slurm_cmd(workdir: Path, cluster: SlurmCluster, status_command: str | None = None) -> tuple[list[str], dict]:
    """The user's command, `snakemake --profile slurm ...`, and its environment."""
    config_path = write_config(workdir, slurm_config())
    xdg = install_profile(workdir.parent / f"{workdir.name}_xdg", cluster, status_command)
    # as a user runs it: the installed profile by name, profiles/default loaded as workflow profile
    cmd = snakemake_cmd(workdir, config_path)
    cmd[1:1] = ["--profile", "slurm"]
    return cmd, {**cluster.env, "XDG_CONFIG_HOME": str(xdg)}


def failure_report(workdir: Path, cluster: SlurmCluster, stderr: str) -> str:
    logs = []
    for d in ("logs", ".snakemake/slurm_logs"):
        if (workdir / d).exists():
            logs += [f"--- {p}:\n{p.read_text(errors='replace')[-2000:]}" for p in sorted((workdir / d).rglob("*.log"))]
    queue = cluster.run("squeue", "-a", check=False).stdout
    return f"{stderr[-6000:]}\n{chr(10).join(logs[-12:])}\nsqueue:\n{queue}\n{cluster.diagnostics()}"


def run_id(stderr: str) -> str:
    match = re.search(r"SLURM run ID: (\S+)", stderr)
    assert match, f"no 'SLURM run ID' in the Snakemake output:\n{stderr[-3000:]}"
    return match.group(1)


def sacct_jobs(cluster: SlurmCluster, name: str) -> list[dict]:
    out = cluster.run(
        "sacct",
        "-X",
        "--parsable2",
        "--noheader",
        "--clusters",
        "all",
        "--starttime",
        "now-1days",
        "--name",
        name,
        "--format=JobIdRaw,JobName,State,Comment,Partition,Account",
    ).stdout
    keys = ["id", "name", "state", "comment", "partition", "account"]
    return [dict(zip(keys, line.split("|"))) for line in out.splitlines() if line.strip()]


def rule_of(job: dict) -> str:
    match = re.match(r"rule_(.+?)(_wildcards_.*)?$", job["comment"])
    assert match, job
    return match.group(1)


def load(path: Path, var: str) -> np.ndarray:
    with xr.open_dataset(path) as ds:
        return ds[var].values.copy()


def assert_same_results(workdir: Path, reference: Path) -> None:
    for rel, var in ((f"results/step_{LAST_STEP}/stress.nc", "stress"), ("results/summary.nc", "reaction_force")):
        got, want = load(workdir / rel, var), load(reference / rel, var)
        assert got.shape == want.shape and got.dtype == want.dtype, rel
        np.testing.assert_array_equal(got, want, err_msg=f"{rel}:{var} differs between SLURM and local runs")


def expected_job_count(workdir: Path) -> int:
    """Jobs of a run whose materials were seeded: initial_state, 2 rules per step (fe_step, which
    plans the MD, and aggregate_stress), the batches, summary."""
    steps = slurm_config()["run"]["steps"]
    batches = len(list((workdir / "results").glob("step_*/md/batch_*.nc")))
    return 1 + 2 * steps + batches + 1


class Run:
    """One Snakemake run in the background, its output in a file."""

    def __init__(self, name: str, workdir: Path, cmd: list[str], env: dict[str, str]):
        self.name, self.workdir = name, workdir
        self.log_path = workdir.parent / f"{workdir.name}.snakemake.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.cancelled: tuple[str, str] | None = None  # (SLURM job id, comment) we scancel-ed

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def finish(self, deadline: float) -> None:
        try:
            self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()  # the SLURM plugin may ignore SIGTERM
            self.proc.wait(timeout=30)


def cancel_first_md_batch(run: Run, cluster: SlurmCluster, step: str, deadline: float) -> None:
    """scancel the first md_batch job of ``step`` of this run as soon as SLURM runs it."""
    while run.cancelled is None and run.proc.poll() is None and time.monotonic() < deadline:
        queue = cluster.run("squeue", "-h", "-o", "%i|%T|%Z|%k", check=False).stdout
        for line in queue.splitlines():
            job_id, state, workdir, comment = line.split("|", 3)
            if (
                state == "RUNNING"
                and Path(workdir) == run.workdir
                and comment.startswith(f"rule_md_batch_wildcards_{step}_")
            ):
                cluster.run("scancel", job_id)
                run.cancelled = (job_id, comment)
                return
        time.sleep(0.3)


@pytest.fixture(scope="module")
def runs(slurm_cluster, copper_cache, tmp_path_factory) -> dict[str, Run]:
    """The same small config three times, concurrently (the SLURM runs mostly wait on polling):
    locally without profile (the reference), on SLURM with sacct polling, and on SLURM with the
    shipped profile where one MD batch is cancelled with scancel."""
    base = tmp_path_factory.mktemp("slurm_runs")
    runs = {}
    for name in ("local", "slurm", "cancel"):
        workdir = base / name
        seed_materials(workdir, copper_cache)
        if name == "local":
            cmd, env = snakemake_cmd(workdir, write_config(workdir, slurm_config())), slurm_cluster.env
        elif name == "slurm":
            # the plugin's default status polling (sacct, i.e. slurmdbd), as most clusters use it
            cmd, env = slurm_cmd(workdir, slurm_cluster, status_command="sacct")
        else:
            # the shipped profile as is (squeue polling: with sacct, plugin 2.6.1 never notices a
            # cancelled job, it reads "CANCELLED by 0" as running)
            cmd, env = slurm_cmd(workdir, slurm_cluster)
        runs[name] = Run(name, workdir, cmd, env)
    deadline = time.monotonic() + RUN_TIMEOUT
    watcher = threading.Thread(target=cancel_first_md_batch, args=(runs["cancel"], slurm_cluster, LAST_STEP, deadline))
    watcher.start()
    for run in runs.values():
        run.finish(deadline)
    watcher.join()
    return runs


def check_finished(run: Run, cluster: SlurmCluster) -> None:
    assert run.proc.returncode == 0, f"{run.name} run failed ({run.proc.returncode}):\n" + failure_report(
        run.workdir, cluster, run.output
    )


@pytest.mark.slurm
@pytest.mark.workflow
def test_workflow_runs_under_slurm_and_matches_a_local_run(runs, slurm_cluster):
    check_finished(runs["local"], slurm_cluster)
    run = runs["slurm"]
    check_finished(run, slurm_cluster)

    jobs = sacct_jobs(slurm_cluster, run_id(run.output))
    completed = [j for j in jobs if j["state"] == "COMPLETED"]
    # one SLURM job per workflow job (a failed one would have been resubmitted by the profile)
    assert len(completed) >= expected_job_count(run.workdir), jobs
    assert len({j["comment"] for j in completed}) == len(completed), jobs
    assert SLURM_RULES <= {rule_of(j) for j in completed}, jobs
    assert {j["partition"] for j in jobs} == {slurm_cluster.partition}
    assert {j["account"] for j in jobs} == {slurm_cluster.account}
    assert_same_results(run.workdir, runs["local"].workdir)


@pytest.mark.slurm
@pytest.mark.workflow
def test_cancelled_md_batch_is_resubmitted_and_results_are_unchanged(runs, slurm_cluster):
    check_finished(runs["local"], slurm_cluster)
    run = runs["cancel"]
    assert run.cancelled, f"never saw a running md_batch job of step {LAST_STEP} to cancel:\n" + run.output[-3000:]
    check_finished(run, slurm_cluster)

    jobs = sacct_jobs(slurm_cluster, run_id(run.output))
    job_id, comment = run.cancelled
    by_id = {j["id"]: j for j in jobs}
    assert by_id[job_id]["state"].startswith("CANCELLED"), by_id[job_id]
    retried = [j for j in jobs if j["comment"] == comment and int(j["id"]) > int(job_id)]
    assert [j["state"] for j in retried] == ["COMPLETED"], (run.cancelled, jobs)
    assert f"SLURM-job '{job_id}' failed, SLURM status is: 'CANCELLED'" in run.output
    assert "Trying to restart job" in run.output
    assert_same_results(run.workdir, runs["local"].workdir)
