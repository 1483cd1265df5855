"""The committee inside the workflow: when it trains, what it may answer, and resume safety."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import run_workflow, seed_materials, small_config, snakemake_cmd, write_config

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
    seed_materials(tmp_path, copper_cache)
    # train after step 1 so that step 2 is really queried; accuracy 0 Pa must still send all to MD
    run_workflow(tmp_path, _committee_config(2, train_frequency=16, stress_accuracy_mpa=0.0, max_validation_error_mpa=1.0e6))
    step2 = _open(tmp_path / "results/step_0002/committee.nc")
    assert step2.attrs["committee_used"] == 1 and step2.attrs["committee_version"] == 1
    assert np.all(step2["decision"].values == 0)
    assert np.isfinite(step2["std"].values).all()
    for step in (1, 2):
        a = _open(brute_force_run / f"results/step_{step:04d}/stress.nc")["stress"].values
        b = _open(tmp_path / f"results/step_{step:04d}/stress.nc")["stress"].values
        np.testing.assert_array_equal(a, b)


def _state(workdir: Path, step: int) -> dict:
    return _open(workdir / f"results/step_{step:04d}/committee_state.nc").attrs


@pytest.mark.workflow
def test_retrains_exactly_at_train_frequency_and_resume_neither_retrains_nor_duplicates(tmp_path, copper_cache):
    n_qp = 16  # small config: 1 x 1 x 2 hexahedra x 8 Gauss points, every qp runs MD until trained
    cfg = _committee_config(3, train_frequency=20, stress_accuracy_mpa=0.0)
    seed_materials(tmp_path, copper_cache)
    config_path = write_config(tmp_path, cfg)
    proc = subprocess.Popen(snakemake_cmd(tmp_path, config_path), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_dir = tmp_path / "results/step_0003/md/state"
    deadline = time.time() + 600
    while not any(state_dir.glob("*.data")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before step 3's MD"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    version_dir = tmp_path / "results/committee/v1"
    trained = {p: p.stat().st_mtime_ns for p in version_dir.rglob("*") if p.is_file()}
    assert trained, "version 1 should exist after step 2 (32 samples >= 20)"

    subprocess.run(snakemake_cmd(tmp_path, config_path, "--unlock"), check=True, capture_output=True)
    run_workflow(tmp_path, cfg)

    # 16 samples per step: 16 (< 20, nothing), 32 (train v1), 48 (48 - 32 < 20, nothing)
    assert [_state(tmp_path, t)["n_samples"] for t in (1, 2, 3)] == [n_qp, 2 * n_qp, 3 * n_qp]
    assert [_state(tmp_path, t)["committee_version"] for t in (1, 2, 3)] == [0, 1, 1]
    assert sorted(p.name for p in (tmp_path / "results/committee").iterdir()) == ["v1"]
    assert {p: p.stat().st_mtime_ns for p in version_dir.rglob("*") if p.is_file()} == trained
    metrics = _open(version_dir / "metrics.nc")
    assert int(metrics["train_size"].max()) <= 2 * n_qp
    # nothing is trusted before the first training
    for step in (1, 2):
        query = _open(tmp_path / f"results/step_{step:04d}/committee.nc")
        assert query.attrs["committee_used"] == 0 and np.all(query["decision"].values == 0)
    # the training set has every (step, qp) exactly once
    samples = xr.concat([_open(tmp_path / f"results/step_{t:04d}/training_samples.nc") for t in (1, 2, 3)], "sample")
    pairs = list(zip(samples["step_id"].values.tolist(), samples["qp_id"].values.tolist()))
    assert len(pairs) == len(set(pairs)) == 3 * n_qp
