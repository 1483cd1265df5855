"""Rest states (issue 9, item 5): a material's qps start from states taken along the reference
window, not all from one file.

Why: the mean over thermostat seeds of an update from ONE state is that state's conditional
mean. It remembers the state's own stress fluctuation for ~200 steps (500 Cu atoms, replica 0:
+13 MPa xx over a first update's window; the updates after it within their errors), so a
specimen whose qps all started from one file carried that fluctuation as a common bias at its
first step. Checked here: the assignment (qp k -> rest state k mod rest_states), the choice along
the stationary part, that writing them leaves the reference trajectory bitwise unchanged, and
the issue's own test: zero-strain updates over many seeds average to the reference within their
standard error, at chain position 1 and at positions 2..5.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import COPPER_POTENTIAL, copper_entry
from scema import seeds
from scema.md.engine import Engine
from scema.md.material import MaterialSpec
from scema.md.preparation import ReferenceWindow, equilibrate_replica
from scema.md.update import Update, run_update
from scema.stages.initial_state import rest_state_files

ROOT = Path(__file__).resolve().parents[1]
MPA = 1e6
needs_lammps = pytest.mark.skipif(not COPPER_POTENTIAL.is_file(), reason="lammps-data potentials not installed")


def test_the_k_th_qp_of_a_material_starts_from_rest_state_k_mod_rest_states() -> None:
    rest = np.array([[f"r{r}_s{s}" for s in range(3)] for r in range(2)], dtype=object)
    material = xr.Dataset(
        {
            "rest_state_file": (("replica", "rest_state"), rest),
            "state_file": ("replica", np.array(["r0", "r1"], dtype=object)),
        }
    )
    files = rest_state_files(material, 2, 7)
    assert files.shape == (7, 2)
    assert [files[k, 1] for k in range(7)] == ["r1_s0", "r1_s1", "r1_s2", "r1_s0", "r1_s1", "r1_s2", "r1_s0"]
    assert all(files[k, 0] == f"r0_s{k % 3}" for k in range(7))
    assert rest_state_files(material, 1, 2).tolist() == [["r0_s0"], ["r0_s1"]]
    # a material made before rest states: every qp from its replica's state file
    old = material.drop_vars("rest_state_file")
    assert rest_state_files(old, 2, 3).tolist() == [["r0", "r1"]] * 3


def test_rest_states_are_spread_over_the_stationary_part_only() -> None:
    """Snapshots every 10 blocks; the last jump at block 45: only those at blocks >= 45 describe
    the state the reference averages. Fewer left than asked for: repeated in turn."""
    snapshots = tuple((10 * k, Path(f"s{10 * k}")) for k in range(1, 11))
    window = ReferenceWindow(series=np.zeros((100, 6)), start=45, jumps=(), snapshots=snapshots)
    assert [p.name for p in window.rest_states(3)] == ["s50", "s70", "s100"]
    assert [p.name for p in window.rest_states(6)] == ["s50", "s60", "s70", "s80", "s90", "s100"]
    assert [p.name for p in window.rest_states(8)] == ["s50", "s60", "s70", "s80", "s90", "s100", "s50", "s60"]
    assert ReferenceWindow(series=np.zeros((100, 6)), start=0, jumps=()).rest_states(4) == ()


@pytest.mark.parametrize(
    ("estimator", "n_qp", "warned"), [("rest_updates", 16, True), ("rest_updates", 64, False), ("window", 16, False)]
)
def test_qps_that_start_from_only_some_rest_states_of_a_rest_update_material_are_warned_about(
    capsys, estimator, n_qp, warned
) -> None:
    """16 qps from 32 states use states 0-15 only while the reference averages all 32 (the glass
    bar as it was: -21 MPa xx, docs/results/cuzr_glass_rest_state_spacing.txt): named, with the
    key and the count to set; 64 qps use every state twice; window materials are not warned."""
    from scema.stages.initial_state import warn_unbalanced_rest_states

    rest = np.array([[f"s{s}" for s in range(32)]], dtype=object)
    material = xr.Dataset(
        {"rest_state_file": (("replica", "rest_state"), rest)}, attrs={"reference_estimator": estimator}
    )
    warn_unbalanced_rest_states("cuzr_glass", material, n_qp)
    err = capsys.readouterr().err
    assert ("set materials.cuzr_glass.rest_states to 16" in err) is warned
    assert bool(err) is warned


@needs_lammps
def test_rest_states_leave_the_reference_bitwise_and_are_states_of_its_trajectory(tmp_path) -> None:
    """With rest_dir the replica's reference window is the same trajectory to the last bit (the
    snapshots are written between sub-runs without re-initialising); the last snapshot is the
    state at the end of the window, atom for atom as write_data then writes it."""
    spec = MaterialSpec.from_entry(
        "copper",
        copper_entry(3, equilibration_steps=500, barostat_damping_steps=100, reference_sampling_steps=2000),
        base_dir=ROOT,
    ).replace(rest_states=4, sampling_steps=100)
    with Engine() as eng:
        plain = equilibrate_replica(spec, 7, 0, tmp_path / "plain.data", engine=eng)
        ref = equilibrate_replica(spec, 7, 0, tmp_path / "replica_0.data", engine=eng, rest_dir=tmp_path / "rest")
        end = tmp_path / "end.data"
        eng.write_state(end)
        for name in ("reference_stress", "standard_error", "window_stress", "cell"):
            np.testing.assert_array_equal(getattr(plain, name), getattr(ref, name), err_msg=name)
        assert plain.rest_states == ()
        assert [p.name for p in ref.rest_states] == [f"state_{k:03d}.data" for k in range(4)]
        assert sorted(p.name for p in (tmp_path / "rest").iterdir()) == [f"state_{k:03d}.data" for k in range(4)]
        last, final = unwrapped_state(ref.rest_states[-1]), unwrapped_state(end)
        np.testing.assert_allclose(last[0], final[0], rtol=0, atol=1e-9)  # positions, A
        np.testing.assert_array_equal(last[1], final[1])  # velocities
        assert len({unwrapped_state(p)[0].tobytes() for p in ref.rest_states}) == 4
        # and every one loads as the reference box
        for path in ref.rest_states:
            eng.load(spec, path)
            np.testing.assert_allclose(eng.box_matrix(), ref.cell, rtol=0, atol=1e-9)
        # the series with snapshots is bitwise the series without
        eng.load(spec, tmp_path / "replica_0.data")
        eng.nvt(spec, seed=5)
        a = eng.stress_blocks(1000, 10)
        eng.load(spec, tmp_path / "replica_0.data")
        eng.nvt(spec, seed=5)
        with tempfile.TemporaryDirectory() as tmp:
            b = reference_series_blocks(eng, tmp)
        np.testing.assert_array_equal(a, b)


def unwrapped_state(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(unwrapped positions, velocities) by atom id of a LAMMPS data file (atomic style). A file
    written without re-initialising keeps atoms that crossed a face unwrapped: the same state."""
    from scema.md.engine import _data_file_box

    lo, hi, (xy, xz, yz) = _data_file_box(path)
    cell = np.array([[hi[0] - lo[0], xy, xz], [0.0, hi[1] - lo[1], yz], [0.0, 0.0, hi[2] - lo[2]]])
    text = path.read_text()
    atoms = np.array(
        [line.split() for line in text.split("Atoms # atomic")[1].split("Velocities")[0].splitlines() if line]
    )
    velocities = np.array([line.split() for line in text.split("Velocities")[1].splitlines() if line], dtype=float)
    atoms = atoms[np.argsort(atoms[:, 0].astype(int))].astype(float)
    positions = atoms[:, 2:5] + atoms[:, 5:8] @ cell.T
    return positions, velocities[np.argsort(velocities[:, 0])]


def reference_series_blocks(eng: Engine, tmp: str) -> np.ndarray:
    blocks = eng.stress_blocks(1000, 10, snapshots=(250, f"{tmp}/w_*.data"))
    assert sorted(p.name for p in Path(tmp).iterdir()) == ["w_1000.data", "w_250.data", "w_500.data", "w_750.data"]
    return blocks


def zero_strain_chains(spec, ref, chains: int, length: int, tmp: Path) -> np.ndarray:
    """(chains, length, 6) Pa: chain c from rest state c mod rest_states, each update through
    run_update (state written and loaded again), reference subtracted, own seeds."""
    out = np.zeros((chains, length, 6))
    with Engine() as eng:
        for c in range(chains):
            state = ref.rest_states[c % len(ref.rest_states)]
            for k in range(length):
                update = Update(
                    material="copper",
                    qp=c,
                    replica=0,
                    state_in=state,
                    target_strain=np.zeros(6),
                    reference_cell=ref.cell,
                    reference_stress=ref.reference_stress,
                    state_out=tmp / f"chain_{k % 2}.data",
                    seed=seeds.lammps_seed(11, "zero-strain chain", c, k),
                )
                out[c, k] = run_update(eng, spec, update)
                state = update.state_out
    return out


@needs_lammps
@pytest.mark.slow
def test_zero_strain_updates_average_to_the_reference_at_the_first_and_later_positions(tmp_path) -> None:
    """The issue's test on the default copper (500 atoms, default settings, 24,000-step window,
    32 rest states): 64 chains of 5 zero-strain updates (two per rest state). The mean at
    position 1 and over positions 2..5 is within 3 combined standard errors (the chains' error
    from the 32 rest-state groups, and the reference's own blocking error) of zero on every
    component. Before rest states every chain started from one file: on the default run's
    replica 0 position 1 was +13 MPa (xx) off, z 3.6 (tests/benchmarks/zero_strain_chains.py)."""
    spec = MaterialSpec.from_entry("copper", copper_entry(5), base_dir=ROOT)
    with Engine() as eng:
        ref = equilibrate_replica(spec, 12345, 0, tmp_path / "replica_0.data", engine=eng, rest_dir=tmp_path / "rest")
    assert len(ref.rest_states) == spec.rest_states == 32
    stress = zero_strain_chains(spec, ref, 64, 5, tmp_path)
    group = np.arange(64) % 32
    for label, values in (("position 1", stress[:, 0]), ("positions 2-5", stress[:, 1:].mean(axis=1))):
        means = np.stack([values[group == g].mean(axis=0) for g in range(32)])
        mean, se = means.mean(axis=0), means.std(axis=0, ddof=1) / np.sqrt(32)
        z = mean / np.hypot(se, ref.standard_error)
        assert np.all(np.abs(z) < 3.0), f"{label}: mean {mean / MPA} MPa, SE {se / MPA}, z {z}"
        assert np.all(se < 6 * MPA), f"{label}: SE {se / MPA} MPa (the test has no power)"
