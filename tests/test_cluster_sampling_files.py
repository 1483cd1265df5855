"""The aggregate stage on clusters.nc files: members that did not run MD take the mean of their
cluster's MD stresses carried to their own strain by the recorded stiffness, and a clusters.nc
without that stiffness or without the sampled flags is refused (no silent plain mean)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from scema.clustering import Clusters
from scema.io.datasets import clusters_dataset, md_state_dataset, strain_dataset
from scema.io.netcdf import component_coord, index_coord, read_dataset, write_dataset
from scema.stages import aggregate

REP = np.array([0, 0, 0, 0, 4, 4, 6])  # clusters {0,1,2,3}, {4,5}, {6}
SAMPLED = np.array([1, 0, 1, 0, 1, 0, 1], dtype=bool)
SETTINGS = {"alpha": 1e-3, "metric": "l1", "n_points": 10, "noise_allowance": 1.5}


def _files(tmp_path, stiffness=True, sampled=True):
    """strain, previous MD state, one MD batch of the sampled qps, clusters.nc (1 replica)."""
    n, rng = REP.size, np.random.default_rng(4)
    strain = rng.normal(scale=1e-3, size=(n, 6))
    write_dataset(
        strain_dataset(1, strain, strain, np.zeros((n, 3)), np.arange(n), np.zeros(n), ["cu"]), tmp_path / "s.nc", "s"
    )
    files = np.array([[f"ref{q}"] for q in range(n)], dtype=object)
    write_dataset(md_state_dataset(0, files, np.zeros((n, 1, 6)), np.zeros((n, 1, 6))), tmp_path / "md0.nc", "md")
    ran = np.flatnonzero(SAMPLED)
    md_stress = rng.normal(scale=1e8, size=(ran.size, 6))
    batch = xr.Dataset(
        {
            "qp_id": ("update", ran, {"units": "1", "long_name": "q"}),
            "replica_id": ("update", np.zeros(ran.size, dtype=int), {"units": "1", "long_name": "r"}),
            "stress": (("update", "component"), md_stress, {"units": "Pa", "long_name": "s"}),
            "state_file": (
                "update",
                np.array([f"new{q}" for q in ran], dtype=object),
                {"units": "1", "long_name": "f"},
            ),
            "target_strain": (("update", "component"), strain[ran], {"units": "1", "long_name": "t"}),
        },
        coords={**index_coord("update", ran.size, "u"), **component_coord()},
    )
    write_dataset(batch, tmp_path / "b.nc", "b")
    a = rng.normal(size=(6, 6))
    c = (a @ a.T + 6 * np.eye(6)) * 1e10
    sizes = np.bincount(REP, minlength=REP.size)[REP]
    found = Clusters(REP, np.zeros(REP.size), sizes)
    ds = clusters_dataset(1, found, SETTINGS, SAMPLED, c[None] if stiffness else None)
    if not sampled:
        ds = ds.drop_vars("sampled")
    write_dataset(ds, tmp_path / "c.nc", "c")
    return strain, md_stress, c


def _aggregate(tmp_path):
    aggregate.run(
        1,
        str(tmp_path / "s.nc"),
        str(tmp_path / "md0.nc"),
        [str(tmp_path / "b.nc")],
        str(tmp_path / "stress.nc"),
        str(tmp_path / "md1.nc"),
        clusters_path=str(tmp_path / "c.nc"),
    )


def test_members_take_the_transported_cluster_mean_and_the_representatives_box(tmp_path):
    strain, md_stress, c = _files(tmp_path)
    _aggregate(tmp_path)
    stress, state = read_dataset(tmp_path / "stress.nc"), read_dataset(tmp_path / "md1.nc")
    by_qp = dict(zip(np.flatnonzero(SAMPLED).tolist(), md_stress))
    expected = np.empty((REP.size, 6))
    for q in range(REP.size):  # independent reference, qp by qp
        runs = [p for p in range(REP.size) if REP[p] == REP[q] and SAMPLED[p]]
        if SAMPLED[q]:
            expected[q] = by_qp[q]
        else:
            mean_eps = np.mean([strain[p] for p in runs], axis=0)
            expected[q] = np.mean([by_qp[p] for p in runs], axis=0) + c @ (strain[q] - mean_eps)
    np.testing.assert_allclose(stress["stress"].values, expected, rtol=1e-12, atol=1e-3)
    np.testing.assert_array_equal(stress["source"].values, np.where(SAMPLED, 0, 1))
    assert state["state_file"].values[:, 0].tolist() == [f"new{REP[q] if not SAMPLED[q] else q}" for q in range(7)]


@pytest.mark.parametrize(
    "missing,message", [("stiffness", "has no transport_stiffness"), ("sampled", "has no sampled members")]
)
def test_clusters_file_from_older_code_is_refused(tmp_path, missing, message):
    _files(tmp_path, stiffness=missing != "stiffness", sampled=missing != "sampled")
    with pytest.raises(ValueError, match=message):
        _aggregate(tmp_path)
    assert not (tmp_path / "stress.nc").exists()
