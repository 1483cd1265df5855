"""The MD schedule: the single place that decides which (qp, replica) updates run in a step
and how they are split into batches.

Later stages (clustering, committee) only shrink the set of qps passed in; batching, state
file naming and the strain to apply are decided here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scema import seeds


@dataclass
class Schedule:
    qp: np.ndarray  # (n,) qp id of each update
    replica: np.ndarray  # (n,)
    batch: np.ndarray  # (n,) batch index, 0..n_batches-1
    material: np.ndarray  # (n,) material index
    state_in: np.ndarray  # (n,) str
    state_out: np.ndarray  # (n,) str
    strain_increment: np.ndarray  # (n, 6) strain accumulated since state_in was written
    target_strain: np.ndarray  # (n, 6) total strain after the update
    seed: np.ndarray  # (n,) thermostat seed, reproducible on resume
    n_batches: int


def state_file_name(state_dir: str | Path, qp: int, replica: int, suffix: str) -> str:
    """Immutable per-(qp, replica, step) state file: the step is in ``state_dir``; ``suffix``
    the material's format (``scema.md.state.state_suffix``)."""
    return str(Path(state_dir) / f"qp{qp:07d}_r{replica:02d}{suffix}")


def update_seeds(run_seed: int, step: int, qp: np.ndarray, replica: np.ndarray) -> np.ndarray:
    """Thermostat seeds of the updates: the ``scema.seeds`` stream (run seed, "update", step, qp, replica)."""
    return seeds.lammps_seeds(run_seed, "update", (step,), np.column_stack([qp, replica]))


def plan(
    md_qps: np.ndarray,
    strain: np.ndarray,
    qp_material: np.ndarray,
    state_file: np.ndarray,
    state_strain: np.ndarray,
    max_batches: int,
    state_dir: str | Path,
    state_suffixes: list[str],
    run_seed: int = 0,
    step: int = 0,
) -> Schedule:
    """Schedule every replica of each qp in ``md_qps``; contiguous, balanced batches.
    ``state_suffixes``: the state file suffix of each material index (``scema.md.state.state_suffix``)."""
    md_qps = np.sort(np.asarray(md_qps, dtype=np.int64))
    replicas = state_file.shape[1]
    qp = np.repeat(md_qps, replicas)
    rep = np.tile(np.arange(replicas), md_qps.size)
    n = qp.size
    n_batches = int(min(max_batches, n))
    batch = np.zeros(n, dtype=np.int64)
    for b, chunk in enumerate(np.array_split(np.arange(n), max(n_batches, 1))):
        batch[chunk] = b
    return Schedule(
        qp=qp,
        replica=rep,
        batch=batch,
        material=qp_material[qp],
        state_in=np.asarray(state_file[qp, rep], dtype=object),
        state_out=np.array(
            [state_file_name(state_dir, q, r, state_suffixes[m]) for q, r, m in zip(qp, rep, qp_material[qp])],
            dtype=object,
        ),
        strain_increment=strain[qp] - state_strain[qp, rep],
        target_strain=strain[qp],
        seed=update_seeds(run_seed, step, qp, rep),
        n_batches=n_batches,
    )
