"""The reference stress as the mean of zero-strain updates from the rest states
(``reference_estimator: rest_updates``, issue 9 item 5).

Why this estimator: what the reference must cancel is the stress an update of a qp at rest
returns. For a glass a window's mean converges slowly (its stress wanders between
configurations), while updates from the rest states are independent samples of exactly that
stress: mean = reference, std / sqrt(n) = its standard error. Checked on a small copper box
(seconds): the file holds the updates and the mean and error ARE theirs; each stored update is
the stress a workflow update from that rest state with that seed returns; the window is the same
trajectory as with the window estimator, and the two references agree within their combined
error; a count that leaves rest states out is refused by name. The material's sampling_noise is
then the updates' own scatter (recomputed here), and fresh zero-strain updates from the rest-state
files scatter by it within its sampling error (F test).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from conftest import COPPER_POTENTIAL, copper_entry
from scema import seeds
from scema.io.netcdf import read_dataset
from scema.md.engine import Engine
from scema.md.material import MaterialSpec
from scema.md.preparation import reference_series
from scema.md.reference import ReferenceState
from scema.md.rest_updates import SEED_PURPOSE, mean_and_standard_error
from scema.md.update import Update, run_update
from scema.stages.material_init import report_reference, run
from scema.stages.material_replica import run as run_replica
from test_md_reference import JumpEngine, SeriesEngine, jump_spec, spec

ROOT = Path(__file__).resolve().parents[1]
SEED = 2032
SETTINGS = {  # as the tests' small workflow config, one window exactly: seconds per replica
    "equilibration_steps": 500,
    "barostat_damping_steps": 100,
    "reference_sampling_steps": 2000,
    "reference_max_windows": 1,
    "sampling_steps": 100,
    "stiffness_sampling_steps": 200,
    "rest_states": 4,
}
UPDATES = 32
MPA = 1e6

needs_lammps = pytest.mark.skipif(not COPPER_POTENTIAL.is_file(), reason="lammps-data potentials not installed")


def material_cfg(**settings) -> dict:
    """The validated ``materials.copper`` entry, as the rules pass it (defaults filled, paths absolute)."""
    spec = MaterialSpec.from_entry("copper", copper_entry(3, **{**SETTINGS, **settings}), base_dir=ROOT)
    return {field.name: getattr(spec, field.name) for field in dataclasses.fields(spec) if field.name != "name"}


def material_file(root: Path, cfg: dict) -> Path:
    """rule material_replica (two replicas) then rule material_init: -> material.nc."""
    for r in range(2):
        run_replica(
            "copper",
            cfg,
            r,
            SEED,
            str(root / f"replica_{r}.data"),
            str(root / f"replica_{r}.nc"),
            rest_dir=str(root / f"rest_{r}"),
        )
    run("copper", cfg, [str(root / f"replica_{r}.nc") for r in range(2)], str(root / "material.nc"))
    return root / "material.nc"


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> tuple[Path, Path, dict]:
    """material.nc of one replica with each estimator (same seeds: the same box, the same window)."""
    window = material_file(tmp_path_factory.mktemp("window"), material_cfg())
    cfg = material_cfg(reference_estimator="rest_updates", reference_updates=UPDATES)
    return window, material_file(tmp_path_factory.mktemp("updates"), cfg), cfg


@needs_lammps
def test_the_reference_and_its_error_are_the_mean_and_std_over_sqrt_n_of_the_stored_updates(both) -> None:
    ds = read_dataset(both[1])
    assert ds.attrs["reference_estimator"] == "rest_updates"
    assert ds["reference_updates"].values.tolist() == [UPDATES, UPDATES]
    assert ds["reference_update_stress"].shape == (2, UPDATES, 6)
    assert ds["reference_update_stress"].attrs["units"] == "Pa"
    assert ds["reference_stress_standard_error"].attrs["units"] == "Pa"
    assert "std / sqrt(n)" in ds["reference_stress_standard_error"].attrs["long_name"]
    assert ds["reference_update_rest_state"].values.tolist() == [i % 4 for i in range(UPDATES)]
    for r in range(2):
        stress = ds["reference_update_stress"].values[r]
        np.testing.assert_allclose(ds["reference_stress"].values[r], stress.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(
            ds["reference_stress_standard_error"].values[r], stress.std(axis=0, ddof=1) / np.sqrt(UPDATES), rtol=1e-12
        )
        # each replica's own file holds the same updates (material_init stacks them in replica order)
        replica = read_dataset(both[1].parent / f"replica_{r}.nc")
        np.testing.assert_array_equal(replica["reference_update_stress"].values, stress)
    assert len(np.unique(stress[:, 0])) == UPDATES  # independent samples, not one update repeated
    assert not np.array_equal(ds["reference_stress"].values[0], ds["reference_stress"].values[1])


@needs_lammps
def test_each_stored_update_is_a_workflow_update_at_rest_from_its_rest_state(both) -> None:
    """run_update (what md_batch runs for a qp) from rest state i mod 4, the replica's cell, zero
    strain, seed (run seed, "reference update", replica, i): the stored stress to round-off."""
    path, cfg = both[1], both[2]
    ds = read_dataset(path)
    spec = MaterialSpec.from_config("copper", cfg)
    root = path.parent
    with Engine() as eng:
        for i in (0, 5, UPDATES - 1):
            update = Update(
                material="copper",
                qp=i,
                replica=1,
                state_in=root / "rest_1" / f"state_{i % 4:03d}.data",
                target_strain=np.zeros(6),
                reference_cell=ds["reference_cell"].values[1],
                reference_stress=np.zeros(6),
                state_out=root / "check.data",
                seed=seeds.lammps_seed(SEED, SEED_PURPOSE, 1, i),
            )
            np.testing.assert_allclose(
                run_update(eng, spec, update), ds["reference_update_stress"].values[1, i], rtol=0, atol=1.0
            )


@needs_lammps
def test_the_window_is_the_same_and_the_two_references_agree_within_their_combined_error(both) -> None:
    window, updates = read_dataset(both[0]), read_dataset(both[1])
    assert window.attrs["reference_estimator"] == "window"
    assert (
        "reference_update_stress" not in window
        and "block averaging" in (window["reference_stress_standard_error"].attrs["long_name"])
    )
    # the same trajectory: the window estimator's numbers are kept beside the updates', bitwise
    np.testing.assert_array_equal(updates["window_reference_stress"].values, window["reference_stress"].values)
    np.testing.assert_array_equal(
        updates["window_reference_standard_error"].values, window["reference_stress_standard_error"].values
    )
    np.testing.assert_array_equal(updates["window_sampling_noise"].values, window["sampling_noise"].values)
    difference = updates["reference_stress"].values - window["reference_stress"].values
    combined = np.hypot(
        updates["reference_stress_standard_error"].values, window["reference_stress_standard_error"].values
    )
    assert np.all(np.abs(difference) < 3.0 * combined), f"difference {difference / 1e6} MPa, combined {combined / 1e6}"


def pooled_std(groups: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """Std (6,) of samples about their own group's mean, pooled by degrees of freedom, and those dof."""
    dof = sum(len(g) - 1 for g in groups)
    return np.sqrt(sum(np.var(g, axis=0, ddof=1) * (len(g) - 1) for g in groups) / dof), dof


@needs_lammps
def test_sampling_noise_is_the_scatter_of_the_stored_updates_and_the_window_keeps_its_own(both) -> None:
    """Under rest_updates the noise one replica's label carries is the updates' own scatter about
    their replica's reference (recomputed here from the stored stresses); the window's value stays
    beside it, and a window material's file keeps its sampling_noise as before."""
    window, updates = read_dataset(both[0]), read_dataset(both[1])
    expected, dof = pooled_std(list(updates["reference_update_stress"].values))
    assert dof == 2 * (UPDATES - 1)
    np.testing.assert_allclose(updates["sampling_noise"].values, expected, rtol=1e-12)
    # about each replica's reference_stress: the zero every label is measured from
    about = updates["reference_update_stress"] - updates["reference_stress"]
    np.testing.assert_allclose(np.sqrt((about**2).sum(("replica", "reference_update")) / dof), expected, rtol=1e-12)
    noise = updates["sampling_noise"]
    assert noise.attrs["units"] == "Pa" and "zero-strain update" in noise.attrs["long_name"]
    assert updates["window_sampling_noise"].attrs["units"] == "Pa"
    assert noise.attrs["long_name"] != window["sampling_noise"].attrs["long_name"]
    assert "window_sampling_noise" not in window
    assert window["sampling_noise"].attrs["long_name"].startswith("std of the stress averaged over one update window")
    windows = [read_dataset(both[0].parent / f"replica_{r}.nc")["window_stress"].values for r in range(2)]
    np.testing.assert_allclose(window["sampling_noise"].values, pooled_std(windows)[0], rtol=1e-12)


FRESH = 64  # per replica, 16 from each rest state


@needs_lammps
def test_sampling_noise_matches_the_scatter_of_fresh_zero_strain_updates(both) -> None:
    """The stored noise is what the next qp at rest will scatter by: FRESH new updates per replica
    from the same rest-state files (i mod 4, seeds of their own), their pooled std against the
    stored one by the two-sided F test of the variances (dof 2 x 63 against 2 x 31), per component
    at p = 1e-4 (the 6 together ~1e-3; fixed seeds, so a pass is a pass)."""
    from scipy.stats import f as f_dist

    path, cfg = both[1], both[2]
    ds = read_dataset(path)
    spec = MaterialSpec.from_config("copper", cfg)
    root, fresh = path.parent, []
    with Engine() as eng:
        for r in range(2):
            stress = np.empty((FRESH, 6))
            for i in range(FRESH):
                update = Update(
                    material="copper",
                    qp=i,
                    replica=r,
                    state_in=root / f"rest_{r}" / f"state_{i % 4:03d}.data",
                    target_strain=np.zeros(6),
                    reference_cell=ds["reference_cell"].values[r],
                    reference_stress=np.zeros(6),
                    state_out=root / "fresh.data",
                    seed=seeds.lammps_seed(SEED, "fresh zero-strain check", r, i),
                )
                stress[i] = run_update(eng, spec, update)
            fresh.append(stress)
    measured, dof = pooled_std(fresh)
    stored, stored_dof = ds["sampling_noise"].values, 2 * (UPDATES - 1)
    ratio = (measured / stored) ** 2
    low, high = f_dist.ppf(5e-5, dof, stored_dof), f_dist.ppf(1 - 5e-5, dof, stored_dof)
    assert np.all((ratio > low) & (ratio < high)), (
        f"fresh {measured / MPA} MPa, stored {stored / MPA} MPa: variance ratio {ratio} outside [{low:.2f}, {high:.2f}]"
    )


@pytest.mark.parametrize("updates", [2, 6, 30])
def test_a_count_that_leaves_rest_states_out_is_refused_by_name(updates) -> None:
    entry = copper_entry(3, reference_estimator="rest_updates", reference_updates=updates, rest_states=4)
    with pytest.raises(ValueError, match=rf"reference_updates \({updates}\) must be a multiple of rest_states \(4\)"):
        MaterialSpec.from_entry("copper", entry, base_dir=ROOT)


def test_one_update_has_no_standard_error() -> None:
    entry = copper_entry(3, reference_estimator="rest_updates", reference_updates=1, rest_states=1)
    with pytest.raises(ValueError, match="reference_updates"):
        MaterialSpec.from_entry("copper", entry, base_dir=ROOT)


def test_with_rest_updates_the_window_grows_past_a_jump_but_not_toward_the_error_goal() -> None:
    """No LAMMPS (the stand-in engines of test_md_reference): white noise of 1 GPa per block
    misses a 0.5 MPa goal, yet converge=False stops after one window (the error comes from the
    updates); a jump at block 700 of 1,000 still makes the window go on, as with the window
    estimator, until the part after it is one window long."""
    noisy = SeriesEngine(1e3 * MPA)
    measured = reference_series(noisy, spec(0.5 * MPA), converge=False)
    assert noisy.calls == [(10000, 10)] and len(measured.series) == 1000
    jumping = JumpEngine(at=700, seed=11)
    measured = reference_series(jumping, jump_spec(1e-3 * MPA), converge=False)
    assert jumping.calls == [(10000, 10)] * 2 and len(measured.jumps) == 1
    assert len(measured.stationary) >= 1000


def test_updates_that_miss_the_goal_warn_with_the_key_to_raise(capsys) -> None:
    """64 updates scattering by 80 MPa: std / sqrt(64) = 10 MPa > the 5 MPa goal. The report
    names material, replica and reference_updates; the window (one whole stationary window) has
    nothing to warn about, whatever its own error."""
    rng = np.random.default_rng(3)
    updates = rng.normal(0.0, 80 * MPA, (64, 6))
    entry = copper_entry(3, reference_estimator="rest_updates", reference_updates=64, rest_states=32)
    spec = MaterialSpec.from_entry("copper", entry, base_dir=ROOT)
    mean, error = mean_and_standard_error(updates)
    ref = ReferenceState(
        state=Path("replica_1.data"),
        reference_stress=mean,
        standard_error=error,
        window_stress=np.zeros((80, 6)),
        drift=np.zeros(6),
        drift_error=np.ones(6),
        jumps=(),
        measured_steps=spec.reference_sampling_steps,
        stationary_steps=spec.reference_sampling_steps,
        cell=np.eye(3),
        density=1.0,
        n_atoms=108,
        volume=1.0,
        estimator="rest_updates",
        update_stress=updates,
        window_reference=np.zeros(6),
        window_standard_error=np.full(6, 20 * MPA),
    )
    report_reference("copper", 1, spec, ref)
    err = capsys.readouterr().err
    assert "from 64 zero-strain updates from the rest states" in err
    assert f"up to {error.max() / MPA:.1f} MPa (goal 5.0 MPa)" in err
    assert "warning: material copper replica 1:" in err and "raise materials.copper.reference_updates" in err
    assert "reference_max_windows" not in err


@needs_lammps
def test_the_rest_update_material_file_passes_the_cf_checker(both) -> None:
    """The new variables and their reference_update dimension, as test_cf checks every kind."""
    from test_cf import CFCHECKS, _cf_check

    if not CFCHECKS.is_file():
        pytest.skip("cfchecks not installed")
    report = _cf_check([both[1], both[1].parent / "replica_1.nc"])
    assert len(report) == 2 and all(errors == 0 for errors, _w, _l in report.values()), report
