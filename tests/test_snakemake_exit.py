"""A finished run exits without waiting for Snakemake's rate-limiter timers (scema.snakemake_exit)."""

from __future__ import annotations

import inspect
import os
import subprocess
import threading

from conftest import REPO, SNAKEMAKE
from scema.snakemake_exit import cancel_pending_timers


def test_pending_timers_are_cancelled_and_other_threads_left_alone():
    fired = threading.Event()
    timer = threading.Timer(60.0, fired.set)
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    timer.start()
    worker.start()
    try:
        assert cancel_pending_timers() >= 1
        timer.join(timeout=10.0)
        assert not timer.is_alive() and not fired.is_set()
        assert worker.is_alive()
    finally:
        stop.set()
        worker.join()


def test_snakemake_still_arms_a_timer_per_scheduling_round():
    """The workaround is needed while Snakemake's scheduler wakes itself with a threading.Timer."""
    from snakemake.scheduling.job_scheduler import JobScheduler

    assert "threading.Timer" in inspect.getsource(JobScheduler._schedule_reevalutation)


def test_a_finished_run_has_timers_pending_that_onsuccess_cancels(tmp_path):
    """On a real two-job run, onsuccess finds Snakemake's timers still pending: without the
    cancel the interpreter would wait for them before it exits."""
    (tmp_path / "Snakefile").write_text(
        "from scema.snakemake_exit import cancel_pending_timers\n"
        "rule all:\n    input: 'b'\n"
        "rule a:\n    output: 'a'\n    shell: 'touch {output}'\n"
        "rule b:\n    input: 'a'\n    output: 'b'\n    shell: 'touch {output}'\n"
        "onsuccess:\n    open('cancelled', 'w').write(str(cancel_pending_timers()))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    subprocess.run([str(SNAKEMAKE), "--cores", "1", "--quiet"], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert int((tmp_path / "cancelled").read_text()) >= 1
