"""The committee inside the workflow: when it trains, what it may answer, and resume safety."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import kill_run_when, resume_run, run_workflow, seed_materials, small_config

pytestmark = pytest.mark.workflow

QUICK = {"size": 2, "max_epochs": 15, "patience": 5, "width": 16}


def _open(path: Path) -> xr.Dataset:
    with xr.open_dataset(path) as ds:
        return ds.load()


def _committee_config(steps: int, **settings) -> dict:
    cfg = small_config()
    cfg["run"]["steps"] = steps
    cfg["committee"] = {"enabled": True, **QUICK, **settings}
    return cfg


@pytest.mark.workflow
def test_zero_accuracy_trusts_nothing_and_equals_brute_force(tmp_path, copper_cache, brute_force_run):
    """The default committee (ridge, deviation, version 0 with the 0 K law) at accuracy 0 Pa:
    version 0 at step 1 and version 1 at step 2 are asked and trust nothing, so the run is brute force."""
    seed_materials(tmp_path, copper_cache)
    # train after step 1 so that step 2 is really queried; accuracy 0 Pa must still send all to MD
    run_workflow(tmp_path, _committee_config(2, train_frequency=16, stress_accuracy_mpa=0.0))
    # material_zero_kelvin's law is that of a cubic crystal: e_xx^2 in sigma_xx = e_yy^2 in sigma_yy =
    # e_zz^2 in sigma_zz, alike for e_xx e_yy; negative (copper softens in tension, C111 < 0)
    law = _open(tmp_path / "results/materials/copper/zero_kelvin.nc")["second_order"]
    normal = np.array([law.sel(pair=f"{c}*{c}", component=c).item() for c in ("xx", "yy", "zz")])
    np.testing.assert_allclose(normal, normal[0], rtol=1e-6)
    cross = np.array(
        [law.sel(pair=p, component=c).item() for p, c in (("xx*yy", "xx"), ("xx*zz", "xx"), ("yy*zz", "yy"))]
    )
    np.testing.assert_allclose(cross, cross[0], rtol=1e-6)
    assert normal[0] < 0 and law.attrs["units"] == "Pa"
    step1 = _open(tmp_path / "results/step_0001/committee_query.nc")
    assert step1.attrs["committee_used"] == 1 and step1["version"].values.tolist() == [0]
    assert np.all(step1["decision"].values == 0)
    step2 = _open(tmp_path / "results/step_0002/committee_query.nc")
    assert step2.attrs["committee_used"] == 1 and step2["version"].values.tolist() == [1]
    assert np.all(step2["decision"].values == 0)
    assert np.isfinite(step2["std"].values).all()
    for step in (1, 2):
        a = _open(brute_force_run / f"results/step_{step:04d}/stress.nc")["stress"].values
        b = _open(tmp_path / f"results/step_{step:04d}/stress.nc")["stress"].values
        np.testing.assert_array_equal(a, b)


def _state(workdir: Path, step: int) -> dict:
    """The committee record of the (only) material, copper, as plain numbers."""
    record = _open(workdir / f"results/step_{step:04d}/committee.nc")
    return {name: record[name].values[0].item() for name in ("n_samples", "version")}


@pytest.mark.workflow
def test_retrains_exactly_at_train_frequency_and_resume_neither_retrains_nor_duplicates(tmp_path, copper_cache):
    n_qp = 16  # small config: 1 x 1 x 2 hexahedra x 8 Gauss points, every qp runs MD until trained
    # no version 0 (on by default): the first version is trained from the samples
    cfg = _committee_config(3, train_frequency=20, stress_accuracy_mpa=0.0, prior_version=False)
    seed_materials(tmp_path, copper_cache)
    state_dir = tmp_path / "results/step_0003/md/state"
    config_path = kill_run_when(tmp_path, cfg, lambda: any(state_dir.glob("*.nc")))
    version_dir = tmp_path / "results/committee/copper/v1"
    trained = {p: p.stat().st_mtime_ns for p in version_dir.rglob("*") if p.is_file()}
    assert trained, "version 1 should exist after step 2 (32 samples >= 20)"

    resume_run(tmp_path, cfg, config_path)

    # 16 samples per step: 16 (< 20, nothing), 32 (train v1), 48 (48 - 32 < 20, nothing)
    assert [_state(tmp_path, t)["n_samples"] for t in (1, 2, 3)] == [n_qp, 2 * n_qp, 3 * n_qp]
    assert [_state(tmp_path, t)["version"] for t in (1, 2, 3)] == [0, 1, 1]
    assert sorted(p.name for p in (tmp_path / "results/committee/copper").iterdir()) == ["v1"]
    assert {p: p.stat().st_mtime_ns for p in version_dir.rglob("*") if p.is_file()} == trained
    metrics = _open(version_dir / "metrics.nc")
    assert int(metrics["train_size"].max()) <= 2 * n_qp
    # nothing is trusted before the first training
    for step in (1, 2):
        query = _open(tmp_path / f"results/step_{step:04d}/committee_query.nc")
        assert query.attrs["committee_used"] == 0 and np.all(query["decision"].values == 0)
    # the training set has every (step, qp) exactly once
    samples = xr.concat([_open(tmp_path / f"results/step_{t:04d}/training_samples.nc") for t in (1, 2, 3)], "sample")
    pairs = list(zip(samples["step_id"].values.tolist(), samples["qp_id"].values.tolist()))
    assert len(pairs) == len(set(pairs)) == 3 * n_qp


def _wrong_committee(workdir: Path, materials: Path) -> None:
    """A committee that learned a wrong law (elastic + 200 MPa on every component), installed
    as copper's accepted version 1 before the run starts (test data, not MD)."""
    from scema.committee import default_settings, features, train_committee
    from scema.io.datasets import committee_record_dataset
    from scema.io.netcdf import write_dataset
    from scema.symmetry import project

    c = project(_open(materials / "copper/material.nc")["stiffness"].mean("replica").values, "cubic")
    rng = np.random.default_rng(0)
    eps, deps = rng.uniform(-4e-3, 4e-3, (200, 6)), rng.uniform(-4e-3, 4e-3, (200, 6))
    stress = eps @ c.T + deps @ c.T + 200e6
    directory = "results/committee/copper/v1"
    train_committee(
        features(eps, eps @ c.T, deps),
        stress,
        default_settings(**QUICK, target="correction"),
        workdir / directory,
        stiffness=c,
    )
    record = committee_record_dataset(0, ["copper"], [1], [directory], [200], [200], [1], [0])
    write_dataset(record, workdir / "results/step_0000/committee.nc", "committee record, step 0 (wrong law)")


def test_audits_suspend_a_wrong_committee_and_resume_keeps_every_audit_record_once(
    tmp_path, copper_cache, brute_force_run
):
    n_qp = 16
    # no version 0 (on by default): committee_start would replace the installed wrong version
    cfg = _committee_config(2, train_frequency=1000, audit_fraction=1.0, prior_version=False, zero_kelvin_law=False)
    seed_materials(tmp_path, copper_cache)
    _wrong_committee(tmp_path, tmp_path / "results/materials")
    state_dir = tmp_path / "results/step_0002/md/state"
    config_path = kill_run_when(tmp_path, cfg, lambda: any(state_dir.glob("*.nc")))
    step1 = tmp_path / "results/step_0001"
    written = {p.name: p.stat().st_mtime_ns for p in (step1 / "training_samples.nc", step1 / "committee.nc")}
    resume_run(tmp_path, cfg, config_path)

    # step 1: the wrong committee was trusted everywhere (spread small), and with audit_fraction 1
    # every trusted qp also ran MD, whose stress is used
    query1 = _open(step1 / "committee_query.nc")
    assert query1["usable"].values.tolist() == [1] and np.all(query1["decision"].values == 2)
    record1 = _open(step1 / "committee.nc")
    assert record1["n_audited"].values.tolist() == [n_qp] and record1["suspended"].values.tolist() == [1]
    assert record1["audit_failed_fraction"].values.tolist() == [1.0]
    assert 100e6 < record1["audit_net_error"].sel(statistic="median").values[0] < 400e6  # the 200 MPa bias
    # step 2: suspended, so nothing is trusted and every qp runs MD
    query2 = _open(tmp_path / "results/step_0002/committee_query.nc")
    assert query2["usable"].values.tolist() == [0] and np.all(query2["decision"].values == 0)
    stress1 = _open(step1 / "stress.nc")
    assert np.all(stress1["source"].values == 0) and np.all(stress1["audited"].values == 1)
    assert 140e6 < np.mean(stress1["stress_committee"].values - stress1["stress"].values) < 260e6
    # audited MD is the brute-force MD: the whole run equals brute force bitwise
    for step in (1, 2):
        a = _open(brute_force_run / f"results/step_{step:04d}/stress.nc")["stress"].values
        np.testing.assert_array_equal(a, _open(tmp_path / f"results/step_{step:04d}/stress.nc")["stress"].values)
    # resume: step 1's audit records were neither rewritten nor lost nor duplicated
    assert {p.name: p.stat().st_mtime_ns for p in (step1 / "training_samples.nc", step1 / "committee.nc")} == written
    samples = xr.concat([_open(tmp_path / f"results/step_{t:04d}/training_samples.nc") for t in (1, 2)], "sample")
    audits = samples["audited"].values == 1
    pairs = list(zip(samples["step_id"].values[audits].tolist(), samples["qp_id"].values[audits].tolist()))
    assert sorted(pairs) == [(1, q) for q in range(n_qp)]
    summary = _open(tmp_path / "results/summary.nc")
    assert summary["audited"].values.tolist() == [n_qp, 0] and summary["suspended_materials"].values.tolist() == [1, 1]
    np.testing.assert_allclose(summary["audit_net_error"].values[0], record1["audit_net_error"].values[0])
