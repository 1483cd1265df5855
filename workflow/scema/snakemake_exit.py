"""Let a finished Snakemake process exit when its work is done.

Snakemake 9's job-rate limiter (``--max-jobs-per-timespan``, default 100/1s) arms a
non-daemon ``threading.Timer`` of one timespan after every scheduling round
(``JobScheduler._schedule_reevalutation``); when the last job has finished, the interpreter
still waits for those timers before it exits: about 1 s after every run, measured on a
two-job workflow (1.3 s from the last job's end to the exit; 0.3 s with the timers cancelled).
The timers only wake the scheduler loop, which has returned by the time ``onsuccess``/
``onerror`` run, so cancelling them loses nothing. The timespan cannot be shortened instead:
Snakemake reads "100ms" as 100 minutes.
"""

from __future__ import annotations

import threading


def cancel_pending_timers() -> int:
    """Cancel every pending ``threading.Timer`` of this process; return how many."""
    timers = [thread for thread in threading.enumerate() if isinstance(thread, threading.Timer)]
    for timer in timers:
        timer.cancel()
    return len(timers)
