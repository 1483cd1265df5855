"""Append-only journal of a batch's finished MD updates, so a killed batch resumes where it stopped.

Why: an update costs up to ~0.1 core-hour and a batch holds hundreds, but the batch file is
written once, at the end. Each finished update appends one line (its key, stress, wall time,
attempt), written with a single ``write`` and fsynced as soon as the update is reported, after
its state file (the worker has its next update queued, so it never waits for the disk). A
line carries its own CRC: a kill in the middle of a write leaves a torn last line, which is
dropped (and cut off before the next append), never read as a result. The key hashes everything
the update's result depends on (the update's fields, the material settings, the bytes of its
input state), so a journal left by a run with another config or other inputs is never mistaken
for this batch's results; each line also holds the digest of the state file the update wrote,
so a line whose state file was since overwritten (a run with another config writes the same
names) is not taken either.

The journal is kept after the batch file is written: when Snakemake itself was killed while a
batch job went on and finished, the next run's ``rerun-incomplete`` runs that job again (its
output is marked incomplete), and it then finds every update here instead of redoing the MD.
It costs ~250 bytes per update beside a ~60 kB state file. One writer at a time: the batch job
holds the journal's lock (:meth:`Journal.locked`) from its first read to its batch file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import json
import logging
import os
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scema.io.atomic import fsync_path

log = logging.getLogger("scema.md_batch")
# flock unsupported by the file system (some Lustre mounts, old NFS): run unlocked, with a warning
_NO_LOCKING = {errno.ENOLCK, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF}


@dataclass(frozen=True)
class Record:
    """One finished update: stress (6,) Pa, wall seconds of the successful attempt, attempt (0 = first),
    and the digest (:func:`file_digest`) of the state file it wrote."""

    key: str
    qp: int
    replica: int
    stress: tuple[float, ...]
    seconds: float
    attempt: int
    state_digest: str


def _plain(value: Any) -> Any:
    """A JSON-able, exact image of an update field (floats keep every bit through repr)."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return np.asarray(value).tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def file_digest(path: str | os.PathLike) -> str:
    """blake2b of a file's bytes (hex)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "blake2b").hexdigest()


def update_key(update: Any, material: Mapping[str, Any]) -> str:
    """Hash of what an update's result depends on: its fields, its material's config, its input state."""
    digest = hashlib.blake2b(digest_size=16)
    fields = {f.name: _plain(getattr(update, f.name)) for f in dataclasses.fields(update)}
    digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
    digest.update(json.dumps(_plain(material), sort_keys=True, default=str).encode())
    state_in = Path(update.state_in)
    if state_in.is_file():
        digest.update(file_digest(state_in).encode())
    else:
        digest.update(b"missing")
    return digest.hexdigest()


def _line(record: Record) -> bytes:
    body = json.dumps(dataclasses.asdict(record), separators=(",", ":"))
    return f"{body}\t{zlib.crc32(body.encode()):08x}\n".encode()


def _parse(line: bytes) -> Record | None:
    """The record of a complete line, or None for a torn or damaged one."""
    try:
        body, crc = line.decode().rsplit("\t", 1)
        if int(crc, 16) != zlib.crc32(body.encode()):
            return None
        fields = json.loads(body)
        fields["stress"] = tuple(float(s) for s in fields["stress"])
        return Record(**fields)
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


class Journal:
    """The journal file of one batch (``batch_{b}.journal`` beside ``batch_{b}.nc``)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._tail_checked = False  # a torn tail can only predate this process's first append

    def read(self) -> dict[str, Record]:
        """Finished updates by key; torn or damaged lines are skipped."""
        if not self.path.is_file():
            return {}
        lines = self.path.read_bytes().split(b"\n")[:-1]  # the part after the last newline is torn
        records = (_parse(line) for line in lines)
        return {r.key: r for r in records if r is not None}

    def append(self, record: Record) -> None:
        """Add one line durably: one write, then fsync (and the directory's, when the file is new)."""
        new = not self.path.exists()
        if not new and not self._tail_checked:
            self._cut_torn_tail()
        self._tail_checked = True
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, _line(record))
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            fsync_path(self.path.parent)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the journal's exclusive lock (``flock``; created empty if missing) for the block.

        Why: after Snakemake was killed its batch jobs may run on (on SLURM they do), and the next
        run starts the same batch again. Two writers would each delete the other's temporary state
        files and append to one journal; the second now waits until the first is done and then
        finds its updates here. The lock goes with the process, so a killed job leaves none behind.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # NFS grants LOCK_EX only to a writer
        if new:
            fsync_path(self.path.parent)  # the journal's name is as durable as the lines it will hold
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("%s is locked by another job running this batch: waiting for it to finish", self.path)
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as error:
                if error.errno not in _NO_LOCKING:
                    raise
                log.warning("%s: the file system does not lock (%s); running unlocked", self.path, error)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _cut_torn_tail(self) -> None:
        """Truncate a torn last line (a kill mid-write), so the next line starts on its own."""
        with open(self.path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)
