"""material_init runs as one material_replica job per replica plus a light job that combines them.
The replicas are independent (own seeds), so this must give bitwise what one process doing the
replicas in turn with one LAMMPS instance gives (the code before the split): checked here on
small copper boxes, every variable of material.nc and the state files byte for byte."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from conftest import COPPER_POTENTIAL, copper_entry
from scema.io.netcdf import read_dataset
from scema.md.engine import Engine
from scema.md.material import MaterialSpec
from scema.stages.material_init import combine, run
from scema.stages.material_replica import measure_replica
from scema.stages.material_replica import run as run_replica

ROOT = Path(__file__).resolve().parents[1]
SEED = 2031
SETTINGS = {  # as the tests' small workflow config: seconds per replica
    "equilibration_steps": 500,
    "barostat_damping_steps": 100,
    "reference_sampling_steps": 2000,
    "sampling_steps": 100,
    "stiffness_sampling_steps": 200,
}

pytestmark = pytest.mark.skipif(not COPPER_POTENTIAL.is_file(), reason="lammps-data potentials not installed")


@pytest.fixture(scope="module")
def cfg() -> dict:
    """The validated ``materials.copper`` entry, as the rules pass it (defaults filled, paths absolute)."""
    spec = MaterialSpec.from_entry("copper", copper_entry(3, **SETTINGS), base_dir=ROOT)
    return {field.name: getattr(spec, field.name) for field in dataclasses.fields(spec) if field.name != "name"}


@pytest.fixture(scope="module")
def serial(cfg, tmp_path_factory) -> Path:
    """The replicas in turn in one process and one LAMMPS instance, as material_init did before."""
    root = tmp_path_factory.mktemp("serial")
    spec = MaterialSpec.from_config("copper", cfg)
    with Engine() as engine:
        measured = [measure_replica(spec, SEED, r, root / f"replica_{r}.data", engine) for r in range(2)]
    combine("copper", spec, [m[0] for m in measured], np.stack([m[1] for m in measured]), str(root / "material.nc"))
    return root


@pytest.fixture(scope="module")
def split(cfg, tmp_path_factory) -> Path:
    """The workflow's path: each replica's stage on its own LAMMPS instance, then the combining stage."""
    root = tmp_path_factory.mktemp("split")
    for r in (1, 0):  # either order: nothing carries over from one replica to the next
        run_replica("copper", cfg, r, SEED, str(root / f"replica_{r}.data"), str(root / f"replica_{r}.nc"))
    run("copper", cfg, [str(root / f"replica_{r}.nc") for r in range(2)], str(root / "material.nc"))
    return root


def test_replica_jobs_give_bitwise_the_serial_material_file(serial, split) -> None:
    a, b = read_dataset(serial / "material.nc"), read_dataset(split / "material.nc")
    assert set(a.variables) == set(b.variables)
    assert a.attrs["n_atoms"] == b.attrs["n_atoms"] == 108
    for name in set(a.variables) - {"state_file"}:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    assert [Path(p).name for p in b["state_file"].values] == ["replica_0.data", "replica_1.data"]
    for r in range(2):
        assert (serial / f"replica_{r}.data").read_bytes() == (split / f"replica_{r}.data").read_bytes()
    # and the replicas are two boxes, not one twice
    assert not np.array_equal(b["reference_stress"].values[0], b["reference_stress"].values[1])


def test_a_replica_file_in_the_wrong_place_is_refused_by_name(cfg, split, tmp_path) -> None:
    files = [str(split / "replica_1.nc"), str(split / "replica_0.nc")]
    with pytest.raises(ValueError, match=r"replica_1\.nc: holds replica 1, expected replica 0"):
        run("copper", cfg, files, str(tmp_path / "material.nc"))
