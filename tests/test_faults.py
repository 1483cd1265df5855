"""Injected faults: a failing MD update is contained, retried, then named; nothing else is lost.

Run alone with ``pytest -m faults``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import REPO, small_config
from scema.config import validate_config
from scema.io.netcdf import read_dataset, write_dataset
from scema.md.journal import Journal, file_digest
from scema.md.supervisor import supervise
from scema.md.update import run_update
from scema.stages.md_batch import UpdateFailed, build_updates, retry_variant, run

pytestmark = pytest.mark.faults

SCHEDULE = "results/step_0002/md_schedule.nc"
MATERIAL_FILES = {"copper": "results/materials/copper/material.nc"}
BATCH = "results/step_0002/md/batch_0.nc"
VICTIM = 3  # the update of batch 0 that the fault hits


def copper_config(**changes) -> dict:
    cfg = validate_config(small_config(), search_dirs=[REPO])["materials"]["copper"]
    cfg.update(changes)
    return cfg


@pytest.fixture
def workdir(tmp_path, brute_force_run, monkeypatch) -> Path:
    """A copy of the reference run without step 2's batch 0, the states it writes and its journal."""
    shutil.copytree(brute_force_run / "results", tmp_path / "results")
    monkeypatch.chdir(tmp_path)
    for state in read_dataset(brute_force_run / BATCH)["state_file"].values:
        Path(str(state)).unlink()
    Path(BATCH).unlink()
    Path(BATCH).with_suffix(".journal").unlink()
    return tmp_path


def batch_rows() -> xr.Dataset:
    schedule = read_dataset(SCHEDULE)
    return schedule.isel(update=np.flatnonzero(schedule["batch"].values == 0))


def state_mtimes() -> dict[str, int]:
    return {str(s): Path(str(s)).stat().st_mtime_ns for s in batch_rows()["state_out"].values if Path(str(s)).exists()}


def run_batch(materials: dict, log: str) -> None:
    run(
        SCHEDULE,
        0,
        MATERIAL_FILES,
        materials,
        BATCH,
        log,
        processes=1,
        max_retries=2,
        run_seed=small_config()["run"]["seed"],
    )


def assert_named_failure(error: UpdateFailed, rows: xr.Dataset, lammps_text: str, lammps: bool = True) -> dict:
    """One line naming step, qp, replica, material and the error (LAMMPS's ERROR line when
    ``lammps``); the record beside the batch."""
    line = str(error)
    qp, replica = int(rows["qp_id"].values[VICTIM]), int(rows["replica_id"].values[VICTIM])
    assert "\n" not in line
    for part in (
        "step 2",
        f"qp {qp},",
        f"replica {replica},",
        "material copper",
        "ERROR" if lammps else "",
        lammps_text,
    ):
        assert part in line, (part, line)
    record = json.loads(Path(BATCH).with_suffix(".failed.json").read_text())
    assert [(r["qp"], r["replica"]) for r in record] == [(qp, replica)]
    attempts = record[0]["attempts"]
    assert [a["number"] for a in attempts] == [0, 1, 2]  # max_update_retries = 2
    assert len({a["seed"] for a in attempts}) == 3  # each retry with a new thermostat seed
    assert [a["timestep_divisor"] for a in attempts] == [1, 1, 2]  # then a halved time step
    assert all(lammps_text in a["error"] and Path(a["log"]).is_file() for a in attempts)
    return record[0]


def assert_others_kept(rows: xr.Dataset) -> None:
    journal = Journal(Path(BATCH).with_suffix(".journal")).read()
    kept = {(r.qp, r.replica) for r in journal.values()}
    pairs = list(zip(rows["qp_id"].values.tolist(), rows["replica_id"].values.tolist()))
    assert kept == set(pairs) - {pairs[VICTIM]}
    assert not Path(BATCH).exists()


def test_truncated_state_file_is_retried_named_and_the_batch_finishes_once_it_is_repaired(workdir, brute_force_run):
    rows = batch_rows()
    state_in = Path(str(rows["state_in"].values[VICTIM]))
    intact = state_in.read_bytes()
    state_in.write_bytes(intact[: len(intact) // 3])  # a disk that filled up
    materials = {"copper": copper_config()}
    with pytest.raises(UpdateFailed) as error:
        run_batch(materials, "first.lammps.log")
    assert state_in.suffix == ".nc"  # a qp state of an earlier step (NetCDF): named by our reader, not LAMMPS
    assert_named_failure(error.value, rows, f"{state_in}: not a readable MD state file", lammps=False)
    assert_others_kept(rows)

    before = state_mtimes()
    state_in.write_bytes(intact)
    run_batch(materials, "second.lammps.log")
    assert state_mtimes().items() >= before.items(), "a finished update was run again"
    reference = read_dataset(brute_force_run / BATCH)
    out = read_dataset(BATCH)
    np.testing.assert_array_equal(out["stress"].values, reference["stress"].values)
    assert out["retries"].values.tolist() == [0] * rows.sizes["update"]
    assert not Path(BATCH).with_suffix(".failed.json").exists()


def test_strain_increment_that_loses_atoms_is_retried_then_named_and_nothing_else_reruns(workdir):
    schedule = read_dataset(SCHEDULE)
    victim = int(np.flatnonzero(schedule["batch"].values == 0)[VICTIM])
    for name in ("strain_increment", "target_strain"):  # a 90 % compression in a few tens of steps
        schedule[name].values[victim, 0] -= 0.9
    write_dataset(schedule, SCHEDULE, "MD schedule with one broken update")
    materials = {"copper": copper_config(strain_rate=1.0e13)}
    rows = batch_rows()
    with pytest.raises(UpdateFailed) as error:
        run_batch(materials, "first.lammps.log")
    assert_named_failure(error.value, rows, "atoms")
    assert_others_kept(rows)

    before = state_mtimes()
    with pytest.raises(UpdateFailed) as again:  # Snakemake's retry: only the broken update runs
        run_batch(materials, "second.lammps.log")
    assert "atoms" in str(again.value)
    assert state_mtimes() == before, "a finished update was run again"


def crash_on_scheduled_seed(engine, spec, update):
    """Test double: the process dies (as LAMMPS ends it) on the victim's first attempt only."""
    if f"{update.qp},{update.replica},{update.seed}" == os.environ["SCEMA_TEST_CRASH"]:
        os._exit(1)
    return run_update(engine, spec, update)


def test_a_crash_is_attributed_to_its_update_which_succeeds_with_a_new_seed(workdir, brute_force_run, monkeypatch):
    rows = batch_rows()
    reference = read_dataset(brute_force_run / BATCH)["stress"].values
    names = str(rows["material"].attrs["flag_meanings"]).split()
    updates = build_updates(rows, names, {"copper": read_dataset(MATERIAL_FILES["copper"])})
    victim = updates[VICTIM]
    monkeypatch.setenv("SCEMA_TEST_CRASH", f"{victim.qp},{victim.replica},{victim.seed}")
    done = {}
    failures = supervise(
        dict(enumerate(updates)),
        {"copper": copper_config()},
        2,
        "crash.lammps.log",
        2,
        retry_variant(2, small_config()["run"]["seed"]),
        lambda i, attempt, stress, seconds: done.update({i: (attempt, stress)}),
        runner=crash_on_scheduled_seed,
    )
    assert failures == [] and sorted(done) == list(range(len(updates)))
    assert done[VICTIM][0] == 1  # the second attempt, with a new seed
    assert not np.array_equal(done[VICTIM][1], reference[VICTIM])  # another trajectory, same physics:
    band = np.std(reference[0::2] - reference[1::2], axis=0)  # replica-to-replica spread (rows: r0, r1 per qp)
    assert np.all(np.abs(done[VICTIM][1] - reference[VICTIM]) < 5 * band)
    others = [i for i in done if i != VICTIM]
    np.testing.assert_array_equal([done[i][1] for i in others], reference[others])  # the rest bitwise
    assert all(done[i][0] == 0 for i in others)
    assert list(Path(".").glob(f"crash.lammps.log*.qp{victim.qp}.replica{victim.replica}.attempt0"))


# -- the whole run killed (process group, like a crash or a pre-empted node) at a stage boundary --


def _open(path: Path) -> xr.Dataset:
    with xr.open_dataset(path) as ds:
        return ds.load()


def _journalled_states(journal: Path) -> list[str]:
    """State files of the updates a journal holds (state names follow qp and replica)."""
    rows = read_dataset(journal.parent.parent / "md_schedule.nc")
    by_pair = {
        (int(q), int(r)): str(s)
        for q, r, s in zip(rows["qp_id"].values, rows["replica_id"].values, rows["state_out"].values)
    }
    return [by_pair[(rec.qp, rec.replica)] for rec in Journal(journal).read().values()]


# -- one run killed at every stage boundary in turn, then finished: equal to the uninterrupted run --


def _running(rule: str, output: str):
    """A job of ``rule`` (any step) started in the current attempt and has not written ``output`` yet."""

    def condition(workdir: Path, since: float) -> bool:
        for log in (workdir / "logs" / rule).glob("step_*.log"):
            step = log.stem.removeprefix("step_")
            if log.stat().st_mtime > since and not (workdir / f"results/step_{step}" / output).exists():
                return True
        return False

    return condition


def _material_replica_running(workdir: Path, since: float) -> bool:
    """LAMMPS has started on a copper replica (its log exists) and material.nc is not written."""
    return (
        any((workdir / "logs/material_replica").glob("copper_replica_*.lammps.log"))
        and not (workdir / "results/materials/copper/material.nc").exists()
    )


def _md_batch_half_done(workdir: Path, since: float) -> bool:
    """A batch has journalled two of its updates in the current attempt and not finished."""
    return any(
        j.stat().st_mtime > since and len(Journal(j).read()) >= 2
        for j in (workdir / "results").glob("step_*/md/*.journal")
    )


def _committee_training(workdir: Path, since: float) -> bool:
    """A committee version directory is being built (atomic_directory's hidden temporary)."""
    return any(p.stat().st_mtime > since for p in (workdir / "results/committee/copper").glob(".v*"))


CHAIN = [  # in the order the jobs first start
    ("material_replica", _material_replica_running),
    ("fe_step", _running("fe_step", "strain.nc")),
    ("cluster", _running("cluster", "clusters.nc")),
    ("committee_query", _running("committee_query", "committee_query.nc")),  # it also plans the MD
    ("md_batch", _md_batch_half_done),
    ("aggregate_stress", _running("aggregate_stress", "stress.nc")),
    ("committee_update", _committee_training),
]


def _finished_files(workdir: Path) -> dict[Path, int]:
    """Results that look finished, with their mtimes: not hidden, not a journal, not a replica's
    temporary measurement (deleted once material.nc holds it), and not an output of a job
    Snakemake marked incomplete (killed between two of its outputs' renames)."""
    import base64

    markers = workdir / ".snakemake" / "incomplete"
    incomplete = {
        workdir / base64.urlsafe_b64decode(m.name).decode()
        for m in (markers.iterdir() if markers.is_dir() else [])
        if not m.name.startswith("@")
    }
    done_states = {
        workdir / s for j in (workdir / "results").glob("step_*/md/*.journal") for s in _journalled_states(j)
    }
    for batch in (workdir / "results").glob("step_*/md/batch_*.nc"):
        if batch not in incomplete:
            done_states |= {workdir / str(s) for s in read_dataset(batch)["state_file"].values}
    return {
        p: p.stat().st_mtime_ns
        for p in (workdir / "results").rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(workdir).parts)
        and p.suffix != ".journal"
        and p not in incomplete
        and (p.parent.name != "state" or p in done_states)  # a state file before its update is journalled
        and not (p.parent.parent.name == "materials" and p.match("replica_*.nc"))  # temporary: material.nc holds it
    }


@pytest.mark.slow
def test_run_killed_at_each_stage_boundary_in_turn_finishes_equal_to_the_uninterrupted_run(tmp_path, accelerated_run):
    """SIGKILL of the process group during each stage, then ``--unlock`` and the same command."""
    import subprocess
    import time

    from conftest import accelerated_config, kill_run_when, resume_run, snakemake_cmd

    cfg = accelerated_config()
    finished: dict[Path, int] = {}
    config_path = None
    for name, condition in CHAIN:
        if config_path is not None:
            subprocess.run(snakemake_cmd(tmp_path, config_path, "--unlock"), check=True, capture_output=True)
        since = time.time()
        config_path = kill_run_when(tmp_path, cfg, functools.partial(condition, tmp_path, since), poll=0.005)
        assert not (tmp_path / "results/summary.nc").exists(), f"{name}: not killed mid-run"
        finished |= {p: m for p, m in _finished_files(tmp_path).items() if p not in finished}
    resume_run(tmp_path, cfg, config_path)

    rerun = [str(p.relative_to(tmp_path)) for p, m in finished.items() if p.stat().st_mtime_ns != m]
    assert not rerun, f"finished files written again: {rerun}"
    for step in (1, 2):
        name = f"results/step_{step:04d}/stress.nc"
        a, b = _open(accelerated_run / name), _open(tmp_path / name)
        for var in a.data_vars:
            np.testing.assert_array_equal(a[var].values, b[var].values, err_msg=f"{name}:{var}")
    a, b = _open(accelerated_run / "results/summary.nc"), _open(tmp_path / "results/summary.nc")
    assert set(a.data_vars) == set(b.data_vars)
    for var in set(a.data_vars) - {"wall_time"}:
        np.testing.assert_array_equal(a[var].values, b[var].values, err_msg=f"summary.nc:{var}")
    # Snakemake marks a finished directory output (a replica's rest states) with .snakemake_timestamp
    hidden = [p for p in (tmp_path / "results").rglob(".*") if p.name != ".snakemake_timestamp"]
    leftovers = hidden + [p for p in (tmp_path / "results").rglob("*") if p.name.endswith(".failed.json")]
    assert not leftovers, leftovers
    journals = sorted((tmp_path / "results").glob("step_*/md/*.journal"))
    assert journals and all(Journal(j).read() for j in journals), "journals are kept, each with its updates"
    for journal in journals:  # each line names its state file as the update wrote it
        for record, state in zip(Journal(journal).read().values(), _journalled_states(journal)):
            assert file_digest(tmp_path / state) == record.state_digest, f"{state} is not as {journal} says"


def test_a_second_snakemake_in_a_running_directory_stops_with_the_lock_message_and_touches_nothing(
    tmp_path, copper_cache
):
    """The first run is frozen (SIGSTOP) while the second tries, so any change is the second's."""
    import signal
    import subprocess
    import time

    from conftest import seed_materials, snakemake_cmd, write_config

    seed_materials(tmp_path, copper_cache)
    config_path = write_config(tmp_path, small_config())
    first = subprocess.Popen(
        snakemake_cmd(tmp_path, config_path),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 300
        while not (tmp_path / "logs/initial_state/step_0000.log").exists() and first.poll() is None:
            assert time.time() < deadline
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGSTOP)
        before = _tree(tmp_path)
        second = subprocess.run(snakemake_cmd(tmp_path, config_path), capture_output=True, text=True)
        after = _tree(tmp_path)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert second.returncode != 0
    assert "Directory cannot be locked" in second.stderr, second.stderr[-2000:]
    assert after == before


def _tree(workdir: Path) -> dict[str, int]:
    """Every path of a run directory with its mtime, except Snakemake's own per-invocation log."""
    snakemake_log = workdir / ".snakemake" / "log"
    return {
        str(p.relative_to(workdir)): p.stat().st_mtime_ns
        for p in workdir.rglob("*")
        if snakemake_log not in p.parents and p != snakemake_log
    }
