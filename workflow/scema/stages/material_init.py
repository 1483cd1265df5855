"""One-off material initialisation (method section 4): R prepared, equilibrated reference boxes,
their converged reference stress, the sampling noise of one update and the homogenised stiffness
by +/- finite strains. Cached under results/materials/{material}/."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import xarray as xr

from scema.io.netcdf import component_coord, index_coord, write_dataset
from scema.md import units as lmp_units
from scema.md.engine import Engine
from scema.md.material import MaterialSpec
from scema.md.preparation import equilibrate_replica, finite_strain_stiffness
from scema.voigt import COMPONENTS


def sampling_noise(window_stress: list[np.ndarray]) -> np.ndarray:
    """Std (6,) Pa of the stress averaged over ONE update window of one replica at rest.

    Pooled over replicas: each replica's window means about that replica's own mean (its
    residual stress is subtracted from its updates), with the replica's degree of freedom removed.
    """
    deviations = np.concatenate([w - w.mean(axis=0) for w in window_stress])
    dof = sum(len(w) - 1 for w in window_stress)
    return np.sqrt((deviations**2).sum(axis=0) / max(dof, 1))


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
            print(
                f"replica {r}: reference stress {np.round(ref.reference_stress / 1e6, 1)} MPa "
                f"+/- {np.round(ref.standard_error / 1e6, 1)} MPa (standard error)",
                file=sys.stderr,
            )
    if standard_error.max() > spec.reference_standard_error:
        print(
            f"warning: material {name}: reference stress standard error up to {standard_error.max() / 1e6:.1f} MPa "
            f"(> {spec.reference_standard_error / 1e6:.1f} MPa): raise materials.{name}.reference_sampling_steps",
            file=sys.stderr,
        )
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


def material_dataset(
    name, spec, stiffness, reference, standard_error, cells, density, noise, state_files, n_atoms
) -> xr.Dataset:
    """The material.nc dataset: every variable with units and long_name."""
    replicas = len(state_files)
    pa = {"units": "Pa"}
    return xr.Dataset(
        {
            "stiffness": (
                ("replica", "i", "j"),
                stiffness,
                {"long_name": "homogenised stiffness C_ij = d sigma_i / d eps_j (engineering shear)", **pa},
            ),
            "reference_stress": (
                ("replica", "component"),
                reference,
                {"long_name": "residual stress of the reference box (subtracted from its updates)", **pa},
            ),
            "reference_stress_standard_error": (
                ("replica", "component"),
                standard_error,
                {"long_name": "standard error of reference_stress (block averaging)", **pa},
            ),
            "sampling_noise": (
                "component",
                noise,
                {
                    "long_name": "std of the stress averaged over one update window (sampling_steps) "
                    "of one replica at rest",
                    **pa,
                },
            ),
            "reference_cell": (
                ("replica", "row", "col"),
                cells,
                {
                    "long_name": "reference cell H_ref (columns are the box vectors a, b, c; upper triangular); "
                    "a box at strain eps has the cell (I + G(eps)) H_ref",
                    "units": lmp_units.distance_unit_name(spec.units),
                },
            ),
            "density": ("replica", density, {"long_name": "mass density of the reference box", "units": "kg m-3"}),
            "state_file": (
                "replica",
                np.array(state_files, dtype=object),
                {"long_name": "reference box LAMMPS data file", "units": "1"},
            ),
        },
        coords={
            **index_coord("replica", replicas, "MD replica"),
            **component_coord(),
            "i": ("i", np.array(COMPONENTS), {"long_name": "stress component (Voigt)", "units": "1"}),
            "j": ("j", np.array(COMPONENTS), {"long_name": "strain component (Voigt)", "units": "1"}),
            **index_coord("row", 3, "cell matrix row (x, y, z)"),
            **index_coord("col", 3, "cell matrix column (box vector a, b, c)"),
        },
        attrs={
            "material": name,
            "units_style": spec.units,
            "temperature_K": spec.temperature,
            "n_atoms": int(n_atoms),
            "sampling_steps": int(spec.sampling_steps),
            "reference_sampling_steps": int(spec.reference_sampling_steps),
            "strain_measure": "H = (I + G(eps)) H_ref, G = [[exx, gxy, gxz], [0, eyy, gyz], [0, 0, ezz]] "
            "(small strain, engineering shear as box tilt)",
        },
    )
