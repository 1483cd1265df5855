"""One replica of a material's initialisation (rule material_replica): its box prepared,
equilibrated and written, its reference stress measured, its stiffness from that state; written
to ``replica_{r}.nc`` for rule material_init (``scema.stages.material_init``) to combine."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scema.io.datasets import material_replica_dataset
from scema.io.netcdf import write_dataset
from scema.md.engine import Engine
from scema.md.material import MaterialSpec
from scema.md.preparation import ReferenceState, equilibrate_replica, finite_strain_stiffness
from scema.stages.material_init import report_reference


def measure_replica(
    spec: MaterialSpec, run_seed: int, replica: int, state_file: Path, engine: Engine, rest_dir: Path | None = None
) -> tuple[ReferenceState, np.ndarray]:
    """One replica: prepared, equilibrated and written to ``state_file``, its reference measured
    (and its rest states written to ``rest_dir``), then its (6, 6) stiffness from that state."""
    ref = equilibrate_replica(spec, run_seed, replica, state_file, engine=engine, rest_dir=rest_dir)
    return ref, finite_strain_stiffness(spec, state_file, run_seed, replica, engine=engine)


def run(
    name: str,
    material_cfg: dict,
    replica: int,
    run_seed: int,
    state_file: str,
    out_replica: str,
    lammps_log: str | None = None,
    rest_dir: str | None = None,
) -> None:
    """Stage of rule material_replica: one replica's box, reference, rest states and stiffness
    -> ``replica_{r}.nc``."""
    spec = MaterialSpec.from_config(name, material_cfg)
    with Engine(log=Path(lammps_log) if lammps_log else None) as engine:
        ref, stiffness = measure_replica(
            spec, run_seed, replica, Path(state_file), engine, Path(rest_dir) if rest_dir else None
        )
    report_reference(name, replica, spec, ref)
    write_dataset(
        material_replica_dataset(name, spec, replica, ref, stiffness), out_replica, f"material {name} replica {replica}"
    )
