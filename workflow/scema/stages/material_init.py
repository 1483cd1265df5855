"""One-off material initialisation (method section 4): R prepared, equilibrated reference boxes,
their converged reference stress, the sampling noise of one update and the homogenised stiffness
by +/- finite strains. Cached under results/materials/{material}/."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from scema.io.datasets import material_dataset
from scema.io.netcdf import write_dataset
from scema.md.engine import Engine
from scema.md.material import MaterialSpec
from scema.md.preparation import ReferenceState, block_steps, equilibrate_replica, finite_strain_stiffness


def sampling_noise(window_stress: list[np.ndarray]) -> np.ndarray:
    """Std (6,) Pa of the stress averaged over ONE update window of one replica at rest.

    Pooled over replicas: each replica's window means about that replica's own mean (its
    residual stress is subtracted from its updates), with the replica's degree of freedom removed.
    """
    deviations = np.concatenate([w - w.mean(axis=0) for w in window_stress])
    dof = sum(len(w) - 1 for w in window_stress)
    return np.sqrt((deviations**2).sum(axis=0) / max(dof, 1))


def report_reference(name: str, r: int, spec: MaterialSpec, ref: ReferenceState) -> None:
    """Log one replica's reference; warn, naming material and replica, when it is not converged."""
    mpa = 1e6
    print(
        f"replica {r}: reference stress {np.round(ref.reference_stress / mpa, 1)} MPa "
        f"+/- {np.round(ref.standard_error / mpa, 1)} MPa (standard error) over the last {ref.stationary_steps} "
        f"of {ref.measured_steps} steps; drift over them {np.round(ref.drift / mpa, 1)} "
        f"+/- {np.round(ref.drift_error / mpa, 1)} MPa",
        file=sys.stderr,
    )
    for jump in ref.jumps:
        print(
            f"material {name} replica {r}: ageing jump at step {jump.at} of the reference window "
            f"({np.round(jump.size / mpa, 1)} MPa, z up to {jump.z.max():.1f}): the window before it is discarded",
            file=sys.stderr,
        )
    block = block_steps(spec.sampling_steps)
    short = ref.stationary_steps < max(block, spec.reference_sampling_steps // block * block)
    if short or ref.standard_error.max() > spec.reference_standard_error:
        print(
            f"warning: material {name} replica {r}: after {ref.measured_steps} reference steps "
            f"(reference_max_windows {spec.reference_max_windows} x {spec.reference_sampling_steps}) the stationary "
            f"part is {ref.stationary_steps} steps with standard error up to {ref.standard_error.max() / mpa:.1f} MPa "
            f"(goal {spec.reference_standard_error / mpa:.1f} MPa): raise materials.{name}.reference_max_windows "
            f"or reference_sampling_steps, or anneal longer (preparation.anneal_steps)",
            file=sys.stderr,
        )
    drifting = np.abs(ref.drift) > np.maximum(3 * ref.drift_error, spec.reference_standard_error)
    if drifting.any():
        print(
            f"warning: material {name} replica {r}: the reference stress still drifts after the last jump "
            f"(> 3 standard errors and > reference_standard_error): the box is still relaxing; anneal it "
            f"(materials.{name}.preparation.anneal_steps) or equilibrate longer",
            file=sys.stderr,
        )


def run(
    name: str,
    material_cfg: dict,
    replicas: int,
    run_seed: int,
    state_files: list[str],
    out_material: str,
    lammps_log: str | None = None,
) -> None:
    spec = MaterialSpec.from_config(name, material_cfg)
    stiffness = np.zeros((replicas, 6, 6))
    reference, standard_error = np.zeros((replicas, 6)), np.zeros((replicas, 6))
    cells, density, windows = np.zeros((replicas, 3, 3)), np.zeros(replicas), []
    n_atoms = 0
    with Engine(log=Path(lammps_log) if lammps_log else None) as engine:
        for r in range(replicas):
            ref = equilibrate_replica(spec, run_seed, r, Path(state_files[r]), engine=engine)
            reference[r], standard_error[r], cells[r] = ref.reference_stress, ref.standard_error, ref.cell
            density[r], n_atoms = ref.density, ref.n_atoms
            windows.append(ref.window_stress)
            stiffness[r] = finite_strain_stiffness(spec, Path(state_files[r]), run_seed, r, engine=engine)
            report_reference(name, r, spec, ref)
    write_dataset(
        material_dataset(
            name,
            spec,
            stiffness,
            reference,
            standard_error,
            cells,
            density,
            sampling_noise(windows),
            state_files,
            n_atoms,
        ),
        out_material,
        f"material {name}",
    )
