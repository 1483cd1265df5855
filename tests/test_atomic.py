"""Atomic writes are also durable: content flushed before the rename, the directory entry after.

The order matters after a node crash or power loss: a renamed file whose content was not yet on
disk comes back empty under its final name, which Snakemake would take as finished. The fsync
calls are recorded (a test double of os.fsync inside this unit test; the files are real).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import pytest

from scema.io.atomic import _temp_name, atomic_directory, atomic_path
from scema.md.supervisor import Attempt, _Slot
from scema.md.update import Update


@pytest.fixture
def fsyncs(monkeypatch):
    """The path of every fsync, in order; ``fsyncs.final`` (set by a test) is a path whose
    existence at each fsync is recorded in ``fsyncs.seen``: before or after the rename."""

    class Calls(list):
        final: Path | None = None
        seen: list[bool]

    calls = Calls()
    calls.seen = []
    real = os.fsync

    def record(fd: int) -> None:
        calls.append(os.readlink(f"/proc/self/fd/{fd}"))
        calls.seen.append(calls.final is not None and calls.final.exists())
        real(fd)

    monkeypatch.setattr(os, "fsync", record)
    return calls


def test_a_file_is_flushed_before_its_rename_and_its_directory_after(tmp_path, fsyncs):
    final = tmp_path / "result.nc"
    fsyncs.final = final
    with atomic_path(final) as tmp:
        tmp.write_bytes(b"complete")
    assert final.read_bytes() == b"complete"
    assert len(fsyncs) == 2, fsyncs
    content, directory = fsyncs
    assert Path(content).parent == tmp_path and Path(content).name.startswith(".result.nc."), "not the temporary"
    assert directory == str(tmp_path)
    assert fsyncs.seen == [False, True], "the content before the rename, the directory after it"


def test_a_writer_whose_caller_flushes_skips_both(tmp_path, fsyncs):
    with atomic_path(tmp_path / "state.data", durable=False) as tmp:
        tmp.write_bytes(b"state")
    assert fsyncs == [] and (tmp_path / "state.data").read_bytes() == b"state"


def test_a_directory_is_flushed_whole_before_it_appears(tmp_path, fsyncs):
    final = tmp_path / "rest"
    fsyncs.final = final
    with atomic_directory(final) as tmp:
        (tmp / "state_000.data").write_bytes(b"a")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b").write_bytes(b"b")
        building = tmp
    names = [Path(p) for p in fsyncs]
    assert names[:4] == [building / "sub" / "b", building / "sub", building / "state_000.data", building]
    assert names[4:] == [tmp_path]
    assert fsyncs.seen == [False] * 4 + [True], "the tree before the rename, the parent after it"
    assert (final / "sub" / "b").read_bytes() == b"b"


def test_a_crashed_worker_s_cut_short_state_write_is_removed(tmp_path):
    """A worker killed inside write_data leaves atomic_path's hidden temporary (a random name);
    the supervisor removes it with the crash, not only the next batch at its start."""
    out = tmp_path / "qp0000001_r00.data"
    leftover = _temp_name(out)  # the name atomic_path gave the write that SIGKILL cut short
    leftover.write_bytes(b"half a state")
    other = tmp_path / ".qp0000002_r00.data.a1b2c3.tmp"  # another update's write, still going
    other.write_bytes(b"")
    slot = _Slot(tmp_path / "lammps.log", {}, print)
    slot.process = subprocess.Popen([sys.executable, "-c", "pass"])
    ours, theirs = socket.socketpair()
    theirs.close()
    slot.conn = Connection(ours.detach())
    update = Update("copper", 1, 0, tmp_path / "in.data", np.zeros(6), np.eye(3), np.zeros(6), out)
    attempt = Attempt(0, 1, 1)
    slot.crashed(update, attempt)
    assert not leftover.exists() and other.exists()
    assert "no LAMMPS ERROR line" in attempt.error
