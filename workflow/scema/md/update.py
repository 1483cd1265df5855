"""MD update of one (quadrature point, replica): bring the stored state to its target cell, sample.

The target is the cell of the qp's TOTAL strain, H = (I + G(eps)) H_ref (``engine.target_cell``:
G upper triangular, engineering shear as tilt, H_ref the replica's reference cell), never the
previous cell plus an increment: a box that lagged (trusted by the committee, or a cluster
member) lands on the same cell as one updated every step, and chained updates do not compound.

Reproducible, not noise-free: the Langevin thermostat draws from the update's own seed (the
schedule derives it from run seed, step, qp and replica), and state files hold every double
exactly (NetCDF, ``scema.md.state``; LAMMPS data files with 17 digits for bonded materials), so
re-running an update after an interruption reproduces it bit for bit.
Batches of updates are run by ``scema.stages.md_batch`` (one LAMMPS instance per worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .engine import Engine, target_cell
from .material import MaterialSpec


@dataclass
class Update:
    """One MD job: bring ``state_in`` to the cell of ``target_strain`` and write ``state_out``.

    ``target_strain`` (6,) Voigt, engineering shear: the qp's total strain after the update;
    ``reference_cell`` (3, 3) the replica's reference cell H_ref (LAMMPS distance units, columns
    are the box vectors); ``reference_stress`` (6,) Pa the replica's residual stress at rest.
    """

    material: str
    qp: int
    replica: int
    state_in: Path
    target_strain: np.ndarray
    reference_cell: np.ndarray
    reference_stress: np.ndarray
    state_out: Path
    seed: int = 1  # thermostat noise; the schedule derives it from (run seed, step, qp, replica)

    def __post_init__(self) -> None:
        self.state_in = Path(self.state_in)
        self.state_out = Path(self.state_out)
        self.target_strain = np.asarray(self.target_strain, dtype=float).reshape(6)
        self.reference_cell = np.asarray(self.reference_cell, dtype=float).reshape(3, 3)
        self.reference_stress = np.asarray(self.reference_stress, dtype=float).reshape(6)


def run_update(engine: Engine, spec: MaterialSpec, update: Update) -> np.ndarray:
    """Stress (6,) Pa after the update, relative to the replica's reference stress.

    restore state_in -> Langevin NVT -> one LAMMPS run: the cell ramps to the target over
    n = max(min_deform_steps, ceil(max|strain change| / rate / dt)) steps, then holds for
    sampling_steps, over which the pressure is averaged (every sampling_stride-th step) -> write
    state_out atomically (a data file without write_data's re-init: the run just set the system
    up), not flushed to disk here: in a batch worker a NetCDF state passes through memory both
    ways (``Engine.exchange``) and the supervisor reads it and writes it durably; a data file it
    flushes to disk.
    """
    engine.load(spec, update.state_in)
    engine.nvt(spec, seed=update.seed)
    target = target_cell(update.reference_cell, update.target_strain)
    stress, _ = engine.deform_and_sample(spec, target, update.reference_cell, spec.sampling_steps, spec.sampling_stride)
    engine.write_state(update.state_out, after_run=True, durable=False)  # in a batch: the supervisor's
    return stress - update.reference_stress
