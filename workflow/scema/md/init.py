"""Material initialisation: equilibrated replicas, their reference stress and stiffness.

The finite-strain stiffness uses the same path as an MD update (fix deform at the material's
strain rate, then NVT sampling), so the C handed to the FE side describes what updates do.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .engine import Engine
from .material import MaterialSpec


@dataclass(frozen=True)
class ReferenceState:
    """An equilibrated replica: its state file and what was measured on it."""

    state: Path
    seed: int
    reference_stress: np.ndarray   # (6,) Pa, Voigt, residual stress of the state at rest
    density: float                 # kg/m^3
    n_atoms: int
    volume: float                  # m^3


def _engine(engine: Engine | None) -> tuple[Engine, bool]:
    return (engine, False) if engine is not None else (Engine(), True)


def equilibrate_replica(spec: MaterialSpec, seed: int, state_out: Path,
                        engine: Engine | None = None) -> ReferenceState:
    """Build, thermalise with ``seed``, relax the box at zero pressure, write the state.

    NPT for ``equilibration_steps`` (box averaged over the second half), box set to that
    average, NVT hold for ``equilibration_steps // 4``; state written; then the residual
    stress is sampled (NVT, ``stiffness_sampling_steps``) from the freshly loaded state,
    exactly how updates start from it.
    """
    eng, own = _engine(engine)
    try:
        eng.build(spec)
        eng.create_velocities(spec.temperature, seed)
        eng.npt(spec, 0.0)
        first = spec.equilibration_steps - spec.equilibration_steps // 2
        eng.run(first)
        if spec.equilibration_steps // 2 > 0:
            eng.set_box(eng.average_box(spec.equilibration_steps // 2))
        eng.nvt(spec, seed=seed + 1)
        eng.run(spec.equilibration_steps // 4)
        eng.write_state(state_out)

        eng.load(spec, state_out)
        eng.nvt(spec, seed=seed + 2)
        stress = eng.sample_stress(spec.stiffness_sampling_steps)
        volume, mass, n_atoms = eng.volume_m3(), eng.mass_kg(), eng.natoms()
    finally:
        if own:
            eng.close()
    return ReferenceState(state=Path(state_out), seed=int(seed), reference_stress=stress,
                          density=mass / volume, n_atoms=n_atoms, volume=volume)


def finite_strain_stiffness(spec: MaterialSpec, state: Path, engine: Engine | None = None) -> np.ndarray:
    """(6,6) stiffness in Pa at temperature by central differences, C_ij = d sigma_i / d eps_j.

    For each Voigt direction j: from ``state`` apply +h and -h (h = stiffness_strain,
    engineering for shear) with fix deform at the strain rate, then NVT-sample
    ``stiffness_sampling_steps``. Both signs start from the same atoms and velocities, so
    much of the thermal noise cancels in the difference. Returned raw (not symmetrised);
    see :func:`symmetrise`.
    """
    eng, own = _engine(engine)
    h = spec.stiffness_strain
    c = np.zeros((6, 6))
    try:
        for j in range(6):
            sig = []
            for sign in (1.0, -1.0):
                strain = np.zeros(6)
                strain[j] = sign * h
                eng.load(spec, state)
                eng.nvt(spec, seed=1009 + j)  # same noise for +h and -h: it cancels in the difference
                eng.deform(spec, strain)
                sig.append(eng.sample_stress(spec.stiffness_sampling_steps))
            c[:, j] = (sig[0] - sig[1]) / (2.0 * h)
    finally:
        if own:
            eng.close()
    return c


def zero_kelvin_stiffness(spec: MaterialSpec, strain: float = 1e-4, engine: Engine | None = None) -> np.ndarray:
    """(6,6) stiffness in Pa of the perfect lattice at 0 K (box relaxed to zero pressure).

    ±strain applied instantly (affine), atoms re-minimised at fixed box, C from central
    differences of the virial stress. A reference for potentials, not used by updates.
    """
    eng, own = _engine(engine)
    c = np.zeros((6, 6))
    try:
        with tempfile.TemporaryDirectory(prefix="scema-0K-") as tmp:
            relaxed = Path(tmp) / "relaxed.data"
            eng.build(spec)
            eng.relax_box(0.0)
            eng.write_state(relaxed)
            for j in range(6):
                sig = []
                for sign in (1.0, -1.0):
                    eps = np.zeros(6)
                    eps[j] = sign * strain
                    eng.load(spec, relaxed)
                    eng.strain_box(eps)
                    eng.minimize()
                    sig.append(eng.stress_now())
                c[:, j] = (sig[0] - sig[1]) / (2.0 * strain)
    finally:
        if own:
            eng.close()
    return c


def symmetrise(c: np.ndarray) -> np.ndarray:
    """(C + C^T) / 2: the elastic stiffness is symmetric; the asymmetry of a measured C is noise."""
    c = np.asarray(c, dtype=float)
    return 0.5 * (c + c.T)
