"""One-off material initialisation (method section 4): R prepared, equilibrated reference boxes,
their converged reference stress, the sampling noise of one update and the homogenised stiffness
by +/- finite strains. Cached under results/materials/{material}/.

Two stages: ``scema.stages.material_replica`` (one job per replica: the replicas are independent,
each with its own seeds, so they run side by side) prepares one box, measures its reference and
its stiffness and writes ``replica_{r}.nc``; :func:`run` here (rule material_init, light: no
LAMMPS) combines them into ``material.nc``. The numbers are those of one process doing the
replicas in turn (tests/test_material_replicas.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from scema.io.datasets import material_dataset
from scema.io.netcdf import read_dataset, write_dataset
from scema.md.material import MaterialSpec
from scema.md.reference import Jump, ReferenceState, block_steps
from scema.voigt import COMPONENTS


def sampling_noise(window_stress: list[np.ndarray]) -> np.ndarray:
    """Std (6,) Pa of ONE sample of a replica's stress at rest: the means of update windows
    along its reference window, or (``material_noise``) its zero-strain updates.

    Pooled over replicas: each replica's samples about that replica's own mean (its
    residual stress is subtracted from its updates), with the replica's degree of freedom removed.
    """
    deviations = np.concatenate([w - w.mean(axis=0) for w in window_stress])
    dof = sum(len(w) - 1 for w in window_stress)
    return np.sqrt((deviations**2).sum(axis=0) / max(dof, 1))


def material_noise(refs: list[ReferenceState]) -> tuple[np.ndarray, np.ndarray | None]:
    """(sampling_noise, the window's own value or None): what ``material.nc`` stores.

    Window estimator: the scatter of update-window means along the reference window, as before.
    ``rest_updates``: the scatter of the zero-strain updates themselves about their replica's
    reference, i.e. of what a qp's update at rest returns minus what is subtracted from it. It
    includes the spread BETWEEN rest states (a 325-step glass update keeps its start state's
    configurational stress: 26-72 MPa between the 32 states, 43-79 within one), on purpose:
    a training label is one qp's update, the qp started from one state, but no committee input
    says which, and the reference (the zero of every label) is the mean over the states. So a
    label scatters about what the committee can learn by the total spread; the within-state part
    alone would be the noise of repeating one qp's update, and audits judged against it would
    charge the committee with the states' offsets it cannot know. With replicas, sample_noise
    (replica std / sqrt(R), the replicas starting from different states) carries the same spread.
    """
    window = sampling_noise([ref.window_stress for ref in refs])
    if refs[0].update_stress is None:
        return window, None
    return sampling_noise([ref.update_stress for ref in refs]), window


MPA = 1e6


def _per_component(values: np.ndarray, signed: bool = True) -> str:
    """'xx +320.1 yy -219.0 ...': values with their Voigt labels (as the files' component axis)."""
    return " ".join(f"{c} {v:{'+' if signed else ''}.1f}" for c, v in zip(COMPONENTS, values))


def report_reference(name: str, r: int, spec: MaterialSpec, ref: ReferenceState) -> None:
    """Log one replica's reference; warn, naming material and replica, when it is not converged.

    Every number here is a variable of ``material.nc`` (reference_stress, its standard error,
    reference_drift, reference_stationary_steps, reference_measured_steps, jump_step, jump_size,
    jump_z), in MPa where the file has Pa.
    """
    source = f"the last {ref.stationary_steps} of {ref.measured_steps} steps"
    if ref.update_stress is not None:
        source = (
            f"{len(ref.update_stress)} zero-strain updates from the rest states (window mean "
            f"{_per_component(ref.window_reference / MPA)} +/- {_per_component(ref.window_standard_error / MPA, False)} "
            f"MPa over {source})"
        )
    print(
        f"replica {r}: reference stress {_per_component(ref.reference_stress / MPA)} MPa "
        f"+/- {_per_component(ref.standard_error / MPA, False)} MPa (standard error) from {source}; "
        f"drift over the window {_per_component(ref.drift / MPA)} "
        f"+/- {_per_component(ref.drift_error / MPA, False)} MPa",
        file=sys.stderr,
    )
    for jump in ref.jumps:
        print(
            f"material {name} replica {r}: ageing jump at step {jump.at} of the reference window: "
            f"{_per_component(jump.size / MPA)} MPa (z {_per_component(jump.z, False)}): the window before it is discarded "
            f"(material.nc: jump_step, jump_size, jump_z)",
            file=sys.stderr,
        )
    block = block_steps(spec.sampling_steps)
    short = ref.stationary_steps < max(block, spec.reference_sampling_steps // block * block)
    by_updates = ref.update_stress is not None
    if by_updates and ref.standard_error.max() > spec.reference_standard_error:
        print(
            f"warning: material {name} replica {r}: {len(ref.update_stress)} zero-strain updates give a reference "
            f"standard error up to {ref.standard_error.max() / MPA:.1f} MPa (goal "
            f"{spec.reference_standard_error / MPA:.1f} MPa): raise materials.{name}.reference_updates (the error "
            f"falls as 1 / sqrt(updates))",
            file=sys.stderr,
        )
    if short or (not by_updates and ref.standard_error.max() > spec.reference_standard_error):
        window_error = ref.window_standard_error if by_updates else ref.standard_error
        print(
            f"warning: material {name} replica {r}: after {ref.measured_steps} reference steps "
            f"(reference_max_windows {spec.reference_max_windows} x {spec.reference_sampling_steps}) the stationary "
            f"part is {ref.stationary_steps} steps with standard error up to {window_error.max() / MPA:.1f} MPa "
            f"(goal {spec.reference_standard_error / MPA:.1f} MPa): raise materials.{name}.reference_max_windows "
            f"or reference_sampling_steps, or anneal longer (preparation.anneal_steps)",
            file=sys.stderr,
        )
    drifting = np.abs(ref.drift) > np.maximum(3 * ref.drift_error, spec.reference_standard_error)
    if drifting.any():
        print(
            f"warning: material {name} replica {r}: the reference stress still drifts after the last jump "
            f"(> 3 standard errors and > reference_standard_error: "
            f"{' '.join(c for c, d in zip(COMPONENTS, drifting) if d)}): the box is still relaxing; anneal it "
            f"(materials.{name}.preparation.anneal_steps) or equilibrate longer",
            file=sys.stderr,
        )


def read_replica(path: str) -> tuple[ReferenceState, np.ndarray, int]:
    """A replica file back as (its reference state, its stiffness, its replica index)."""
    ds = read_dataset(path)
    jumps = tuple(
        Jump(at=int(at), size=size, z=z)
        for at, size, z in zip(ds["jump_step"].values, ds["jump_size"].values, ds["jump_z"].values)
    )
    ref = ReferenceState(
        state=Path(ds.attrs["state_file"]),
        reference_stress=ds["reference_stress"].values,
        standard_error=ds["reference_stress_standard_error"].values,
        window_stress=ds["window_stress"].values,
        drift=ds["reference_drift"].values,
        drift_error=ds["reference_drift_standard_error"].values,
        jumps=jumps,
        measured_steps=int(ds["reference_measured_steps"]),
        stationary_steps=int(ds["reference_stationary_steps"]),
        cell=ds["reference_cell"].values,
        density=float(ds["density"]),
        n_atoms=int(ds.attrs["n_atoms"]),
        volume=float(ds["volume"]),
        rest_states=tuple(Path(f) for f in ds["rest_state_file"].values) if "rest_state_file" in ds else (),
        estimator=str(ds.attrs.get("reference_estimator", "window")),
        **_updates_of(ds),
    )
    return ref, ds["stiffness"].values, int(ds.attrs["replica"])


def _updates_of(ds) -> dict:
    """The rest-update fields of a replica file's ReferenceState (none with the window estimator)."""
    if "reference_update_stress" not in ds:
        return {}
    return {
        "update_stress": ds["reference_update_stress"].values,
        "window_reference": ds["window_reference_stress"].values,
        "window_standard_error": ds["window_reference_standard_error"].values,
    }


def combine(
    name: str, spec: MaterialSpec, refs: list[ReferenceState], stiffness: np.ndarray, out_material: str
) -> None:
    """Write ``material.nc`` from the replicas' measurements (replica order), logging each reference."""
    for r, ref in enumerate(refs):
        report_reference(name, r, spec, ref)
    noise, window_noise = material_noise(refs)
    state_files = [str(ref.state) for ref in refs]
    dataset = material_dataset(name, spec, refs, stiffness, noise, state_files, window_noise)
    write_dataset(dataset, out_material, f"material {name}")


def run(name: str, material_cfg: dict, replica_files: list[str], out_material: str) -> None:
    """Stage of rule material_init: the replica files (replica order) -> ``material.nc``."""
    spec = MaterialSpec.from_config(name, material_cfg)
    measured = [read_replica(path) for path in replica_files]
    for position, (path, (_, _, replica)) in enumerate(zip(replica_files, measured)):
        if replica != position:
            raise ValueError(f"{path}: holds replica {replica}, expected replica {position} (inputs out of order)")
    combine(name, spec, [m[0] for m in measured], np.stack([m[1] for m in measured]), out_material)
