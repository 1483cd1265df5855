"""Material initialisation: prepared, equilibrated replicas, their converged reference stress,
the sampling noise of one update, and the stiffness.

The finite-strain stiffness uses the same path as an MD update (ramp to the target cell at the
material's strain rate, then NVT sampling, in one run), so the C handed to the FE side
describes what updates do.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scema import seeds
from scema.io.atomic import atomic_directory

from .engine import Engine, target_cell
from .material import MaterialSpec
from .reference import (
    Jump,
    ReferenceState,
    block_steps,
    blocking_standard_error,
    half_drift,
    stationary_start,
    window_means,
)
from .rest_updates import mean_and_standard_error, zero_strain_updates


def _engine(engine: Engine | None) -> tuple[Engine, bool]:
    return (engine, False) if engine is not None else (Engine(), True)


@dataclass(frozen=True)
class ReferenceWindow:
    """The block means (n, 6) Pa of a box at rest and where their stationary part begins."""

    series: np.ndarray
    start: int  # first block after the last ageing jump (0 without one)
    jumps: tuple[Jump, ...]  # Jump.at in blocks
    snapshots: tuple[tuple[int, Path], ...] = ()  # (block at which it was written, state file)

    @property
    def stationary(self) -> np.ndarray:
        return self.series[self.start :]

    def rest_states(self, count: int) -> tuple[Path, ...]:
        """``count`` snapshots spread evenly over the stationary part (the states its mean
        describes); fewer distinct ones, repeated, when a late jump left fewer than ``count``."""
        valid = [path for at, path in self.snapshots if at >= self.start]
        if not valid:
            return ()
        if len(valid) < count:
            return tuple(valid[i % len(valid)] for i in range(count))
        return tuple(valid[i] for i in np.round(np.linspace(0, len(valid) - 1, count)).astype(int))


def snapshot_steps(spec: MaterialSpec, window: int, block: int) -> int:
    """Steps between two rest states of the reference window: ``rest_states`` per window, a
    whole number of blocks, and a divisor of the window."""
    blocks = window // block
    per = max(1, blocks // spec.rest_states)
    while blocks % per:
        per -= 1
    return per * block


def reference_series(
    eng: Engine, spec: MaterialSpec, snapshot_dir: Path | None = None, converge: bool = True
) -> ReferenceWindow:
    """Measure the stress at rest until its stationary part is long and precise enough.

    ``reference_sampling_steps`` of the current fixes, then as much again at a time (up to
    ``reference_max_windows`` times in all) until the part after the last ageing jump
    (:func:`scema.md.reference.stationary_start`) is at least one window long and its blocking
    standard error is at most ``reference_standard_error`` on every component. Without a jump
    this is the plain growth rule; with one, the window before it is discarded and the
    measurement goes on after it. With ``snapshot_dir`` the state is written into it
    ``rest_states`` times per window, along the very trajectory the window averages.
    ``converge`` False (``reference_estimator: rest_updates``, whose error comes from the updates):
    the window grows only until its stationary part is one window long.
    """
    block = block_steps(spec.sampling_steps)
    window = max(block, spec.reference_sampling_steps // block * block)
    blocks, goal = window // block, spec.reference_standard_error
    every = snapshot_steps(spec, window, block)
    snapshots: list[tuple[int, Path]] = []

    def measure(done: int) -> np.ndarray:
        if snapshot_dir is None:
            return eng.stress_blocks(window, block)
        pattern = Path(snapshot_dir) / f"window{done // blocks:03d}_*.data"
        series = eng.stress_blocks(window, block, snapshots=(every, str(pattern)))
        snapshots.extend(
            (done + k * every // block, pattern.with_name(pattern.name.replace("*", str(k * every))))
            for k in range(1, window // every + 1)
        )
        return series

    series = measure(0)
    while True:
        start, jumps = stationary_start(series, goal)
        tail = series[start:]
        if len(tail) >= blocks and (not converge or blocking_standard_error(tail).max() <= goal):
            break
        if len(series) >= spec.reference_max_windows * blocks:
            break
        series = np.concatenate([series, measure(len(series))])
    return ReferenceWindow(series=series, start=start, jumps=jumps, snapshots=tuple(snapshots))


def _prepare(eng: Engine, spec: MaterialSpec, master: int, replica: int, scratch: Path) -> None:
    """Build the replica's structure and, with a ``preparation`` block, melt and quench it."""
    variables = {"structure_seed": seeds.lammps_seed(master, "structure", replica)}
    if spec.builder is not None:
        from scema.md.builder import build_structure  # the builder is optional: import only when used

        variables["structure_data"] = str(
            build_structure(dict(spec.builder), variables["structure_seed"], scratch / "structure.data")
        )
    eng.build(spec, variables)
    velocity_seed = seeds.lammps_seed(master, "velocity", replica)
    if spec.preparation is None:
        eng.create_velocities(spec.temperature, velocity_seed)
        return
    # A liquid has no shear stiffness: under `tri` its box tilts without bound (measured: xy 53 %
    # of lx in a 256-atom box melted, quenched at 1e14 K/s and annealed 50 ps at 700 K, and
    # LAMMPS stops on the skew). The tilts are held (`aniso`) through the melt, the quench and
    # the anneal; the equilibration then relaxes them with the material's own coupling.
    held = spec.replace(barostat_coupling="aniso") if spec.barostat_coupling == "tri" else spec
    melt = float(spec.preparation["melt_temperature"])
    eng.create_velocities(melt, velocity_seed)
    stages = [(melt, melt, int(spec.preparation["melt_steps"]))]
    if spec.anneal_steps == 0:
        stages.append((melt, spec.temperature, spec.quench_steps))
    else:  # quench to the anneal temperature, age there, quench on: a fresh glass keeps relaxing
        anneal = float(spec.preparation["anneal_temperature"])
        stages.append((melt, anneal, spec.ramp_steps(melt, anneal)))
        stages.append((anneal, anneal, spec.anneal_steps))
        stages.append((anneal, spec.temperature, spec.ramp_steps(anneal, spec.temperature)))
    for t_start, t_stop, steps in stages:
        eng.npt(held, 0.0, t_start, t_stop)
        eng.run(steps)


def equilibrate_replica(
    spec: MaterialSpec,
    master: int,
    replica: int,
    state_out: Path,
    engine: Engine | None = None,
    rest_dir: Path | None = None,
) -> ReferenceState:
    """Prepare, relax the box at zero pressure and write one replica; measure its reference stress.

    Build (template, or builder + template), optional melt-quench (with an optional anneal), NPT for
    ``equilibration_steps`` (box averaged over the second half and set to that average), NVT
    hold for a quarter as long, state written. Then, from the freshly loaded state exactly as
    updates start from it, NVT over :func:`reference_series`. Over its stationary part (after the
    last ageing jump) the mean stress is the reference; its standard error, its drift
    (:func:`half_drift`) and the means of successive ``sampling_steps`` windows (the sampling
    noise of one update) are kept. When a jump was cut, the state is written again at the end of
    the window: the box that updates start from is then the one the reference describes, not the
    one from before the jump. Every random stream comes from ``scema.seeds`` (master seed,
    purpose, replica).

    ``rest_dir``: also written there, ``state_{k:03d}.data``, are ``rest_states`` states taken
    along the stationary part of the reference window (:meth:`ReferenceWindow.rest_states`), the
    states qps start from. Why: the mean over thermostat seeds of an update from ONE state is
    that state's conditional mean, not the ensemble mean the window measures; it remembers the
    state's own stress fluctuation for ~200 steps (copper replica 0: +13 MPa xx over a first
    update's window, later updates within their errors). Every qp of a replica starting from
    the same file made that a common bias of the whole specimen; qps spread over the window's
    states average it out, and the reference is the mean over those very states' trajectory.

    ``reference_estimator: rest_updates``: the reference is instead the mean of zero-strain
    updates from those states (:mod:`scema.md.rest_updates`; the states are taken whether or not
    ``rest_dir`` is given), the window's own mean and blocking error kept beside it.
    """
    eng, own = _engine(engine)
    try:
        with tempfile.TemporaryDirectory(prefix="scema-build-") as scratch:
            _prepare(eng, spec, master, replica, Path(scratch))
            eng.npt(spec, 0.0)
            first = spec.equilibration_steps - spec.equilibration_steps // 2
            eng.run(first)
            if spec.equilibration_steps // 2 > 0:
                eng.set_box(eng.average_box(spec.equilibration_steps // 2))
            eng.nvt(spec, seed=seeds.lammps_seed(master, "equilibration", replica))
            eng.run(spec.equilibration_steps // 4)
            eng.write_state(state_out)

            eng.load(spec, state_out)
            eng.nvt(spec, seed=seeds.lammps_seed(master, "reference", replica))
            rest_updates = spec.reference_estimator == "rest_updates"
            snapshots = Path(scratch) if rest_dir is not None or rest_updates else None
            measured = reference_series(eng, spec, snapshots, converge=not rest_updates)
            if measured.jumps:
                eng.write_state(state_out)
            volume, mass, n_atoms, cell = eng.volume_m3(), eng.mass_kg(), eng.natoms(), eng.box_matrix()
            chosen = measured.rest_states(spec.rest_states)
            updates = (
                zero_strain_updates(eng, spec, chosen, master, replica, cell, Path(scratch)) if rest_updates else None
            )
            rest_states = _keep_rest_states(chosen, rest_dir)
    finally:
        if own:
            eng.close()
    series, block = measured.stationary, block_steps(spec.sampling_steps)
    drift, drift_error = half_drift(series)
    window_reference, window_error = series.mean(axis=0), blocking_standard_error(series)
    reference, error = (window_reference, window_error) if updates is None else mean_and_standard_error(updates)
    return ReferenceState(
        state=Path(state_out),
        reference_stress=reference,
        standard_error=error,
        window_stress=window_means(series, spec.sampling_steps // block),
        drift=drift,
        drift_error=drift_error,
        jumps=tuple(Jump(at=j.at * block, size=j.size, z=j.z) for j in measured.jumps),
        measured_steps=len(measured.series) * block,
        stationary_steps=len(series) * block,
        cell=cell,
        density=mass / volume,
        n_atoms=n_atoms,
        volume=volume,
        rest_states=rest_states,
        estimator=spec.reference_estimator,
        update_stress=updates,
        window_reference=window_reference,
        window_standard_error=window_error,
    )


def _keep_rest_states(chosen: tuple[Path, ...], rest_dir: Path | None) -> tuple[Path, ...]:
    """Copy the chosen snapshots to ``rest_dir/state_{k:03d}.data`` (the directory appears whole);
    the k-th entry of the result is the k-th choice (a repeated snapshot is copied once)."""
    if rest_dir is None:
        return ()
    rest_dir = Path(rest_dir)
    names: dict[Path, str] = {}
    with atomic_directory(rest_dir) as tmp:
        for source in chosen:
            if source not in names:
                names[source] = f"state_{len(names):03d}.data"
                shutil.copyfile(source, tmp / names[source])
    return tuple(rest_dir / names[source] for source in chosen)


def finite_strain_stiffness(
    spec: MaterialSpec, state: Path, master: int, replica: int, engine: Engine | None = None
) -> np.ndarray:
    """(6,6) stiffness in Pa at temperature by central differences, C_ij = d sigma_i / d eps_j.

    For each Voigt direction j: from ``state`` (its cell is the reference cell) go to the
    target cell of +h and of -h e_j (h = stiffness_strain, engineering for shear) the way an
    update does, sampling ``stiffness_sampling_steps``. Both signs start from the same atoms
    and velocities with the same thermostat stream (seeds: master, "stiffness", replica, j),
    so much of the thermal noise cancels in the difference. Returned raw (not symmetrised);
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
                reference = eng.box_matrix()
                eng.nvt(spec, seed=seeds.lammps_seed(master, "stiffness", replica, j))
                stress, _ = eng.deform_and_sample(
                    spec, target_cell(reference, strain), reference, spec.stiffness_sampling_steps
                )
                sig.append(stress)
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
    strains = []
    for j in range(6):
        for sign in (1.0, -1.0):
            eps = np.zeros(6)
            eps[j] = sign * strain
            strains.append(eps)
    sig = _minimised_stresses(spec, strains, engine)
    c = np.zeros((6, 6))
    for j in range(6):
        c[:, j] = (sig[2 * j] - sig[2 * j + 1]) / (2.0 * strain)
    return c


def _minimised_stresses(spec: MaterialSpec, strains: list[np.ndarray], engine: Engine | None) -> list[np.ndarray]:
    """The virial stress of the perfect lattice, relaxed to zero pressure at 0 K, strained
    affinely (``strain_box``) to each of ``strains`` in turn and minimised at fixed box."""
    eng, own = _engine(engine)
    stress = []
    try:
        with tempfile.TemporaryDirectory(prefix="scema-0K-") as tmp:
            relaxed = Path(tmp) / "relaxed.data"
            eng.build(spec)
            eng.relax_box(0.0)
            eng.write_state(relaxed)
            for eps in strains:
                eng.load(spec, relaxed)
                eng.strain_box(eps)
                eng.minimize()
                stress.append(eng.stress_now())
    finally:
        if own:
            eng.close()
    return stress


def zero_kelvin_law(spec: MaterialSpec, strain: float, engine: Engine | None = None) -> np.ndarray:
    """(21, 6) Pa: the second-order law of the perfect lattice at 0 K, the coefficient of each
    product eps_i eps_j (i <= j, row-major upper triangle of the Voigt strain) in each stress
    component, for the committee's physical prior (``committee.measured_prior``).

    The box relaxed to zero pressure is strained the way an update strains it (``strain_box``:
    the cell (I + G(eps)) H, engineering shear) to 0, +-h e_j and +-h (e_j + e_k), atoms
    minimised at fixed box; a quadratic in the strain (intercept, C, the 21 products) is fitted
    to the 43 virial stresses by least squares, h = ``strain``. Why: at 0 K the third-order
    response is exact and costs < 1 s; fitted about zero the committee's second-order
    coefficients start 4 c wide (c the largest C_ii) while copper's are -0.6 to -3 c.
    Only for a crystal whose perfect lattice is the material (its structure template's box)."""
    strains = [np.zeros(6)]
    for j in range(6):
        for k in range(j, 6):
            for sign in (1.0, -1.0):
                eps = np.zeros(6)
                eps[j] += sign * strain
                if k != j:
                    eps[k] += sign * strain
                strains.append(eps)
    stress = _minimised_stresses(spec, strains, engine)
    e = np.array(strains)
    i, j = np.triu_indices(6)
    design = np.hstack([np.ones((len(e), 1)), e, e[:, i] * e[:, j]])
    coefficients, *_ = np.linalg.lstsq(design, np.array(stress), rcond=None)
    return coefficients[7:]


def symmetrise(c: np.ndarray) -> np.ndarray:
    """(C + C^T) / 2: the elastic stiffness is symmetric; the asymmetry of a measured C is noise."""
    c = np.asarray(c, dtype=float)
    return 0.5 * (c + c.T)
