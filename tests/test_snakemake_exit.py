"""A finished run exits without waiting for Snakemake's rate-limiter timers (scema.snakemake_exit)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import threading

import pytest

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


ARMED = """
import atexit, sys
from scema.snakemake_exit import exit_on_success_without_teardown

class Teardown:
    def __del__(self, open=open):  # builtins may be gone by then
        open("teardown", "w").close()

keep = Teardown()
atexit.register(lambda: open("atexit", "w").close())
exit_on_success_without_teardown()
"""


@pytest.mark.parametrize(
    "end, status, teardown",
    [
        ("sys.exit(0)", 0, False),
        ("sys.exit(3)", 3, True),
        ("raise RuntimeError('after onsuccess')", 1, True),
        ("", 0, True),
    ],
)
def test_only_an_exit_with_status_0_skips_the_teardown(tmp_path, end, status, teardown):
    """Armed, a sys.exit(0) ends without the teardown (the module-level finaliser does not run)
    but after the other exit handlers; any other end keeps its status and the usual teardown
    (falling off the end of a script does not call sys.exit: its status is not known)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    result = subprocess.run([sys.executable, "-c", ARMED + end], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == status, result.stderr
    assert (tmp_path / "atexit").exists()
    assert (tmp_path / "teardown").exists() == teardown


@pytest.mark.parametrize("armed", [True, False])
def test_a_finished_run_skips_the_teardown_after_unlocking(tmp_path, armed):
    """A real run with the Snakefile's onsuccess: status 0, the working directory unlocked, the
    Snakefile's own exit handler run, the teardown (a finaliser of the Snakefile's) not; it
    runs when onsuccess does not arm the exit."""
    (tmp_path / "Snakefile").write_text(
        "import atexit\n"
        "from scema.snakemake_exit import cancel_pending_timers, exit_on_success_without_teardown\n"
        "class Teardown:\n    def __del__(self, open=open):\n        open('teardown', 'w').close()\n"
        "keep = Teardown()\n"
        "atexit.register(lambda: open('atexit', 'w').close())\n"
        "rule all:\n    input: 'b'\n"
        "rule a:\n    output: 'a'\n    shell: 'touch {output}'\n"
        "rule b:\n    input: 'a'\n    output: 'b'\n    shell: 'touch {output}'\n"
        "onsuccess:\n    cancel_pending_timers()\n" + ("    exit_on_success_without_teardown()\n" if armed else "")
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    result = subprocess.run([str(SNAKEMAKE), "--cores", "1", "--quiet"], cwd=tmp_path, env=env, capture_output=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "b").exists() and (tmp_path / "atexit").exists()
    assert (tmp_path / "teardown").exists() != armed
    assert not list((tmp_path / ".snakemake" / "locks").glob("*"))
