"""The one way this project writes a result: under a temporary name, renamed when complete.

Why: Snakemake (and a user) must never see a half-written file as a finished result, and a
killed job must leave nothing that looks complete. Every writer (NetCDF, LAMMPS state files,
committee version directories, XDMF + HDF5 pairs) goes through these helpers. The content is
flushed to disk (fsync) before the rename and the directory after it: a node that crashes or
loses power right after a job ends leaves the old file or the whole new one, never an empty
file under the final name (ext4's delayed allocation otherwise allows that for new files).

    with atomic_path("results/x.nc") as tmp:      # tmp is in the same directory
        write_something(tmp)                      # renamed to results/x.nc on success
    with atomic_directory("results/committee/v3") as tmp_dir:
        ...                                       # the directory appears whole, or not at all
    with atomic_paths(["a.xdmf", "a.h5"]) as (tmp_xdmf, tmp_h5):
        ...                                       # both renamed only after both are written
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path


def _temp_name(path: Path) -> Path:
    """A fresh hidden name beside ``path`` (same file system, so the rename is atomic)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def fsync_path(path: str | os.PathLike) -> None:
    """Flush a file's content or a directory's entries to disk (also the MD supervisor's, for
    the state files its workers wrote with ``durable=False``, and the batch journal's)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Every file and directory under ``root``, then ``root`` itself."""
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            fsync_path(Path(directory) / name)
        fsync_path(Path(directory))


def remove_stale_temps(path: str | os.PathLike) -> None:
    """Remove what a killed writer of ``path`` left (SIGKILL runs no cleanup): the hidden
    temporary names beside it. One job writes a path at a time, so any such name is stale."""
    final = Path(path)
    for stale in final.parent.glob(f".{glob.escape(final.name)}.*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds."""
    with atomic_paths([path], durable) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(paths: Sequence[str | os.PathLike], durable: bool = True) -> Iterator[list[Path]]:
    """Temporary paths for files that belong together; all renamed only after the block succeeds.

    The renames happen one after another (POSIX has no multi-file rename), so a kill between
    them can leave the first file without the second: list the file Snakemake checks last
    (e.g. the .xdmf that points at its .h5) last. ``durable=False``: no fsync, for a writer
    whose caller flushes later (an MD worker's state file: its supervisor fsyncs it, so the
    worker goes on with its next update meanwhile).
    """
    finals = [Path(p) for p in paths]
    for final in finals:
        final.parent.mkdir(parents=True, exist_ok=True)
    temps = [_temp_name(final) for final in finals]
    try:
        yield temps
        if durable:
            for tmp in temps:
                fsync_path(tmp)
        for tmp, final in zip(temps, finals):
            os.replace(tmp, final)
        if durable:
            for directory in dict.fromkeys(final.parent for final in finals):
                fsync_path(directory)
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``path``; it replaces ``path`` on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    try:
        yield tmp
        _fsync_tree(tmp)
        if final.exists():
            old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.old."))
            old.rmdir()
            os.rename(final, old)
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, final)
        fsync_path(final.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
