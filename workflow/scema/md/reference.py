"""Statistics of the reference-stress series (block means of the stress of a box at rest): its
standard error, its drift, and its last ageing jump; and what a replica's reference is
(:class:`ReferenceState`). No LAMMPS here: material_init combines replicas with these alone.

A glass ages. After tens of thousands of stationary steps one relaxation event can shift its
residual stress by hundreds of MPa (measured on 500 Cu-Zr atoms: xx by -200 MPa after 48,000
steps). A longer window cannot average such a step away: its mean lands between the two states,
and the box is in neither. So the reference describes the state after the last jump, which is
the state the box ends in and the one updates start from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

JUMP_Z = 6.0  # a shift is a jump beyond this many standard errors (and beyond the goal)
JUMP_MIN_FRACTION = 0.1  # both sides of a split hold at least this share of the series
JUMP_MIN_BLOCKS = 16  # ... and at least this many blocks (the blocking error's minimum)


def blocking_standard_error(series: np.ndarray, min_blocks: int = 16) -> np.ndarray:
    """Standard error (per column) of the mean of a correlated series (Flyvbjerg & Petersen 1989).

    Pair neighbouring blocks repeatedly; the naive standard error grows until blocks are longer
    than the correlation time, then plateaus. Taken: the largest value over the levels that
    still have ``min_blocks`` blocks (conservative).
    """
    x = np.asarray(series, dtype=float)
    best = x.std(axis=0, ddof=1) / np.sqrt(len(x))
    while len(x) // 2 >= min_blocks:
        x = 0.5 * (x[: len(x) // 2 * 2 : 2] + x[1 : len(x) // 2 * 2 : 2])
        best = np.maximum(best, x.std(axis=0, ddof=1) / np.sqrt(len(x)))
    return best


def window_means(series: np.ndarray, blocks_per_window: int) -> np.ndarray:
    """Means (n, 6) of successive windows of ``blocks_per_window`` blocks (an incomplete tail dropped)."""
    n = len(series) // blocks_per_window
    return np.asarray(series[: n * blocks_per_window]).reshape(n, blocks_per_window, -1).mean(axis=1)


def half_drift(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Second-half minus first-half mean (per column) of a series and its standard error.

    A box that is still relaxing (an ageing glass) drifts: its blocking error keeps growing
    with the window instead of shrinking, and a drift far outside its error says so.
    """
    half = len(series) // 2
    first, second = np.asarray(series[:half]), np.asarray(series[half : 2 * half])
    error = np.hypot(blocking_standard_error(first), blocking_standard_error(second))
    return second.mean(axis=0) - first.mean(axis=0), error


@dataclass(frozen=True)
class Jump:
    """A step in the mean of a series: where, how large, how significant."""

    at: int  # index of the first entry after the step
    size: np.ndarray  # (columns,) mean after minus mean before
    z: np.ndarray  # (columns,) |size| over its standard error


def find_jump(series: np.ndarray, tolerance: float, z_min: float = JUMP_Z) -> Jump | None:
    """The most significant single step in the mean of ``series`` (n, columns), or None.

    Per column, the least-squares split k maximises |mean after - mean before| sqrt(k (n-k) / n)
    over splits that leave both sides JUMP_MIN_FRACTION of the series and JUMP_MIN_BLOCKS
    entries. The error of that shift, s sqrt(1/k + 1/(n-k)), takes the long-run deviation s of the
    series from the blocking error of its residuals about the two means, so correlation counts and
    the step itself does not (blocks down to 8 per level: a long correlation is not missed). The
    column with the largest z = |shift| / error picks the split. It is a jump when that column's z
    exceeds ``z_min`` and its |shift| exceeds ``tolerance`` (a shift below the goal for the
    reference error is not worth discarding data for).

    z_min 6: for a jump-free series the largest z is the supremum of a standardised Brownian
    bridge over [0.1, 0.9] of the series (Andrews 1993: 1 % critical value ~3.6 per column), but
    few correlation times per series inflate it. Measured, largest of 6 AR(1) columns, 150 series
    each, 99th percentile: 4.8 (phi 0.9, 1,200 entries), 6.2 (phi 0.97, 1,200), 4.7 (phi 0.97,
    4,000). The glass's stress at rest decorrelates within ~30 blocks of 10 steps (one 300-step
    update window), so a 40,000-step window is ~100 correlation times. A 200 MPa jump in such a
    window of a 500-atom glass is z ~ 13.
    """
    x = np.asarray(series, dtype=float)
    n = len(x)
    lo = max(JUMP_MIN_BLOCKS, int(np.ceil(JUMP_MIN_FRACTION * n)))
    if n - lo < lo:
        return None
    k = np.arange(lo, n - lo + 1)
    cumulative = np.cumsum(x, axis=0)
    before = cumulative[k - 1] / k[:, None]
    after = (cumulative[-1] - cumulative[k - 1]) / (n - k)[:, None]
    shift = after - before  # (splits, columns)
    split = k[np.argmax(np.abs(shift) * np.sqrt(k * (n - k) / n)[:, None], axis=0)]  # per column
    size, z = np.zeros(x.shape[1]), np.zeros(x.shape[1])
    for c, kc in enumerate(split):
        residual = np.concatenate([x[:kc, c] - x[:kc, c].mean(), x[kc:, c] - x[kc:, c].mean()])
        deviation = blocking_standard_error(residual, min_blocks=8) * np.sqrt(n)
        size[c] = x[kc:, c].mean() - x[:kc, c].mean()
        z[c] = abs(size[c]) / max(deviation * np.sqrt(1.0 / kc + 1.0 / (n - kc)), np.finfo(float).tiny)
    best = int(np.argmax(np.where(np.abs(size) > tolerance, z, 0.0)))
    if z[best] <= z_min or abs(size[best]) <= tolerance:
        return None
    at = int(split[best])
    return Jump(at=at, size=x[at:].mean(axis=0) - x[:at].mean(axis=0), z=z)


def stationary_start(series: np.ndarray, tolerance: float) -> tuple[int, tuple[Jump, ...]]:
    """First index of the part of ``series`` after its last jump, and the jumps cut (in order).

    :func:`find_jump` on the series, then again on what follows each jump found, until none is
    left: the tail is the longest end of the series with no jump in it.
    """
    start, jumps = 0, []
    while (jump := find_jump(np.asarray(series)[start:], tolerance)) is not None:
        start += jump.at
        jumps.append(Jump(at=start, size=jump.size, z=jump.z))
    return start, tuple(jumps)


def block_steps(sampling_steps: int) -> int:
    """Block length of the reference series: the largest divisor of sampling_steps up to 10,
    so whole update windows are whole numbers of blocks."""
    return max(d for d in range(1, 11) if sampling_steps % d == 0)


@dataclass(frozen=True)
class ReferenceState:
    """An equilibrated replica: its state file and what was measured on it at rest."""

    state: Path
    reference_stress: np.ndarray  # (6,) Pa, Voigt, residual stress of the state at rest
    standard_error: np.ndarray  # (6,) Pa, of reference_stress (block averaging, or std / sqrt(n) of the updates)
    window_stress: np.ndarray  # (n, 6) Pa, means of successive sampling_steps windows
    drift: np.ndarray  # (6,) Pa, second-half minus first-half mean of the stationary window
    drift_error: np.ndarray  # (6,) Pa, standard error of drift
    jumps: tuple[Jump, ...]  # ageing jumps cut from the window (Jump.at in MD steps from its start)
    measured_steps: int  # MD steps of the whole reference window
    stationary_steps: int  # ... of its part after the last jump (what the reference averages)
    cell: np.ndarray  # (3, 3) reference cell H_ref, LAMMPS distance units
    density: float  # kg/m^3
    n_atoms: int
    volume: float  # m^3
    rest_states: tuple[Path, ...] = ()  # states along the stationary window that qps start from
    estimator: str = "window"  # how reference_stress was measured (material reference_estimator)
    update_stress: np.ndarray | None = None  # (n, 6) Pa, the zero-strain updates it averages (rest_updates)
    window_reference: np.ndarray | None = None  # (6,) Pa, mean of the stationary window (either way)
    window_standard_error: np.ndarray | None = None  # (6,) Pa, its blocking standard error
