"""MD update of one (quadrature point, replica): strain the stored state, sample the stress.

Deterministic by construction (no random numbers: Nose-Hoover NVT, fix deform, text state
files with full double precision), so re-running an update after an interruption reproduces
its output bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .engine import Engine
from .material import MaterialSpec


@dataclass
class Update:
    """One MD job: apply ``strain_increment`` to ``state_in`` and write ``state_out``.

    ``strain_increment`` (6,) engineering Voigt = strain accumulated since ``state_in`` was
    written; ``reference_stress`` (6,) Pa = residual stress of the replica's initial state.
    """

    material: str
    qp: int
    replica: int
    state_in: Path
    strain_increment: np.ndarray
    reference_stress: np.ndarray
    state_out: Path
    seed: int = 1  # thermostat noise; the schedule derives it from (run seed, step, qp, replica)

    def __post_init__(self) -> None:
        self.state_in = Path(self.state_in)
        self.state_out = Path(self.state_out)
        self.strain_increment = np.asarray(self.strain_increment, dtype=float).reshape(6)
        self.reference_stress = np.asarray(self.reference_stress, dtype=float).reshape(6)


def run_update(engine: Engine, spec: MaterialSpec, update: Update) -> np.ndarray:
    """Stress (6,) Pa after the update, relative to the replica's reference stress.

    restore state_in -> NVT -> fix deform to the increment (all components finish together,
    n = max(min_deform_steps, ceil(max|d_eps| / rate / dt))) -> NVT hold of sampling_steps
    with the time-averaged pressure -> write state_out atomically.
    """
    engine.load(spec, update.state_in)
    engine.nvt(spec, seed=update.seed)
    engine.deform(spec, update.strain_increment)
    stress = engine.sample_stress(spec.sampling_steps)
    engine.write_state(update.state_out)
    return stress - update.reference_stress


def run_batch(specs: Mapping[str, MaterialSpec], updates: Sequence[Update],
              engine: Engine | None = None) -> np.ndarray:
    """Run all updates in order in one LAMMPS instance; stresses (n, 6) Pa."""
    missing = sorted({u.material for u in updates} - set(specs))
    if missing:
        raise KeyError(f"no MaterialSpec for materials {missing}")
    own = engine is None
    eng = Engine() if own else engine
    try:
        out = np.zeros((len(updates), 6))
        for k, update in enumerate(updates):
            out[k] = run_update(eng, specs[update.material], update)
    finally:
        if own:
            eng.close()
    return out
