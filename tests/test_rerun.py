"""A changed config reruns exactly what it affects: each rule's config slice is a params rerun trigger.

One finished run (``accelerated_run``: clustering and committee on, 2 steps), copied; then
``snakemake --dry-run`` with a changed config lists the jobs it would run, parsed from its output.
A dry run stops at a checkpoint that will rerun: md_batch jobs of a step appear only when that
step's schedule (written by committee_query here, the last stage before the MD) is not rewritten,
and a rewritten schedule makes its batches rerun (newer input).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, accelerated_config, small_config, snakemake_cmd, write_config

pytestmark = pytest.mark.workflow

STEP_RULES = ["fe_step", "cluster", "committee_query", "aggregate_stress"]


def planned_jobs(workdir, cfg, *targets: str) -> dict[tuple[str, str | None], str]:
    """(rule, step) -> reason of every job a dry run with ``cfg`` would run (step None: no step)."""
    config_path = write_config(workdir, cfg)
    cmd = snakemake_cmd(workdir, config_path, "--dry-run", *targets)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    jobs, job = {}, None
    for line in proc.stdout.splitlines():
        head = re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):$", line)
        field = re.match(r"^\s+(\w+): (.*)$", line)
        if head:
            job = (head.group(1), None)
            jobs[job] = ""
        elif job is not None and field and field.group(1) == "reason":
            jobs[job] = field.group(2)[:200]
        elif job is not None and field and field.group(1) == "wildcards":
            step = re.search(r"\bstep=(\d{4})", field.group(2))
            if step:
                jobs[(job[0], step.group(1))] = jobs.pop(job)
                job = (job[0], step.group(1))
        elif not line.strip():
            job = None
    if not jobs:
        assert "Nothing to be done" in proc.stdout, proc.stdout[-2000:]
    return jobs


def assert_plan(workdir, cfg, expected: set) -> None:
    jobs = planned_jobs(workdir, cfg)
    assert set(jobs) == expected, {job: reason for job, reason in jobs.items() if job not in expected}


@pytest.fixture
def finished(tmp_path, accelerated_run):
    """A copy of the finished reference run (mtimes and Snakemake's records kept)."""
    shutil.copytree(accelerated_run, tmp_path / "run", symlinks=True)
    return tmp_path / "run"


# the whole-run outputs that read every step: the summary (with the run's plots) and ParaView fields
RUN_END = {("summary", None), ("paraview_fields", None), ("all", None)}


def test_a_changed_setting_reruns_exactly_the_rules_that_read_it_and_what_follows(finished):
    cfg = accelerated_config()
    assert_plan(finished, cfg, set())
    cfg["md"]["processes_per_batch"] = 2  # worker count: threads, not a result-changing param
    assert_plan(finished, cfg, set())

    bc = accelerated_config()
    bc["specimen"]["boundary_conditions"][1]["increment"][2] *= 1.5
    per_step = STEP_RULES + ["committee_update"]
    expected = {(r, s) for r in per_step for s in ("0001", "0002")} | RUN_END
    # initial_state writes the boundaries' nodes for the reaction; never material_init, committee_start
    assert_plan(finished, bc, expected | {("initial_state", None)})

    face = accelerated_config()
    face["specimen"]["reaction_face"] = "zmin"
    # reaction.nc holds every constrained boundary's reaction: the summary picks the face (the
    # ParaView fields read no reaction)
    assert_plan(finished, face, RUN_END - {("paraview_fields", None)})

    batches = accelerated_config()
    batches["md"]["batches"] = 3
    # only the rule that plans the MD reads md.batches (committee_query, the last stage before the
    # MD with the committee on): step 1 reruns from its query, not its FE or clusters; step 2
    # follows step 1's new stresses
    step_2 = {(r, "0002") for r in STEP_RULES + ["committee_update"]}
    step_1 = {("committee_query", "0001"), ("aggregate_stress", "0001"), ("committee_update", "0001")}
    assert_plan(finished, batches, step_1 | step_2 | RUN_END)

    stride = accelerated_config()
    stride["materials"]["copper"]["sampling_stride"] = 10
    # only the updates average with the stride: every step's MD and all after it rerun (step 1
    # from its kept schedule), never material_init (its windows sample every step)
    step_1 = {("md_batch", "0001"), ("aggregate_stress", "0001"), ("committee_update", "0001")}
    assert_plan(finished, stride, step_1 | step_2 | {("md_batch", "0002")} | RUN_END)

    size = accelerated_config()
    size["committee"]["size"] = 3
    # the committee first trains (uses its size) in committee_update of step 1: nothing of step 1
    # before it reruns (no fe_step, cluster, query, schedule or md_batch of step 1); step 2 asks
    # the retrained committee, so its query (which writes the schedule) and everything after it
    # rerun, but not its FE or clusters
    assert_plan(
        finished,
        size,
        {
            ("committee_update", "0001"),
            ("committee_query", "0002"),
            ("aggregate_stress", "0002"),
            ("committee_update", "0002"),
        }
        | RUN_END,
    )


def test_a_changed_material_setting_reruns_its_replica_jobs_and_their_combination(tmp_path, copper_cache) -> None:
    """The material's own run (copper_cache's directory, with Snakemake's records): its MD settings
    rerun every material_replica job and material_init; the updates' sampling_stride and the FE's
    stiffness_symmetry rerun nothing of it."""
    run = tmp_path / "run"
    shutil.copytree(copper_cache.parent.parent, run, symlinks=True)
    target = "results/materials/copper/material.nc"
    cfg = small_config()
    assert planned_jobs(run, cfg, target) == {}
    for key, value in (("sampling_stride", 10), ("stiffness_symmetry", "isotropic")):
        changed = small_config()
        changed["materials"]["copper"][key] = value
        assert planned_jobs(run, changed, target) == {}, key
    changed = small_config()
    changed["materials"]["copper"]["reference_sampling_steps"] *= 2
    jobs = planned_jobs(run, changed, target)
    assert set(jobs) == {("material_replica", None), ("material_init", None)}, jobs
    assert "params" in jobs[("material_replica", None)].lower()


def test_the_material_jobs_read_their_templates_and_potential_as_inputs(tmp_path) -> None:
    """The structure and force-field templates and the potential file are inputs of the jobs that
    run a material's MD (their params see only the paths), so an edited template or potential
    reruns the material, and everything after it, by Snakemake's mtime trigger."""
    cfg = small_config()
    cfg["committee"] = {"enabled": True}  # the 0 K law of the cubic copper: material_zero_kelvin
    cmd = snakemake_cmd(tmp_path, write_config(tmp_path, cfg), "--dry-run")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    inputs = dict(re.findall(r"^rule (material_replica|material_zero_kelvin):\n\s+input: (.*)$", out, re.M))
    copper = cfg["materials"]["copper"]
    expected = {"structure.lmp", "forcefield.lmp", Path(copper["variables"]["potential_file"]).name}
    assert set(inputs) == {"material_replica", "material_zero_kelvin"}, out[-2000:]
    for rule, listed in inputs.items():
        assert {Path(f).name for f in listed.split(", ")} == expected, (rule, listed)
        assert str(REPO / copper["forcefield"]) in listed.split(", "), (rule, listed)


@pytest.mark.workflow
def test_settings_of_a_disabled_acceleration_rerun_nothing(tmp_path, brute_force_run):
    """The brute-force run (both accelerations off): their settings are read by no job. The
    summary took the committee's accuracy always (for its audit figures) and reran."""
    run = tmp_path / "run"
    shutil.copytree(brute_force_run, run, symlinks=True)
    cfg = small_config()
    assert not cfg.get("committee", {}).get("enabled") and not cfg.get("clustering", {}).get("enabled")
    assert_plan(run, cfg, set())
    cfg.setdefault("committee", {})["stress_accuracy_mpa"] = 12.5
    cfg.setdefault("clustering", {})["alpha"] = 0.5
    assert_plan(run, cfg, set())
