"""NetCDF qp states (scema.md.state): exact, CF-labelled, and an update from one is the update
from the LAMMPS data file of the same atoms; in a batch the supervisor writes what the worker
hands over, byte for byte what an update in one process writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import COPPER_POTENTIAL, copper_entry, small_config
from scema.config import validate_config
from scema.md.engine import Engine, target_cell
from scema.md.material import MaterialSpec
from scema.md.state import read_state, state_suffix, write_state
from scema.md.update import Update, run_update
from scema.schedule import plan

ROOT = Path(__file__).resolve().parents[1]
STRAIN = 2.0e-3 * np.array([-0.35, -0.35, 1.0, 0.1, -0.1, 0.1])

pytestmark = pytest.mark.skipif(not COPPER_POTENTIAL.is_file(), reason="lammps-data potentials not installed")


@pytest.fixture(scope="module")
def material() -> dict:
    """A validated 108-atom copper entry with short updates, as a batch's workers get it."""
    cfg = small_config()
    cfg["materials"]["copper"] = copper_entry(3, sampling_steps=50, sampling_stride=5, min_deform_steps=10)
    return validate_config(cfg, search_dirs=[ROOT])["materials"]["copper"]


@pytest.fixture(scope="module")
def spec(material) -> MaterialSpec:
    return MaterialSpec.from_config("copper", material)


@pytest.fixture(scope="module")
def warm(spec, tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    """A 108-atom box after 300 steps at 300 K (velocities, atoms across faces) as a LAMMPS data
    file and as a NetCDF state; its cell."""
    root = tmp_path_factory.mktemp("md_state")
    with Engine() as engine:
        engine.build(spec)
        engine.create_velocities(spec.temperature, 11)
        engine.nvt(spec, seed=3)
        engine.run(300)
        data, nc = engine.write_state(root / "warm.data"), engine.write_state(root / "warm.nc")
        return data, nc, engine.box_matrix()


def test_a_state_reads_back_exactly_what_lammps_holds(spec, warm):
    data, nc, _ = warm
    with Engine() as engine:
        engine.load(spec, data)  # the independent path: LAMMPS's own read_data
        from_data = engine.snapshot()
    state = read_state(nc)
    np.testing.assert_array_equal(state.id, np.arange(1, 109))
    for name in ("lo", "hi", "tilt", "type", "v"):
        np.testing.assert_array_equal(getattr(state, name), getattr(from_data, name), err_msg=name)
    # read_data wraps atoms into the box; the snapshot keeps them as the run left them: the same
    # unwrapped positions x + image . (a, b, c), to round-off of the box lengths
    (lx, ly, lz), (xy, xz, yz) = state.hi - state.lo, state.tilt
    vectors = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
    np.testing.assert_allclose(
        state.x + state.image @ vectors, from_data.x + from_data.image @ vectors, rtol=0, atol=1e-12
    )
    assert np.any(state.image != 0) and np.any(state.v != 0)


def test_state_file_carries_units_and_cf_metadata(warm):
    with xr.open_dataset(warm[1]) as ds:
        assert ds.attrs["Conventions"] == "CF-1.8" and ds.attrs["lammps_units"] == "metal"
        assert ds["position"].attrs["units"] == "angstrom" and ds["velocity"].attrs["units"] == "angstrom/ps"
        assert ds["position"].dims == ("atom", "axis") and ds["atom"].values.tolist() == list(range(1, 109))
        assert all("long_name" in ds[name].attrs and "units" in ds[name].attrs for name in ds.variables)


def test_an_update_from_a_netcdf_state_is_the_update_from_its_data_file(spec, warm, tmp_path):
    data, nc, cell = warm

    def update(engine: Engine, source: Path, k: int) -> np.ndarray:
        out = tmp_path / f"{source.stem}{source.suffix}{k}{state_suffix('atomic')}"
        return run_update(engine, spec, Update("copper", 0, 0, source, STRAIN, cell, np.zeros(6), out, seed=9))

    fresh = {}
    for source in (data, nc):
        with Engine() as engine:
            fresh[source] = update(engine, source, 0)
    with Engine() as engine:  # one worker's engine: a batch mixes both (a qp whose box stayed at rest)
        for k, source in enumerate((nc, data, nc, data)):
            assert np.array_equal(update(engine, source, k + 1), fresh[source]), (k, source)  # bitwise
    # the same atoms to the last bit of a few coordinates (read_data's own rounding): the same
    # trajectory to ~1e-14 relative, far inside the MD noise (~10 MPa on this box)
    np.testing.assert_allclose(fresh[nc], fresh[data], rtol=0, atol=1.0)  # Pa
    assert np.abs(fresh[nc]).max() > 1e7
    written = read_state(tmp_path / "warm.nc0.nc")
    np.testing.assert_allclose(written.hi - written.lo, np.diag(target_cell(cell, STRAIN)), rtol=1e-12)


def test_a_batch_supervisor_writes_the_state_its_worker_hands_over(material, spec, warm, tmp_path):
    from scema.md.supervisor import supervise

    _, nc, cell = warm
    updates = {
        i: Update("copper", i, 0, nc, STRAIN * (i + 1), cell, np.zeros(6), tmp_path / f"batch{i}.nc", seed=20 + i)
        for i in range(2)
    }
    done = {}
    failures = supervise(
        updates,
        {"copper": material},
        1,
        tmp_path / "w.log",
        0,
        lambda u, a: (u, 1),
        lambda i, a, s, t: done.update({i: s}),
    )
    assert failures == [] and sorted(done) == [0, 1]
    with Engine() as engine:
        for i, update in updates.items():
            alone = Update(
                "copper", i, 0, nc, STRAIN * (i + 1), cell, np.zeros(6), tmp_path / f"alone{i}.nc", seed=20 + i
            )
            np.testing.assert_array_equal(run_update(engine, spec, alone), done[i])
            assert update.state_out.read_bytes() == alone.state_out.read_bytes()


def test_states_of_bonded_materials_stay_lammps_data_files(spec, warm, tmp_path):
    assert state_suffix("atomic") == ".nc" and state_suffix("molecular") == ".data" and state_suffix("full") == ".data"
    schedule = plan(
        np.array([0, 1]),
        np.zeros((2, 6)),
        np.array([0, 1]),
        np.array([["a"], ["b"]], dtype=object),
        np.zeros((2, 1, 6)),
        1,
        tmp_path,
        state_suffixes=[".nc", ".data"],
    )
    assert [Path(p).name for p in schedule.state_out] == ["qp0000000_r00.nc", "qp0000001_r00.data"]
    bonded = spec.replace(atom_style="molecular")
    with Engine() as engine, pytest.raises(ValueError, match="atom_style atomic only, not 'molecular'"):
        engine.restore(bonded, read_state(warm[1]))


def test_a_damaged_state_file_names_itself(warm, tmp_path):
    broken = tmp_path / "qp0000003_r01.nc"
    broken.write_bytes(warm[1].read_bytes()[:2000])
    with pytest.raises(ValueError, match=f"{broken}: not a readable MD state file"):
        read_state(broken)
    write_state(tmp_path / "again.nc", read_state(warm[1]))
    assert (tmp_path / "again.nc").read_bytes() == warm[1].read_bytes()  # no time stamp: same state, same bytes


BIG_BATCH = """
import sys
import numpy as np
sys.path.insert(0, {workflow!r})
from pathlib import Path
from scema.md.engine import Engine
from scema.md.material import MaterialSpec
from scema.md.supervisor import supervise
from scema.md.update import Update

material = {material!r}
spec = MaterialSpec.from_config("copper", material)
with Engine() as engine:
    engine.build(spec)
    state, cell = engine.write_state(Path("big.nc")), engine.box_matrix()
strain = np.full(6, 1.0e-6)
updates = {{q: Update("copper", q, 0, state, strain, cell, np.zeros(6), Path(f"q{{q}}.nc"), seed=q + 1) for q in range(3)}}
failures = supervise(updates, {{"copper": material}}, 1, "w.log", 0, lambda u, a: (u, 1), lambda *done: None)
print(len(failures), sum(Path(f"q{{q}}.nc").stat().st_size > 1_000_000 for q in range(3)))
"""


def test_a_worker_takes_its_next_big_state_while_it_runs(material, tmp_path):
    """23,328 atoms: a task and a reply each hold a 1.5 MB state, more than a socket buffer; the
    supervisor hands the next task over while the worker runs and then replies. Was: both
    blocked on a full socket, the batch hung."""
    big = {**material, "variables": {**material["variables"], "cells": 18}}
    big.update(sampling_steps=10, sampling_stride=5, min_deform_steps=5, deform_stride=5)
    code = BIG_BATCH.format(workflow=str(ROOT / "workflow"), material=big)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["0", "3"], out.stderr[-2000:]


def test_restore_keeps_unwrapped_positions_of_atoms_outside_the_box(spec, tmp_path):
    """Hot atoms cross faces between re-neighbourings; the snapshot holds them outside the box
    with their old image flags. Restored, they are wrapped with flags that keep x + image . box,
    as LAMMPS's own read_data of the same state does (LAMMPS's create_atoms kept the old flags)."""
    with Engine() as engine:
        engine.build(spec)
        engine.create_velocities(900.0, 5)
        engine.commands(["neigh_modify delay 0 every 1000 check no"])  # no re-neighbouring: atoms leave the box
        engine.nvt(spec, seed=2)
        engine.run(40)
        engine.write_state(tmp_path / "hot.nc")
        engine.write_state(tmp_path / "hot.data")
    state = read_state(tmp_path / "hot.nc")
    (lx, ly, lz), (xy, xz, yz) = state.hi - state.lo, state.tilt
    vectors = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
    fractions = np.linalg.solve(vectors.T, (state.x - state.lo).T).T
    assert np.any((fractions < 0) | (fractions >= 1)), "no atom outside the box: the test tests nothing"
    restored = {}
    for source in ("hot.nc", "hot.data"):
        with Engine() as engine:
            engine.load(spec, tmp_path / source)
            restored[source] = engine.snapshot()
    for snap in restored.values():
        np.testing.assert_allclose(snap.x + snap.image @ vectors, state.x + state.image @ vectors, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(restored["hot.nc"].image, restored["hot.data"].image)


def test_atom_ids_with_gaps_and_per_type_masses_survive_a_state(spec, tmp_path):
    """IDs need not be 1..n (a structure with vacancies: delete_atoms compress no), and a type's
    mass comes back with the state even where the force field does not set it."""
    with Engine() as engine:
        engine.build(spec)
        engine.commands(["group scema_vacancies id 5 17 40", "delete_atoms group scema_vacancies compress no"])
        engine.create_velocities(spec.temperature, 8)
        engine.write_state(tmp_path / "gaps.nc")
        before = engine.snapshot()
    state = read_state(tmp_path / "gaps.nc")
    assert len(state.id) == 105 and {5, 17, 40}.isdisjoint(state.id.tolist()) and state.id.max() == 108
    assert np.all(np.diff(state.id) > 0) and np.all(state.type == 1)
    np.testing.assert_array_equal(state.x, before.x)
    assert state.mass.tolist() == [63.546]  # the material's mass, from the force-field template
    # a pair style that sets no mass (EAM files carry one: 63.55 for Mishin's Cu)
    (tmp_path / "lj.lmp").write_text("pair_style lj/cut 5.0\npair_coeff * * 0.409 2.338\n")
    bare = spec.replace(forcefield=str(tmp_path / "lj.lmp"))
    with Engine() as engine:
        engine.load(bare, tmp_path / "gaps.nc")  # a fresh engine: the state's Masses, as a data file's
        engine.run(1)
        again = engine.snapshot()
    assert again.mass.tolist() == [63.546] and again.id.tolist() == state.id.tolist()


def test_unit_names_of_every_lammps_style_are_udunits():
    from cfunits import Units

    from scema.md import units

    for style in ("metal", "real", "si", "cgs", "electron", "micro", "nano"):
        velocity = Units(units.velocity_unit_name(style))
        assert velocity.equivalent(Units("m/s")), style
        assert Units(units.distance_unit_name(style)).equivalent(Units("m")), style
        assert Units(units.mass_unit_name(style)).isvalid, style
    # LAMMPS electron velocities are Bohr per atomic time unit (1.03275e-15 s), not per fs
    assert Units.conform(1.0, Units(units.velocity_unit_name("electron")), Units("m/s")) == pytest.approx(
        51239.7, rel=1e-5
    )


def test_a_state_converts_to_a_data_file_that_lammps_reads_back_exactly(spec, warm, tmp_path):
    """``python -m scema.md.state STATE OUT``: a qp's box for plain LAMMPS, OVITO or VMD."""
    out = tmp_path / "qp.data"
    run = subprocess.run(
        [sys.executable, "-m", "scema.md.state", str(warm[1]), str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "workflow")},
    )
    assert run.returncode == 0 and "units metal" in run.stdout, run.stderr[-2000:]
    with Engine() as engine:
        engine.load(spec, out)  # LAMMPS's own read_data
        converted = engine.snapshot()
        engine.load(spec, warm[0])  # the data file LAMMPS wrote of the same state
        written = engine.snapshot()
    for name in ("lo", "hi", "tilt", "mass", "id", "type", "x", "v", "image"):
        np.testing.assert_array_equal(getattr(converted, name), getattr(written, name), err_msg=name)
