"""Let a finished Snakemake process exit when its work is done.

Two waits after the last job, both removed from ``onsuccess``:

1. Timers: Snakemake 9's job-rate limiter (``--max-jobs-per-timespan``, default 100/1s) arms a
non-daemon ``threading.Timer`` of one timespan after every scheduling round
(``JobScheduler._schedule_reevalutation``); when the last job has finished, the interpreter
still waits for those timers before it exits: about 1 s after every run, measured on a
two-job workflow (1.3 s from the last job's end to the exit; 0.3 s with the timers cancelled).
The timers only wake the scheduler loop, which has returned by the time ``onsuccess``/
``onerror`` run, so cancelling them loses nothing. The timespan cannot be shortened instead:
Snakemake reads "100ms" as 100 minutes.

2. The interpreter's teardown: Snakemake's process holds ~2,000 modules (pandas, sqlalchemy,
pydantic...); tearing them down took 0.45-0.7 s after ``onsuccess`` on a loaded machine
(a two-job workflow; 0.03 s without). ``exit_on_success_without_teardown`` arms an exit
handler that, once Snakemake has unlocked the directory, closed its log and called
``sys.exit(0)``, runs the other exit handlers, flushes and ends the process with status 0. Any
other exit (a failure after ``onsuccess``, ``sys.exit(1)``, an uncaught exception) is left to
the interpreter. Jobs end the same way (scema.job_exit).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

from scema.job_exit import flush_streams

_exit_status: list = []  # what sys.exit was called with, once armed
_armed: list = []


def cancel_pending_timers() -> int:
    """Cancel every pending ``threading.Timer`` of this process; return how many."""
    timers = [thread for thread in threading.enumerate() if isinstance(thread, threading.Timer)]
    for timer in timers:
        timer.cancel()
    return len(timers)


def exit_on_success_without_teardown() -> None:
    """From ``onsuccess``: end the process without the teardown if it exits with status 0."""
    if _armed:
        return
    _armed.append(True)
    exit = sys.exit

    def recording_exit(status=None):
        _exit_status.append(status)
        exit(status)

    sys.exit = recording_exit
    atexit.register(_exit_if_success)


def _exit_if_success() -> None:
    """First exit handler to run (registered last): the status is 0 only if ``sys.exit`` said so."""
    if not _exit_status or _exit_status[-1] not in (0, None):
        return
    atexit.unregister(_exit_if_success)
    atexit._run_exitfuncs()
    flush_streams()
    os._exit(0)
