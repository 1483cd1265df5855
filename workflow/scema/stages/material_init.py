"""One-off material initialisation (method section 4): R equilibrated reference boxes and the
homogenised stiffness by +/- finite strains. Cached under results/materials/{material}/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from scema.io.netcdf import component_coord, index_coord, write_dataset
from scema.md.engine import Engine
from scema.md.init import equilibrate_replica, finite_strain_stiffness
from scema.md.material import MaterialSpec
from scema.voigt import COMPONENTS


def replica_seed(run_seed: int, replica: int) -> int:
    """LAMMPS velocity seeds must be positive ints below 2^31; distinct per replica."""
    return int((run_seed * 1009 + 7919 * (replica + 1)) % 899_999_000) + 1  # LAMMPS RNG: seed <= 9e8


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
    reference = np.zeros((replicas, 6))
    density = np.zeros(replicas)
    n_atoms = 0
    with Engine(log=Path(lammps_log) if lammps_log else None) as engine:
        for r in range(replicas):
            ref = equilibrate_replica(spec, replica_seed(run_seed, r), Path(state_files[r]), engine=engine)
            reference[r], density[r], n_atoms = ref.reference_stress, ref.density, ref.n_atoms
            stiffness[r] = finite_strain_stiffness(spec, Path(state_files[r]), engine=engine)
    pa = {"units": "Pa"}
    ds = xr.Dataset(
        {
            "stiffness": (
                ("replica", "i", "j"),
                stiffness,
                {"long_name": "homogenised stiffness C_ij = d sigma_i / d eps_j (engineering shear)", **pa},
            ),
            "reference_stress": (("replica", "component"), reference, {"long_name": "residual stress of the reference box", **pa}),
            "density": ("replica", density, {"long_name": "mass density of the reference box", "units": "kg m-3"}),
            "state_file": ("replica", np.array(state_files, dtype=object), {"long_name": "reference box LAMMPS data file", "units": "1"}),
        },
        coords={
            **index_coord("replica", replicas, "MD replica"),
            **component_coord(),
            "i": ("i", np.array(COMPONENTS), {"long_name": "stress component (Voigt)", "units": "1"}),
            "j": ("j", np.array(COMPONENTS), {"long_name": "strain component (Voigt)", "units": "1"}),
        },
        attrs={"material": name, "units_style": spec.units, "temperature_K": spec.temperature, "n_atoms": int(n_atoms)},
    )
    write_dataset(ds, out_material, f"material {name}")
