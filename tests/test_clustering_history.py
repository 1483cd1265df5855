"""The carried-forward strain history (one file per step) gives the clusters of the full list of strain files."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from scema.clustering import cluster_histories
from scema.io.datasets import strain_dataset
from scema.io.netcdf import write_dataset
from scema.stages.cluster import run

N_QP, N_STEPS = 240, 6
CONFIG = {"enabled": True, "alpha": 2.0e-3, "n_points": 10, "metric": "l1"}  # the clustering section


def _strain_files(tmp_path, rng):
    """Strain files of steps 1..N_STEPS: two loading paths (tension, shear then unload) + noise."""
    material = (np.arange(N_QP) % 3 == 0).astype(np.int32)
    path = rng.random(N_QP) < 0.5
    files, strains = [], []
    for step in range(1, N_STEPS + 1):
        t = step / N_STEPS
        strain = np.zeros((N_QP, 6))
        strain[path, 0] = 1e-2 * t
        strain[~path, 5] = 1e-2 * (t if t < 0.6 else 1.2 - t)
        strain += 1e-5 * rng.standard_normal(strain.shape)
        ds = strain_dataset(step, strain, strain * 0, np.zeros((N_QP, 3)), np.arange(N_QP), material, ["cu", "al"])
        files.append(write_dataset(ds, tmp_path / f"step_{step:04d}" / "strain.nc", f"strain {step}"))
        strains.append(strain)
    return files, np.stack([np.zeros((N_QP, 6))] + strains), material


def _open(path):
    with xr.open_dataset(path) as ds:
        return ds.load()


def test_chained_history_gives_the_clusters_of_all_strain_files(tmp_path):
    files, full_history, material = _strain_files(tmp_path, np.random.default_rng(3))
    previous = None
    for step, strain in enumerate(files, start=1):
        d = tmp_path / f"step_{step:04d}"
        run(CONFIG, step, str(strain), previous, str(d / "clusters.nc"), str(d / "strain_history.nc"))
        previous = str(d / "strain_history.nc")
        history = _open(previous)
        np.testing.assert_array_equal(history["strain_history"].values, full_history[: step + 1])
        np.testing.assert_array_equal(history["material"].values, material)
        expected = cluster_histories(full_history[: step + 1], material, alpha=2.0e-3)
        clusters = _open(d / "clusters.nc")
        np.testing.assert_array_equal(clusters["representative"].values, expected.representative)
        assert 2 <= expected.n_clusters < N_QP  # both paths and both materials separate, noise merges
    assert history.sizes["step"] == N_STEPS + 1 and history["strain_history"].attrs["units"] == "1"


def test_a_history_of_another_specimen_is_refused(tmp_path):
    files, _, _ = _strain_files(tmp_path, np.random.default_rng(4))
    d = tmp_path / "step_0001"
    run(CONFIG, 1, str(files[0]), None, str(d / "clusters.nc"), str(d / "strain_history.nc"))
    short = _open(d / "strain_history.nc").isel(qp=slice(0, 10))
    write_dataset(short, tmp_path / "short.nc", "truncated history")
    with pytest.raises(ValueError, match="short.nc"):
        run(CONFIG, 2, str(files[1]), str(tmp_path / "short.nc"), str(tmp_path / "c.nc"), str(tmp_path / "h.nc"))
