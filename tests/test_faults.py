"""Injected faults: a failing MD update is contained, retried, then named; nothing else is lost.

Run alone with ``pytest -m faults``.
"""

from __future__ import annotations

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
from scema.md.journal import Journal
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
    """A copy of the reference run without step 2's batch 0 and the states it writes."""
    shutil.copytree(brute_force_run / "results", tmp_path / "results")
    monkeypatch.chdir(tmp_path)
    for state in read_dataset(brute_force_run / BATCH)["state_file"].values:
        Path(str(state)).unlink()
    Path(BATCH).unlink()
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


def assert_named_failure(error: UpdateFailed, rows: xr.Dataset, lammps_text: str) -> dict:
    """One line naming step, qp, replica, material and the LAMMPS error; the record beside the batch."""
    line = str(error)
    qp, replica = int(rows["qp_id"].values[VICTIM]), int(rows["replica_id"].values[VICTIM])
    assert "\n" not in line
    for part in ("step 2", f"qp {qp},", f"replica {replica},", "material copper", "ERROR", lammps_text):
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
    assert_named_failure(error.value, rows, "data file")
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


def _md_batch_half_done(workdir: Path) -> bool:
    """Some batch of step 2 has journalled two updates and not finished."""
    return any(len(Journal(j).read()) >= 2 for j in (workdir / "results/step_0002/md").glob("batch_*.journal"))


def _aggregate_started(workdir: Path) -> bool:
    return (workdir / "logs/aggregate_stress/step_0002.log").exists()


@pytest.mark.slow
@pytest.mark.parametrize("boundary", [_md_batch_half_done, _aggregate_started], ids=["md_batch", "aggregate_stress"])
def test_run_killed_at_a_stage_boundary_resumes_to_the_uninterrupted_result(
    tmp_path, copper_cache, brute_force_run, boundary
):
    from conftest import kill_run_when, resume_run, seed_materials

    cfg = small_config()
    seed_materials(tmp_path, copper_cache)
    config_path = kill_run_when(tmp_path, cfg, lambda: boundary(tmp_path), poll=0.005)
    assert not (tmp_path / "results/summary.nc").exists(), "not killed mid-run"
    results = tmp_path / "results"
    journalled = [Path(str(s)) for j in results.rglob("batch_*.journal") for s in _journalled_states(j)]
    finished = [p for p in results.rglob("*") if p.is_file() and not p.name.startswith(".") and p.suffix != ".journal"]
    mtimes = {p: p.stat().st_mtime_ns for p in finished + [tmp_path / p for p in journalled]}

    resume_run(tmp_path, cfg, config_path)

    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes, "a finished file was written again"
    for step in (1, 2):
        name = f"results/step_{step:04d}/stress.nc"
        a, b = _open(brute_force_run / name), _open(tmp_path / name)
        for var in a.data_vars:
            np.testing.assert_array_equal(a[var].values, b[var].values, err_msg=f"{name}:{var}")
    a, b = _open(brute_force_run / "results/summary.nc"), _open(tmp_path / "results/summary.nc")
    for var in set(a.data_vars) - {"wall_time"}:
        np.testing.assert_array_equal(a[var].values, b[var].values, err_msg=f"summary.nc:{var}")
    leftovers = [p for p in results.rglob("*") if p.name.endswith((".tmp", ".journal", ".failed.json"))]
    assert not leftovers, leftovers


def _journalled_states(journal: Path) -> list[str]:
    """State files of the updates a journal holds (state names follow qp and replica)."""
    rows = read_dataset(journal.parent.parent / "md_schedule.nc")
    by_pair = {
        (int(q), int(r)): str(s)
        for q, r, s in zip(rows["qp_id"].values, rows["replica_id"].values, rows["state_out"].values)
    }
    return [by_pair[(rec.qp, rec.replica)] for rec in Journal(journal).read().values()]
