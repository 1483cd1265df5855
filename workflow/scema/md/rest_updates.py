"""The reference stress as what a qp at rest returns (``reference_estimator: rest_updates``).

Why: the reference is subtracted from every update, so what it must cancel is the stress an
update at zero strain returns, not the mean of one long trajectory. For a glass the two differ:
its stress at rest wanders between configurations (4,000-step means scatter 20-50 MPa on 500
Cu-Zr atoms), so a window's blocking error still exceeds 5 MPa after 280,000 steps, and a box's
updates see the configurations it starts from. Here each replica runs ``reference_updates``
zero-strain updates, update i from rest state i mod ``rest_states`` (as the k-th qp starts from
rest state k mod ``rest_states``), each through :func:`scema.md.update.run_update` (same ramp,
sampling window, thermostat) with its own seed. They are independent samples: the mean is the
reference and std / sqrt(n) its standard error, no blocking and no correlation time to guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scema import seeds

from .engine import Engine
from .material import MaterialSpec
from .update import Update, run_update

SEED_PURPOSE = "reference update"  # the seeds stream: (run seed, SEED_PURPOSE, replica, update)


def update_starts(spec: MaterialSpec) -> np.ndarray:
    """Rest state (index) each of the replica's zero-strain updates starts from: i mod rest_states."""
    return np.arange(spec.reference_updates) % spec.rest_states


def zero_strain_updates(
    eng: Engine,
    spec: MaterialSpec,
    rest_states: Sequence[Path],
    master: int,
    replica: int,
    cell: np.ndarray,
    scratch: Path,
) -> np.ndarray:
    """Stress (reference_updates, 6) Pa of zero-strain updates from ``rest_states`` (in turn), raw
    (no reference subtracted); each one an MD update of a qp at rest in the replica's cell."""
    if len(rest_states) != spec.rest_states:
        raise ValueError(f"material {spec.name!r}: {len(rest_states)} rest states, expected {spec.rest_states}")
    stress = np.zeros((spec.reference_updates, 6))
    for i, k in enumerate(update_starts(spec)):
        update = Update(
            material=spec.name,
            qp=i,
            replica=replica,
            state_in=rest_states[k],
            target_strain=np.zeros(6),
            reference_cell=cell,
            reference_stress=np.zeros(6),
            state_out=Path(scratch) / "reference_update.data",
            seed=seeds.lammps_seed(master, SEED_PURPOSE, replica, i),
        )
        stress[i] = run_update(eng, spec, update)
    return stress


def mean_and_standard_error(stress: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (6,) of independent update stresses (n, 6) and its standard error std / sqrt(n).

    With n a multiple of rest_states every state counts alike; the states' own conditional means
    are then part of the std, so this error is, if anything, high for the mean over those states."""
    stress = np.asarray(stress, dtype=float)
    return stress.mean(axis=0), stress.std(axis=0, ddof=1) / np.sqrt(len(stress))
