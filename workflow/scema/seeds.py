"""Every random stream of a run, derived from one master seed with ``numpy.random.SeedSequence``.

Why one module: a stream is named by a purpose and a tuple of integers (step, qp, replica, ...),
so two purposes can never collide by arithmetic accident (``seed + 1`` of one stream equal to
another's), and changing how one stream is drawn cannot shift another.

    lammps_seed(run_seed, "velocity", replica)          # LAMMPS needs 1 <= seed <= 9e8
    lammps_seed(run_seed, "update", step, qp, replica)
    torch_seed(committee_seed, "member", i)             # 31-bit, for torch/numpy
    rng(committee_seed, "split")                        # a numpy Generator
"""

from __future__ import annotations

import zlib

import numpy as np

LAMMPS_MAX_SEED = 900_000_000  # LAMMPS random number generators accept 0 < seed <= 9e8


def _purpose(name: str) -> int:
    """A stable integer for a purpose name (crc32: the same on every machine and Python)."""
    return zlib.crc32(name.encode("utf-8"))


def sequence(master: int, purpose: str, *keys: int) -> np.random.SeedSequence:
    """The SeedSequence of one stream: master seed, purpose, then the stream's own keys."""
    return np.random.SeedSequence([int(master), _purpose(purpose), *(int(k) for k in keys)])


def lammps_seed(master: int, purpose: str, *keys: int) -> int:
    """A LAMMPS seed (1 .. 9e8) for one stream."""
    word = int(sequence(master, purpose, *keys).generate_state(1, dtype=np.uint32)[0])
    return word % (LAMMPS_MAX_SEED - 1) + 1


def lammps_seeds(master: int, purpose: str, prefix: tuple[int, ...], keys: np.ndarray) -> np.ndarray:
    """``lammps_seed(master, purpose, *prefix, *row)`` for each row of ``keys`` (n, k), as int64."""
    keys = np.atleast_2d(np.asarray(keys, dtype=np.int64))
    return np.array([lammps_seed(master, purpose, *prefix, *row) for row in keys], dtype=np.int64)


def torch_seed(master: int, purpose: str, *keys: int) -> int:
    """A 31-bit seed (torch, lightning, numpy legacy) for one stream."""
    return int(sequence(master, purpose, *keys).generate_state(1, dtype=np.uint32)[0] >> 1)


def rng(master: int, purpose: str, *keys: int) -> np.random.Generator:
    """A numpy Generator for one stream."""
    return np.random.default_rng(sequence(master, purpose, *keys))
