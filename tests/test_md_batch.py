"""An MD batch: side-by-side workers give the one-process result; a killed batch resumes exactly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import REPO, small_config
from scema.config import validate_config
from scema.md.journal import Journal, Record, file_digest, update_key
from scema.stages.md_batch import finished_records, run

SCHEDULE = "results/step_0002/md_schedule.nc"
MATERIAL_FILES = {"copper": "results/materials/copper/material.nc"}
BATCH = "results/step_0002/md/batch_0.nc"


def copper_config() -> dict:
    cfg = validate_config(small_config(), search_dirs=[REPO])
    return cfg["materials"]["copper"]


def batch_workdir(tmp_path: Path, brute_force_run: Path) -> tuple[Path, xr.Dataset]:
    """A copy of the reference run without step 2's batch 0, its states and its journal; the reference batch."""
    workdir = tmp_path / "run"
    shutil.copytree(brute_force_run / "results", workdir / "results")
    reference = xr.open_dataset(brute_force_run / BATCH).load()
    (workdir / BATCH).unlink()
    (workdir / BATCH).with_suffix(".journal").unlink()
    for state in reference["state_file"].values:
        (workdir / str(state)).unlink()
    return workdir, reference


def assert_same_batch(workdir: Path, reference: xr.Dataset, brute_force_run: Path) -> None:
    """Bitwise: every stress, and every state file the batch wrote."""
    out = xr.open_dataset(workdir / BATCH).load()
    np.testing.assert_array_equal(out["qp_id"].values, reference["qp_id"].values)
    np.testing.assert_array_equal(out["stress"].values, reference["stress"].values)
    for state in reference["state_file"].values:
        assert (workdir / str(state)).read_bytes() == (brute_force_run / str(state)).read_bytes(), state


@pytest.mark.workflow
def test_side_by_side_workers_reproduce_the_serial_batch(tmp_path, brute_force_run, monkeypatch):
    workdir, reference = batch_workdir(tmp_path, brute_force_run)
    monkeypatch.chdir(workdir)
    run(SCHEDULE, 0, MATERIAL_FILES, {"copper": copper_config()}, BATCH, "lammps.log", processes=2)
    assert xr.open_dataset(BATCH).attrs["processes"] == 2
    assert_same_batch(workdir, reference, brute_force_run)

    # Snakemake killed while this job went on: its output is marked incomplete, and the next run
    # (rerun-incomplete) deletes it and runs the job again. The kept journal makes that free.
    journal = Journal(Path(BATCH).with_suffix(".journal")).read()
    states = [workdir / str(s) for s in reference["state_file"].values]
    assert len(journal) == len(states)
    assert {r.state_digest for r in journal.values()} == {file_digest(p) for p in states}
    mtimes = [p.stat().st_mtime_ns for p in states]
    Path(BATCH).unlink()
    run(SCHEDULE, 0, MATERIAL_FILES, {"copper": copper_config()}, BATCH, "rerun.lammps.log", processes=1)
    assert [p.stat().st_mtime_ns for p in states] == mtimes, "a finished update was run again"
    assert_same_batch(workdir, reference, brute_force_run)


STOP_TWICE = """
import signal, sys
sys.path.insert(0, {workflow!r})
from scema.md.supervisor import Workers
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as under PETSc's handler: a write to an exited worker ends us
with Workers({materials!r}, 1, "lammps.log") as workers:
    workers.stop()  # as md_batch.run does before it writes the batch file
    workers.slots[0].process.wait(timeout=120)  # the worker closed LAMMPS and left
print("closed")
"""


def test_workers_stopped_then_closed_write_nothing_to_an_exited_worker(tmp_path):
    """``Workers.close`` after ``stop`` (md_batch.run's order) sends no second stop message: it
    would go to a worker that has exited, fatal where SIGPIPE is not ignored (PETSc initialised)."""
    code = STOP_TWICE.format(workflow=str(REPO / "workflow"), materials={"copper": copper_config()})
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert (out.returncode, out.stdout.strip()) == (0, "closed"), out.stderr[-2000:]


RUNNER = """
import sys
sys.path.insert(0, {workflow!r})
from scema.stages.md_batch import run
if __name__ == "__main__":
    run({schedule!r}, 0, {files!r}, {materials!r}, {batch!r}, "killed.lammps.log", processes=1)
"""


@pytest.mark.workflow
def test_killed_batch_resumes_at_its_first_unfinished_update(tmp_path, brute_force_run, monkeypatch):
    workdir, reference = batch_workdir(tmp_path, brute_force_run)
    monkeypatch.chdir(workdir)
    materials = {"copper": copper_config()}
    script = workdir / "batch.py"
    script.write_text(
        RUNNER.format(
            workflow=str(REPO / "workflow"), schedule=SCHEDULE, files=MATERIAL_FILES, materials=materials, batch=BATCH
        )
    )
    journal = Journal(Path(BATCH).with_suffix(".journal"))
    proc = subprocess.Popen(
        [sys.executable, str(script)], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while len(journal.read()) < 3 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch job and its LAMMPS worker, like a pre-emption
    proc.wait()
    done = journal.read()
    n = reference.sizes["update"]
    assert not Path(BATCH).exists() and 3 <= len(done) < n, f"not killed mid-batch: {len(done)} of {n} journalled"
    states = {i: workdir / str(s) for i, s in enumerate(reference["state_file"].values)}
    mtimes = {i: p.stat().st_mtime_ns for i, p in states.items() if p.exists()}

    run(SCHEDULE, 0, MATERIAL_FILES, materials, BATCH, "resumed.lammps.log", processes=1)

    pairs = list(zip(reference["qp_id"].values.tolist(), reference["replica_id"].values.tolist()))
    journalled = {pairs.index((r.qp, r.replica)) for r in done.values()}
    assert all(states[i].stat().st_mtime_ns == mtimes[i] for i in journalled), "a finished update was run again"
    assert_same_batch(workdir, reference, brute_force_run)
    assert not list(Path("results").rglob("*.tmp")) and len(journal.read()) == n  # kept (see the journal's docstring)


def test_journal_drops_a_torn_line_and_keys_change_with_the_inputs(tmp_path):
    from scema.md.update import Update

    state = tmp_path / "in.data"
    state.write_text("state A\n")
    update = Update(
        "copper", 3, 1, state, np.full(6, 1e-3), np.diag([18.0, 18.0, 18.0]), np.zeros(6), tmp_path / "out.data", seed=7
    )
    material = {"sampling_steps": 100}
    key = update_key(update, material)
    journal = Journal(tmp_path / "batch_0.journal")
    journal.append(Record(key, 3, 1, (1.0e8, 0.1, -2.5e-300, 0.0, 1 / 3, 7.0), 0.25, 1, "d1"))
    with open(journal.path, "ab") as fh:  # a kill in the middle of the next line
        fh.write(b'{"key":"abc","qp":4,"rep')
    assert list(journal.read()) == [key]
    assert journal.read()[key].stress[4] == 1 / 3  # exact round trip
    journal = Journal(journal.path)  # the resumed process
    journal.append(Record("k2", 4, 0, (0.0,) * 6, 0.5, 0, "d2"))  # starts on its own line
    assert set(journal.read()) == {key, "k2"}

    assert update_key(update, {"sampling_steps": 200}) != key  # another material setting
    state.write_text("state B\n")
    assert update_key(update, material) != key  # another input state under the same name
    state.write_text("state A\n")
    assert update_key(update, material) == key


def test_a_journal_line_counts_only_while_its_state_file_holds_what_the_update_wrote(tmp_path):
    """A run with another config writes the same state names; going back to this config must not
    take the old lines whose files were since overwritten. Lines of the step's journals older
    than its plan count too (the step planned again with other batches), checked the same way."""
    from scema.md.update import Update

    updates, keys = [], []
    for q in range(3):
        (tmp_path / f"in{q}.data").write_text(f"input {q}\n")
        (tmp_path / f"out{q}.data").write_text(f"written by update {q}\n")
        updates.append(
            Update(
                "copper", q, 0, tmp_path / f"in{q}.data", np.zeros(6), np.eye(3), np.zeros(6), tmp_path / f"out{q}.data"
            )
        )
        keys.append(update_key(updates[-1], {}))
    own, other = Journal(tmp_path / "batch_0.journal"), Journal(tmp_path / "batch_1.journal")
    for q, journal in ((0, own), (1, own), (2, other)):
        journal.append(Record(keys[q], q, 0, (float(q),) * 6, 1.0, 0, file_digest(updates[q].state_out)))
    planned = other.path.stat().st_mtime + 1.0  # the step planned again after batch_1.journal was written
    assert {i: r.stress[0] for i, r in finished_records(updates, keys, own, planned).items()} == {
        0: 0.0,
        1: 1.0,
        2: 2.0,
    }
    current = other.path.stat().st_mtime - 1.0  # batch_1.journal is of the current plan: not read
    assert set(finished_records(updates, keys, own, current)) == {0, 1}

    (tmp_path / "out1.data").write_text("written by a run with another config\n")
    (tmp_path / "out2.data").unlink()
    assert set(finished_records(updates, keys, own, planned)) == {0}


HOLDER = """
import sys, time
sys.path.insert(0, {workflow!r})
from pathlib import Path
from scema.md.journal import Journal
with Journal({path!r}).locked():
    Path({ready!r}).touch()
    time.sleep(1.0)
    Path({released!r}).touch()
"""


def test_a_second_job_on_the_same_batch_waits_for_the_first(tmp_path, caplog):
    """An orphaned batch job (its Snakemake killed) and the next run's job for the same batch must
    not write side by side: the second one waits for the first's lock, then finds its journal."""
    path, ready, released = tmp_path / "batch_0.journal", tmp_path / "ready", tmp_path / "released"
    script = tmp_path / "holder.py"
    script.write_text(
        HOLDER.format(workflow=str(REPO / "workflow"), path=str(path), ready=str(ready), released=str(released))
    )
    holder = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.time() + 60
        while not ready.exists() and time.time() < deadline:
            time.sleep(0.01)
        assert ready.exists(), "the first job never took the lock"
        with caplog.at_level("INFO", logger="scema.md_batch"), Journal(path).locked():
            assert released.exists(), "entered while the first job held the lock"
        assert "locked by another job running this batch" in caplog.text
    finally:
        holder.wait(timeout=60)
    with Journal(path).locked():  # released with the holder's process: nothing left on disk to clean up
        pass


def test_a_halved_time_step_keeps_every_physical_duration():
    from scema.md.material import MaterialSpec
    from scema.md.supervisor import finer_timestep

    spec = MaterialSpec.from_config("copper", copper_config())
    fine = finer_timestep(spec, 2)
    assert fine.timestep == spec.timestep / 2
    for name in ("sampling_steps", "min_deform_steps", "thermostat_damping_steps", "equilibration_steps"):
        assert getattr(fine, name) * fine.timestep == getattr(spec, name) * spec.timestep, name
    assert fine.thermostat_damping == spec.thermostat_damping  # the same damping time in LAMMPS units
    strain = 0.01  # far above min_deform_steps: steps follow the strain rate
    assert fine.deform_steps(strain) * fine.timestep == pytest.approx(
        spec.deform_steps(strain) * spec.timestep, rel=1e-12
    )


# -- the supervisor's hand-out: a worker holds its next update, so it never waits for the journal --


def marker_runner(engine, spec, update):
    """Test double: no MD; marks the update as started, dies on qp -1, stress = qp in every component."""
    Path(f"{update.state_out}.started").touch()
    if update.qp == -1:
        os._exit(1)
    update.state_out.write_text(f"state of qp {update.qp}\n")
    return np.full(6, float(update.qp))


def fake_updates(tmp_path: Path, qps: list[int]) -> dict:
    from scema.md.update import Update

    return {
        i: Update("copper", q, 0, tmp_path / "in.data", np.zeros(6), np.eye(3), np.zeros(6), tmp_path / f"q{i}.data")
        for i, q in enumerate(qps)
    }


def test_a_worker_runs_its_next_update_while_the_supervisor_journals_the_last(tmp_path):
    from scema.md.supervisor import supervise

    updates = fake_updates(tmp_path, [0, 1, 2])
    started_meanwhile = {}

    def on_done(index, attempt, stress, seconds):  # a slow journal: wait (bounded) for the next update
        following = updates.get(index + 1)
        if following is not None:
            marker = Path(f"{following.state_out}.started")
            deadline = time.time() + 20
            while not marker.exists() and time.time() < deadline:
                time.sleep(0.01)
            started_meanwhile[index] = marker.exists()
        assert updates[index].state_out.read_text() == f"state of qp {updates[index].qp}\n"  # written before

    failures = supervise(
        updates, {"copper": copper_config()}, 1, tmp_path / "w.log", 0, lambda u, a: (u, 1), on_done, marker_runner
    )
    assert failures == [] and started_meanwhile == {0: True, 1: True}


def test_an_update_queued_behind_a_crash_goes_back_untried(tmp_path):
    from scema.md.supervisor import supervise

    updates = fake_updates(tmp_path, [5, -1, 7, 8])  # one worker: qp 7 is queued when qp -1 kills it
    done = {}
    failures = supervise(
        updates,
        {"copper": copper_config()},
        1,
        tmp_path / "w.log",
        1,
        lambda u, a: (u, 1),
        lambda i, attempt, stress, s: done.update({i: (attempt, stress[0])}),
        marker_runner,
    )
    assert [f.index for f in failures] == [1] and [a.number for a in failures[0].attempts] == [0, 1]
    assert done == {0: (0, 5.0), 2: (0, 7.0), 3: (0, 8.0)}  # first attempts, each its own result


# -- a worker is a lone MPI rank: no Open MPI singleton daemon ------------------------------------


def child_processes(pid: int) -> int:
    """How many processes have ``pid`` as their parent (from /proc)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        count += int(fields[1]) == pid
    return count


def children_runner(engine, spec, update):
    """Test double: no MD; stress[0] = the worker's child processes once its LAMMPS (and MPI) is up."""
    update.state_out.write_text("no state\n")
    return np.full(6, float(child_processes(os.getpid())))


def test_a_worker_starts_mpi_without_the_singleton_daemon(tmp_path):
    from scema.md.supervisor import supervise

    probe = "import os, lammps; lammps.lammps(cmdargs=['-screen', 'none', '-log', 'none']); print(os.getpid())"
    plain = subprocess.Popen([sys.executable, "-c", probe + "; import time; time.sleep(60)"], stdout=subprocess.PIPE)
    try:  # the control: a plain LAMMPS process under Open MPI's defaults starts a daemon (orted)
        plain.stdout.readline()
        if child_processes(plain.pid) == 0:
            pytest.skip("this MPI starts no singleton daemon: nothing to avoid")
    finally:
        plain.kill()
        plain.wait()
    done = {}
    updates = fake_updates(tmp_path, [0])
    supervise(
        updates,
        {"copper": copper_config()},
        1,
        tmp_path / "w.log",
        0,
        lambda u, a: (u, 1),
        lambda i, attempt, stress, s: done.update({i: stress[0]}),
        children_runner,
    )
    assert done == {0: 0.0}


# -- the sampling stride: the virial on every k-th step of the window, the same trajectory ----------


def test_a_strided_window_averages_every_kth_step_ending_at_the_last_and_keeps_the_trajectory(tmp_path):
    """Reference: the pressure of every step, written by a separate ``fix ave/time`` file during the
    same run. A ramp of 103 steps (not a multiple of the stride or the deform stride) exercises the
    shifted start. The same file records the box length before each step's jump (it is defined
    before fix deform): the box is at the target on every averaged step, not yet at the ramp's last."""
    from scema.md.engine import Engine, target_cell
    from scema.md.material import MaterialSpec
    from scema.md.units import pressure_to_pascal

    spec = MaterialSpec.from_config("copper", copper_config()).replace(sampling_steps=100)
    strain = np.array([0.0, 0.0, 103 * spec.strain_rate * spec.timestep, 0.0, 0.0, 0.0])
    columns = " ".join(f"c_thermo_press[{i}]" for i in (1, 2, 3, 6, 5, 4)) + " v_test_lz"
    with Engine() as engine:
        engine.build(spec)
        engine.create_velocities(spec.temperature, 11)
        engine.write_state(tmp_path / "in.data")
        reference = engine.box_matrix()
        for stride in (1, 5):
            engine.load(spec, tmp_path / "in.data")
            engine.nvt(spec, seed=3)
            series = tmp_path / f"series{stride}.txt"
            engine.commands(
                [
                    "reset_timestep 0",
                    "variable test_lz equal lz",
                    f'fix every all ave/time 1 1 1 {columns} file "{series}" format " %.17g"',
                ]
            )
            stress, n = engine.deform_and_sample(spec, target_cell(reference, strain), reference, 100, stride)
            engine.commands(["unfix every", "variable test_lz delete"])
            engine.write_state(tmp_path / f"out{stride}.data")
            table = np.loadtxt(series, comments="#")
            last = table[-1, 0]
            window = table[(table[:, 0] > last - 100) & ((last - table[:, 0]) % stride == 0)]
            # the last step ends a stride, the window's first step is the ramp's last jump
            assert n == 103 and last % stride == 0 and (last - 100) % spec.deform_stride == 0
            assert len(window) == 100 // stride
            lz, target_lz = table[:, 7], target_cell(reference, strain)[2, 2]
            assert np.all(lz[table[:, 0] > last - 100] == lz[-1]) and lz[-1] == pytest.approx(target_lz, rel=1e-14)
            assert lz[table[:, 0] == last - 100][0] < target_lz - 1e-5  # before the last jump
            expected = -window[:, 1:7].mean(axis=0) * pressure_to_pascal(spec.units)
            np.testing.assert_allclose(stress, expected, rtol=1e-6, atol=1e3)  # the file keeps 8 digits
    assert (tmp_path / "out1.data").read_text().split("\n", 1)[1] == (tmp_path / "out5.data").read_text().split(
        "\n", 1
    )[1]  # after the header's first line (a LAMMPS banner with the timestep): the same atoms, bitwise
