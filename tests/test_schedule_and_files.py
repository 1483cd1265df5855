"""The MD schedule (pure numpy) and the NetCDF writer's guarantees."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from scema.io.netcdf import read_dataset, write_dataset
from scema.schedule import plan


def _inputs(n_qp=10, replicas=3):
    rng = np.random.default_rng(1)
    strain = rng.normal(size=(n_qp, 6))
    state_strain = rng.normal(size=(n_qp, replicas, 6))
    state_file = np.array([[f"old/q{q}_r{r}" for r in range(replicas)] for q in range(n_qp)], dtype=object)
    return strain, state_strain, state_file


@pytest.mark.parametrize("max_batches", [1, 4, 7, 1000])
def test_every_update_scheduled_once_in_bounded_balanced_batches(max_batches):
    strain, state_strain, state_file = _inputs()
    qps = np.array([7, 2, 5, 0])
    s = plan(
        qps, strain, np.zeros(10, int), state_file, state_strain, max_batches, "results/step_0003/md/state", [".nc"]
    )
    pairs = set(zip(s.qp.tolist(), s.replica.tolist()))
    assert pairs == {(q, r) for q in qps for r in range(3)} and len(pairs) == s.qp.size == 12
    assert s.n_batches == min(max_batches, 12)
    sizes = np.bincount(s.batch, minlength=s.n_batches)
    assert sizes.max() - sizes.min() <= 1
    # the strain applied is what accumulated since the state was written, not the last increment
    np.testing.assert_array_equal(s.strain_increment, strain[s.qp] - state_strain[s.qp, s.replica])
    assert s.state_in[0] == state_file[s.qp[0], s.replica[0]]
    assert len(set(s.state_out)) == 12 and all(p.startswith("results/step_0003/md/state/") for p in s.state_out)


def _dataset():
    return xr.Dataset(
        {"stress": ("qp", np.arange(3.0), {"units": "Pa", "long_name": "stress"})},
        coords={"qp": ("qp", np.arange(3), {"units": "1", "long_name": "qp"})},
    )


def test_write_dataset_stamps_cf_metadata_and_leaves_no_temp_file(tmp_path):
    path = write_dataset(_dataset(), tmp_path / "x.nc", "test file")
    ds = read_dataset(path)
    assert ds.attrs["Conventions"].startswith("CF-") and "scema" in ds.attrs["source"] and ds.attrs["history"]
    np.testing.assert_array_equal(ds["stress"].values, [0.0, 1.0, 2.0])
    assert os.listdir(tmp_path) == ["x.nc"]


def test_write_dataset_refuses_variable_without_units(tmp_path):
    ds = _dataset()
    ds["bad"] = ("qp", np.zeros(3), {"long_name": "no units here"})
    with pytest.raises(ValueError, match="'bad' has no 'units'"):
        write_dataset(ds, tmp_path / "x.nc", "test")
    assert not list(tmp_path.iterdir())


def test_failed_write_keeps_previous_file(tmp_path):
    target = tmp_path / "x.nc"
    write_dataset(_dataset(), target, "first")
    before = target.read_bytes()
    ds = _dataset()
    ds["obj"] = ("qp", np.array([object(), object(), object()]), {"units": "1", "long_name": "unwritable"})
    with pytest.raises(Exception):
        write_dataset(ds, target, "second")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.nc"]


def test_aggregate_keeps_each_box_state_strain_and_md_stress_and_uses_md_at_audits(tmp_path):
    """Trusted qps keep their box (strain and MD stress where it was saved); audited and MD qps
    take the MD stress and move their box; the committee answer stays beside an audit."""
    from scema.io.datasets import md_state_dataset, strain_dataset
    from scema.io.netcdf import component_coord, index_coord
    from scema.stages import aggregate
    from scema.stages.committee_query import DECISIONS

    n, rng = 3, np.random.default_rng(2)
    strain, old_strain, old_stress = rng.normal(size=(n, 6)), rng.normal(size=(n, 2, 6)), rng.normal(size=(n, 2, 6))
    files = np.array([[f"old{q}_{r}" for r in range(2)] for q in range(n)], dtype=object)
    write_dataset(md_state_dataset(0, files, old_strain, old_stress), tmp_path / "md0.nc", "md")
    write_dataset(
        strain_dataset(1, strain, strain, np.zeros((n, 3)), np.arange(n), np.zeros(n), ["cu"]), tmp_path / "s.nc", "s"
    )
    decision = np.array([DECISIONS["md"], DECISIONS["committee"], DECISIONS["audit"]], dtype=np.int8)
    mean = rng.normal(size=(n, 6))
    query = xr.Dataset(
        {
            "decision": ("qp", decision, {"units": "1", "long_name": "d"}),
            "mean": (("qp", "component"), mean, {"units": "Pa", "long_name": "m"}),
            "std": (("qp", "component"), np.ones((n, 6)), {"units": "Pa", "long_name": "s"}),
        },
        coords={**index_coord("qp", n, "qp"), **component_coord()},
    )
    write_dataset(query, tmp_path / "q.nc", "q")
    md = [0, 0, 2, 2]
    md_stress = rng.normal(size=(4, 6))
    batch = xr.Dataset(
        {
            "qp_id": ("update", np.array(md), {"units": "1", "long_name": "q"}),
            "replica_id": ("update", np.array([0, 1, 0, 1]), {"units": "1", "long_name": "r"}),
            "stress": (("update", "component"), md_stress, {"units": "Pa", "long_name": "s"}),
            "state_file": (
                "update",
                np.array(["n0", "n1", "n2", "n3"], dtype=object),
                {"units": "1", "long_name": "f"},
            ),
            "target_strain": (("update", "component"), strain[md], {"units": "1", "long_name": "t"}),
        },
        coords={**index_coord("update", 4, "u"), **component_coord()},
    )
    write_dataset(batch, tmp_path / "b.nc", "b")
    aggregate.run(
        1,
        str(tmp_path / "s.nc"),
        str(tmp_path / "md0.nc"),
        [str(tmp_path / "b.nc")],
        str(tmp_path / "stress.nc"),
        str(tmp_path / "md1.nc"),
        committee_path=str(tmp_path / "q.nc"),
    )
    stress, state = read_dataset(tmp_path / "stress.nc"), read_dataset(tmp_path / "md1.nc")
    np.testing.assert_array_equal(stress["source"].values, [0, 2, 0])
    np.testing.assert_array_equal(stress["audited"].values, [0, 0, 1])
    np.testing.assert_array_equal(stress["stress"].values[1], mean[1])
    np.testing.assert_array_equal(stress["stress"].values[2], md_stress[2:].mean(axis=0))
    np.testing.assert_array_equal(stress["stress_committee"].values[2], mean[2])
    np.testing.assert_array_equal(state["state_stress"].values[[0, 2]], md_stress.reshape(2, 2, 6))
    np.testing.assert_array_equal(state["state_strain"].values[2], np.stack([strain[2]] * 2))
    np.testing.assert_array_equal(state["state_stress"].values[1], old_stress[1])  # trusted: box unchanged
    np.testing.assert_array_equal(state["state_strain"].values[1], old_strain[1])
    assert state["state_file"].values[1].tolist() == ["old1_0", "old1_1"]
