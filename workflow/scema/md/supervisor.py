"""Run MD updates in worker processes, so a LAMMPS crash costs one attempt of one update.

Why: the Debian LAMMPS library has no C++ exceptions; a LAMMPS error (lost atoms, a truncated
state file) ends the process that called it, silently. Each worker (a fresh interpreter started
with ``python -c`` that imports only this module: no LAMMPS or MPI state inherited, and unlike a
multiprocessing spawn it does not re-import the caller's main script, e.g. Snakemake's script
preamble) keeps one serial LAMMPS instance for many updates.
Each worker holds at most ``DEPTH`` updates over its pipe: the one it runs and the next, so it
never waits for the supervisor between updates (reading the next NetCDF state, writing the last
one and the journal's fsync, the pipe round trip, the progress line happen while it already
runs the next one: ``scema.md.state``), and the
supervisor still knows which update a dead worker was running: the oldest one not answered; the
queued one goes back to the queue untried. The worker's LAMMPS log holds the error text; it is kept under a name
saying which update and attempt it belongs to, and a fresh worker takes the slot. A failed
update is tried again (the caller's ``variant`` says how: a new seed, a finer time step) up to
``max_retries`` times; then it is reported back, and the other updates go on.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import numpy as np

from ..io.atomic import fsync_path
from ..parallel import SINGLETON_MPI
from .engine import Engine
from .material import MaterialSpec
from .state import State, StateExchange, is_netcdf_state, read_state, write_state
from .update import run_update

_ERROR_LINE = re.compile(r"^ERROR.*$", re.MULTILINE)
# This many updates failing every attempt before any succeeded means a broken setup (a missing
# potential file, a bad template): stop instead of trying hundreds of updates three times each.
SYSTEMATIC = 3
# Updates in flight per worker: the one running and the one it starts next without a round trip.
DEPTH = 2


@dataclass
class Attempt:
    """One try of an update: its number (0 = as scheduled), thermostat seed, time-step divisor."""

    number: int
    seed: int
    timestep_divisor: int
    error: str = ""
    log: str = ""


@dataclass
class Failure:
    """An update that failed every attempt."""

    index: int
    update: Any
    attempts: list[Attempt] = field(default_factory=list)


def finer_timestep(spec: MaterialSpec, divisor: int) -> MaterialSpec:
    """The material with its MD time step divided by ``divisor`` and every ``*_steps`` count
    multiplied by it: the same physical durations (deformation, damping, sampling) in finer steps."""
    if divisor == 1:
        return spec
    counts = {f.name: getattr(spec, f.name) * divisor for f in dataclasses.fields(spec) if f.name.endswith("_steps")}
    return spec.replace(timestep=spec.timestep / divisor, **counts)


def lammps_error(log: Path) -> str:
    """The last ``ERROR ...`` line of a LAMMPS log, or '' when there is none."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    found = _ERROR_LINE.findall(text)
    return found[-1].strip() if found else ""


def _work(conn, materials: dict[str, dict], log: str, runner: Callable) -> None:
    """Worker loop: (index, update, divisor, state in) in, ("done", stress, seconds, state out) or
    ("error", text) out, in the order the tasks came in. NetCDF states (``scema.md.state``) pass
    in memory both ways, the supervisor reads and writes their files; a data file the worker
    wrote the supervisor fsyncs."""
    specs = {name: MaterialSpec.from_config(name, cfg) for name, cfg in materials.items()}
    tasks: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_receive, args=(conn, tasks), daemon=True).start()
    with Engine(log=Path(log)) as engine:
        engine.exchange = exchange = StateExchange()
        while True:
            task = tasks.get()
            if task is None:  # told to stop, or the supervisor is gone
                return
            _, update, divisor, state_in = task
            exchange.incoming.clear()
            exchange.outgoing.clear()
            if state_in is not None:
                exchange.incoming[update.state_in] = state_in
            start = time.perf_counter()
            try:
                update.state_out.parent.mkdir(parents=True, exist_ok=True)
                stress = np.asarray(
                    runner(engine, finer_timestep(specs[update.material], divisor), update), dtype=float
                )
                if not np.all(np.isfinite(stress)):
                    raise FloatingPointError(f"non-finite stress {stress.tolist()}")
            except Exception as error:  # a Python-side failure: report it, keep the worker
                conn.send(("error", f"{type(error).__name__}: {error}".replace("\n", " ")))
            else:
                conn.send(("done", stress, time.perf_counter() - start, exchange.outgoing.get(update.state_out)))


def _receive(conn, tasks: queue.SimpleQueue) -> None:
    """Take the supervisor's messages as they come (None last). A task holds its input state
    (1.5 MB at 23,000 atoms), more than a socket buffer: read only between updates, the
    supervisor's send of the next task would wait for this worker's run to end while the
    worker's reply waited for the supervisor to read, each blocked on the other."""
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the supervisor is gone
            task = None
        tasks.put(task)
        if task is None:
            return


def prefetch(path: Path) -> State | None:
    """The NetCDF state an update starts from, read here so its worker does not; None for a data
    file, or when it cannot be read (the worker then tries and reports why, as an update error)."""
    if not is_netcdf_state(path):
        return None
    try:
        return read_state(path)
    except (OSError, ValueError):
        return None


def serve(fd: int) -> None:
    """A worker's entry point: its set-up (materials, LAMMPS log, runner) is the first message.

    Once its LAMMPS is closed (log flushed) the worker leaves at once: the interpreter's own
    clean-up (every module, numpy's included) took longer than closing LAMMPS and is of no use to
    a process that writes nothing more; the supervisor waits for the exit.
    """
    conn = Connection(fd)
    materials, log, runner = conn.recv()
    _work(conn, materials, log, runner)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class _Slot:
    """One worker process and its LAMMPS log; restarted after a crash."""

    def __init__(self, log: Path, materials: dict[str, dict], runner: Callable) -> None:
        self.log, self.materials, self.runner = log, materials, runner
        self.process: subprocess.Popen | None = None
        self.conn: Connection | None = None
        self.told_to_stop = False

    def send(self, task: tuple) -> None:
        """Hand a task over; a worker is (re)started only once its crash was handled (``crashed``),
        so tasks still in flight on a dead one are never mistaken for a new worker's."""
        if self.process is None:
            self.start()
        try:
            self.conn.send(task)
        except (BrokenPipeError, ConnectionResetError):
            pass  # dead already: ``wait`` sees EOF and the crash path takes every task in flight

    def start(self) -> None:
        parent, child = socket.socketpair()
        fd = child.fileno()
        code = f"import sys; sys.path[:0] = {sys.path!r}; from scema.md.supervisor import serve; serve({fd})"
        # One OpenBLAS thread: numpy's first 3x3 inverse starts a pool whose idle thread spins,
        # measured at ~45 % of a core per worker during every LAMMPS run (taken from the other
        # worker or batch on a small machine); the worker's algebra is 3x3, never worth a thread.
        env = {**SINGLETON_MPI, **os.environ, "OPENBLAS_NUM_THREADS": "1"}  # a user's OMPI_MCA_* win
        self.process = subprocess.Popen([sys.executable, "-c", code], pass_fds=[fd], env=env)
        child.close()  # the worker's end lives in the worker only: its death is EOF here
        self.conn = Connection(parent.detach())
        self.told_to_stop = False
        self.conn.send((self.materials, str(self.log), self.runner))

    def crashed(self, update: Any, attempt: Attempt) -> None:
        """Record why the worker died (its log's ERROR line) and keep the log under the update's name."""
        self.process.wait()
        code = self.process.returncode
        self.conn.close()
        self.process = self.conn = None
        out = Path(update.state_out)
        for tmp in out.parent.glob(f".{glob.escape(out.name)}.*.tmp"):  # its write cut short (atomic_path's name)
            tmp.unlink(missing_ok=True)
        kept = self.log.with_name(f"{self.log.name}.qp{update.qp}.replica{update.replica}.attempt{attempt.number}")
        if self.log.is_file():
            self.log.replace(kept)
        attempt.log = str(kept)
        attempt.error = lammps_error(kept) or f"worker exited with code {code} and no LAMMPS ERROR line in its log"

    def stop(self) -> None:
        """Tell the worker to finish (it closes LAMMPS and exits on its own, see :meth:`join`).

        Once only: a batch stops its workers before writing its file and closes them after, and a
        second message would go to a worker that has exited. That write raises BrokenPipeError only
        while SIGPIPE is ignored; in a process where PETSc was initialised (dolfinx imported) its
        signal handler aborted the process instead."""
        if self.conn is not None and not self.told_to_stop:
            self.told_to_stop = True
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass

    def join(self) -> None:
        if self.process is None or self.conn is None:
            return
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait()
        self.conn.close()
        self.process = self.conn = None


class Workers:
    """``processes`` worker slots, all started at once.

    A batch job creates them first thing, so their start-up (interpreter, imports, LAMMPS and MPI
    initialisation: ~0.5 s, as long as a plain ``lmp`` start) overlaps the job's own imports and
    input reading instead of preceding its first update. Worker k logs LAMMPS to ``lammps_log``
    (k = 0) or ``lammps_log.k``.
    """

    def __init__(
        self, materials: dict[str, dict], processes: int, lammps_log: str | Path, runner: Callable = run_update
    ) -> None:
        base = Path(lammps_log)
        self.slots = [
            _Slot(base if k == 0 else base.with_name(f"{base.name}.{k}"), materials, runner)
            for k in range(max(1, processes))
        ]
        for slot in self.slots:
            slot.start()

    def stop(self) -> None:
        """Tell every worker to finish; they shut LAMMPS down side by side while the caller goes on."""
        for slot in self.slots:
            slot.stop()

    def close(self) -> None:
        self.stop()
        for slot in self.slots:
            slot.join()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def supervise(
    updates: dict[int, Any],
    materials: dict[str, dict],
    processes: int,
    lammps_log: str | Path,
    max_retries: int,
    variant: Callable[[Any, int], tuple[Any, int]],
    on_done: Callable[[int, int, np.ndarray, float], None],
    runner: Callable = run_update,
    workers: Workers | None = None,
) -> list[Failure]:
    """Run ``updates`` (index -> Update) on ``processes`` workers; the failures, in index order.

    ``variant(update, attempt)`` gives the update (seed) and time-step divisor of an attempt;
    ``on_done(index, attempt, stress, seconds)`` is called in this process as each one finishes,
    once its state file is fsynced (the worker already runs its next update meanwhile).
    After ``SYSTEMATIC`` failed updates and no success the remaining ones are not started.
    ``runner(engine, spec, update)``: the update itself, importable by its module's name (the
    worker unpickles it; a function of a ``__main__`` script is not);
    ``workers``: already started :class:`Workers` to use (their runner; the caller closes them);
    by default ``min(processes, len(updates))`` are started here and closed at the end.
    """
    if not updates:
        return []
    own = workers is None
    if own:
        workers = Workers(materials, min(processes, len(updates)), lammps_log, runner)
    slots = workers.slots
    pending = deque((index, 0) for index in updates)
    busy: dict[_Slot, deque[tuple[int, Attempt, Any]]] = {slot: deque() for slot in slots}
    history: dict[int, list[Attempt]] = {}
    failures, succeeded = [], 0

    def hand_out(slot: _Slot) -> None:
        """Fill the worker's queue; a second update only while every other worker could still get
        one: near the end an update queued behind a running one would wait while a worker idles."""
        while pending and (not busy[slot] or (len(busy[slot]) < DEPTH and len(pending) > len(slots))):
            index, number = pending.popleft()
            update, divisor = variant(updates[index], number)
            slot.send((index, update, divisor, prefetch(update.state_in)))
            busy[slot].append((index, Attempt(number, int(update.seed), divisor), update))

    try:
        while pending or any(busy.values()):
            for slot in slots:
                hand_out(slot)
            by_conn = {slot.conn: slot for slot in slots if busy[slot]}
            for conn in wait(list(by_conn)):
                slot = by_conn[conn]
                index, attempt, update = busy[slot].popleft()
                try:
                    message = conn.recv()
                except (EOFError, ConnectionError):  # the worker died: LAMMPS error, signal, out of memory
                    slot.crashed(updates[index], attempt)
                    message = ("crash",)
                    while busy[slot]:  # queued behind the crash, never started: back to the queue, untried
                        queued, untried, _ = busy[slot].pop()
                        pending.appendleft((queued, untried.number))
                if message[0] == "done":
                    hand_out(slot)  # the worker goes on at once; what follows overlaps its next update
                    if message[3] is not None:  # durable before the journal says it is done
                        try:
                            write_state(update.state_out, message[3])
                        except OSError as error:  # a full disk: the journalled updates stay done
                            raise OSError(
                                f"writing the state of qp {update.qp}, replica {update.replica} to "
                                f"{update.state_out} failed: {error}"
                            ) from error
                    else:
                        fsync_path(update.state_out)
                    succeeded += 1
                    on_done(index, attempt.number, message[1], message[2])
                    continue
                if message[0] == "error":
                    attempt.error, attempt.log = message[1], str(slot.log)
                history.setdefault(index, []).append(attempt)
                if attempt.number < max_retries:
                    pending.appendleft((index, attempt.number + 1))
                else:
                    failures.append(Failure(index, updates[index], history[index]))
                    if len(failures) >= SYSTEMATIC and not succeeded:  # a broken setup, not a bad update
                        pending.clear()
    finally:
        if own:
            workers.close()
    return sorted(failures, key=lambda f: f.index)
