"""One MD batch job: run its scheduled updates (method section 3), resumable and fault-contained.

Updates run in worker processes, each with one serial LAMMPS instance for many updates
(``md.processes_per_batch`` of them side by side, so a job uses all the cores it is given),
under a supervisor (scema.md.supervisor) that attributes a LAMMPS crash to its update and
retries it. Each finished update is journalled at once (scema.md.journal), so a killed job
resumes at its first unfinished update and writes the same ``batch_{b}.nc``. An update that
fails every retry is recorded in ``batch_{b}.failed.json`` and stops the step with one line;
the batch's other updates stay journalled and are not run again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scema.io.atomic import atomic_path
from scema.md.journal import Journal, Record, file_digest, update_key
from scema.md.supervisor import Failure, Workers, supervise
from scema.md.update import Update
from scema.seeds import lammps_seed

if TYPE_CHECKING:
    import xarray as xr

log = logging.getLogger("scema.md_batch")


class UpdateFailed(RuntimeError):
    """An MD update failed every retry; the message is the one line a user sees."""


def build_updates(rows: xr.Dataset, names: list[str], materials: dict[str, xr.Dataset]) -> list[Update]:
    """The batch's updates: each box goes to the cell of its qp's total strain (``target_strain``)
    built from its replica's ``reference_cell`` in material.nc, minus that replica's reference stress."""
    updates = []
    for k in range(rows.sizes["update"]):
        name = names[int(rows["material"].values[k])]
        replica = int(rows["replica_id"].values[k])
        updates.append(
            Update(
                material=name,
                qp=int(rows["qp_id"].values[k]),
                replica=replica,
                state_in=Path(str(rows["state_in"].values[k])),
                target_strain=rows["target_strain"].values[k],
                reference_cell=materials[name]["reference_cell"].values[replica],
                reference_stress=materials[name]["reference_stress"].values[replica],
                state_out=Path(str(rows["state_out"].values[k])),
                seed=int(rows["seed"].values[k]),
            )
        )
    return updates


def retry_variant(step: int, run_seed: int):
    """How attempt ``a`` of an update runs: 0 as scheduled; 1 with a new thermostat seed;
    a >= 2 also with the MD time step divided by 2**(a-1) (same physical time, more steps)."""

    def variant(update: Update, attempt: int) -> tuple[Update, int]:
        if attempt == 0:
            return update, 1
        seed = lammps_seed(run_seed, "update_retry", step, update.qp, update.replica, attempt)
        return dataclasses.replace(update, seed=seed), 2 ** max(0, attempt - 1)

    return variant


class Progress:
    """``update k/n``, rate and ETA lines in the rule log, so a long job visibly moves."""

    def __init__(self, label: str, total: int, finished: int) -> None:
        self.label, self.total, self.finished, self.ran = label, total, finished, 0
        self.start = time.monotonic()
        log.info("%s: %d updates, %d already finished (journal), %d to run", label, total, finished, total - finished)

    def advance(self, update: Update, attempt: int, seconds: float) -> None:
        self.finished += 1
        self.ran += 1
        rate = self.ran / max(time.monotonic() - self.start, 1e-9)
        eta = timedelta(seconds=round((self.total - self.finished) / rate))
        retry = f", retry {attempt}" if attempt else ""
        log.info(
            "%s: update %d/%d (qp %d, replica %d%s) %.2f s; %.2f updates/min, ETA %s",
            self.label,
            self.finished,
            self.total,
            update.qp,
            update.replica,
            retry,
            seconds,
            60 * rate,
            eta,
        )


def remove_stale_temporaries(updates: list[Update], out_batch: Path) -> None:
    """Temporary files a killed run of this batch left (state and batch writes cut short)."""
    for path in [u.state_out for u in updates] + [out_batch]:
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):
            tmp.unlink(missing_ok=True)


def finished_records(updates: list[Update], keys: list[str], journal: Journal, planned: float) -> dict[int, Record]:
    """The updates already done (index -> record): journalled under the same key, with their
    state file still holding what they wrote (its digest). The batch's own journal first; for
    updates not in it, the step's journals older than its plan (``planned``: the schedule's
    mtime), so a step planned again with other batches (``md.batches`` changed) reruns no
    finished update: keys do not depend on the batching. Journals of the current plan are not
    read: each update is in one batch only (on a first run no other journal is read at all)."""
    found: dict[int, Record] = {}

    def take(journalled: dict[str, Record]) -> None:
        for i, key in enumerate(keys):
            record = journalled.get(key)
            if i in found or record is None or not updates[i].state_out.is_file():
                continue
            if file_digest(updates[i].state_out) == record.state_digest:
                found[i] = record

    take(journal.read())
    for other in sorted(journal.path.parent.glob("*.journal")):
        if len(found) == len(updates):
            break
        if other != journal.path and other.stat().st_mtime < planned:
            take(Journal(other).read())
    return found


def failure_message(step: int, batch: int, failures: list[Failure], not_run: int, record: Path) -> str:
    """The one line naming the first failed update, its material and its LAMMPS error."""
    first = failures[0]
    u, last = first.update, first.attempts[-1]
    more = f"; {len(failures) - 1} more failed updates" if len(failures) > 1 else ""
    if not_run:
        more += f"; {not_run} updates not started: every update tried failed (a broken setup?)"
    return (
        f"md_batch step {step} batch {batch}: MD update of qp {u.qp}, replica {u.replica}, material "
        f"{u.material} failed {len(first.attempts)} attempts ({len(first.attempts) - 1} retries): "
        f"{last.error} (LAMMPS log {last.log}; record {record}{more})"
    )


def write_failures(path: Path, step: int, batch: int, failures: list[Failure]) -> None:
    entries = [
        {
            "step": step,
            "batch": batch,
            "update": f.index,
            "qp": f.update.qp,
            "replica": f.update.replica,
            "material": f.update.material,
            "state_in": str(f.update.state_in),
            "state_out": str(f.update.state_out),
            "attempts": [dataclasses.asdict(a) for a in f.attempts],
        }
        for f in failures
    ]
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(entries, indent=1) + "\n")


def run(
    schedule_path: str,
    batch: int,
    material_files: dict[str, str],
    materials: dict[str, dict],
    out_batch: str,
    lammps_log: str,
    processes: int = 1,
    max_retries: int = 2,
    run_seed: int = 0,
) -> None:
    """Run (or finish) batch ``batch`` of a step's schedule and write ``out_batch``.

    ``materials``: config entries of the materials in ``material_files`` (rule params);
    ``run_seed``: the run's master seed, for the retry thermostat seeds. The workers start first:
    xarray and netCDF4 are imported only then, so the workers' start-up (~0.5 s) overlaps these
    imports (~0.5 s) and the input reading.
    """
    out = Path(out_batch)
    with Workers(materials, processes, lammps_log) as workers:
        from scema.io.datasets import md_batch_dataset
        from scema.io.netcdf import read_dataset, write_dataset

        schedule = read_dataset(schedule_path)
        step = int(schedule.attrs["step"])
        rows = schedule.isel(update=np.flatnonzero(schedule["batch"].values == batch))
        names = str(rows["material"].attrs["flag_meanings"]).split()
        updates = build_updates(rows, names, {name: read_dataset(path) for name, path in material_files.items()})
        journal, failed = Journal(out.with_suffix(".journal")), out.with_suffix(".failed.json")
        with journal.locked():
            remove_stale_temporaries(updates, out)
            keys = [update_key(u, materials[u.material]) for u in updates]
            records = finished_records(updates, keys, journal, Path(schedule_path).stat().st_mtime)
            finished = len(records)
            progress = Progress(f"step {step} batch {batch}", len(updates), finished)

            def on_done(index: int, attempt: int, stress: np.ndarray, seconds: float) -> None:
                u = updates[index]
                records[index] = Record(
                    keys[index],
                    u.qp,
                    u.replica,
                    tuple(float(s) for s in stress),
                    float(seconds),
                    attempt,
                    file_digest(u.state_out),
                )
                journal.append(records[index])
                progress.advance(u, attempt, seconds)

            todo = {i: u for i, u in enumerate(updates) if i not in records}
            processes = len(workers.slots)
            variant = retry_variant(step, run_seed)
            failures = supervise(todo, materials, processes, lammps_log, max_retries, variant, on_done, workers=workers)
            workers.stop()  # they shut LAMMPS down while the batch file is written
            if failures:
                write_failures(failed, step, batch, failures)
                raise UpdateFailed(
                    failure_message(
                        step, batch, failures, len(todo) - len(failures) - (len(records) - finished), failed
                    )
                )
            ds = md_batch_dataset(rows, [records[i] for i in range(len(updates))], step, int(batch), int(processes))
            write_dataset(ds, out, f"MD batch {batch}, step {step}")
            failed.unlink(missing_ok=True)
