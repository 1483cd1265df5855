"""An MD batch split over worker processes gives exactly the one-process result."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import xarray as xr

from conftest import small_config
from scema.config import validate_config
from scema.stages.md_batch import run



@pytest.mark.workflow
def test_side_by_side_workers_reproduce_the_serial_batch(tmp_path, brute_force_run, monkeypatch):
    workdir = tmp_path / "run"
    shutil.copytree(brute_force_run / "results", workdir / "results")
    monkeypatch.chdir(workdir)
    from pathlib import Path

    cfg = validate_config(small_config(), search_dirs=[Path(__file__).resolve().parents[1]])
    cfg["md"]["processes_per_batch"] = 2
    materials = {"copper": "results/materials/copper/material.nc"}
    schedule = "results/step_0002/md_schedule.nc"
    serial = xr.open_dataset(brute_force_run / "results/step_0002/md/batch_0.nc").load()
    for state in serial["state_file"].values:  # the workers must write these again
        (workdir / str(state)).unlink()
    run(cfg, schedule, 0, materials, "out.nc")
    parallel = xr.open_dataset("out.nc").load()
    assert parallel.attrs["processes"] == 2
    np.testing.assert_array_equal(parallel["qp_id"].values, serial["qp_id"].values)
    np.testing.assert_array_equal(parallel["stress"].values, serial["stress"].values)
    for state in serial["state_file"].values:
        assert (workdir / str(state)).read_bytes() == (brute_force_run / str(state)).read_bytes()
