"""The perfect lattice's second-order law at 0 K (rule material_zero_kelvin): ``zero_kelvin.nc``,
the mean of the committee prior's second-order coefficients for a crystal (``committee.zero_kelvin_law``).

Why a rule of its own: it is a minimisation (< 1 s), not MD, and only crystals use it (the
committee side knows the symmetry; the MD material definition deliberately does not), so the
material's replicas are not rerun when a run starts or stops using it."""

from __future__ import annotations

from pathlib import Path

from scema.io.datasets import zero_kelvin_dataset
from scema.io.netcdf import write_dataset
from scema.md.engine import Engine
from scema.md.material import MaterialSpec
from scema.md.preparation import zero_kelvin_law


def run(name: str, material_cfg: dict, out_law: str, lammps_log: str | None = None) -> None:
    """Stage of rule material_zero_kelvin: the law at the material's stiffness_strain amplitude."""
    spec = MaterialSpec.from_config(name, material_cfg)
    with Engine(log=Path(lammps_log) if lammps_log else None) as engine:
        law = zero_kelvin_law(spec, spec.stiffness_strain, engine=engine)
    write_dataset(zero_kelvin_dataset(name, spec, law, spec.stiffness_strain), out_law, f"material {name} at 0 K")
