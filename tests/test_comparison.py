"""Comparison of modes with brute force: every figure against values built into synthetic runs."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import xarray as xr

from scema.comparison import compare, write_comparison
from scema.io.netcdf import component_coord, index_coord, write_dataset

STEPS = np.arange(1, 5)
N_QP = 8


def _run(root, name, reaction_z, updates, stress_offset_pa=0.0, cluster_qps=()):
    """A finished run directory with summary.nc and per-step stress.nc."""
    run = root / name
    n = STEPS.size
    reaction = np.zeros((n, 3))
    reaction[:, 2] = reaction_z
    one = {"units": "1"}
    summary = xr.Dataset(
        {
            "reaction_force": (("step", "xyz"), reaction, {"long_name": "reaction", "units": "N"}),
            "md_updates": ("step", np.asarray(updates), {"long_name": "updates", **one}),
            "wall_time": (("step", "stage"), np.ones((n, 2)), {"long_name": "wall", "units": "s"}),
        },
        coords={
            "step": ("step", STEPS, {"long_name": "step", **one}),
            "stage": ("stage", np.array(["fe_step", "md_batch"], dtype="S"), {"long_name": "stage", **one}),
            "xyz": ("xyz", np.array(["x", "y", "z"], dtype="S"), {"long_name": "axis", **one}),
        },
    )
    write_dataset(summary, run / "results" / "summary.nc", "summary")
    for step in STEPS:
        stress = np.full((N_QP, 6), 1e8 * step)
        stress[:, 2] += stress_offset_pa
        source = np.zeros(N_QP, dtype=np.int8)
        source[list(cluster_qps)] = 1
        ds = xr.Dataset(
            {
                "stress": (("qp", "component"), stress, {"long_name": "stress", "units": "Pa"}),
                "source": ("qp", source, {"long_name": "source", **one}),
            },
            coords={**index_coord("qp", N_QP, "qp"), **component_coord()},
        )
        write_dataset(ds, run / "results" / f"step_{step:04d}" / "stress.nc", "stress")
    return run


def test_comparison_reports_speedup_and_differences_relative_to_the_seed_band(tmp_path):
    peak = 400.0
    brute = 100.0 * STEPS
    runs = {
        "brute_force": _run(tmp_path, "a", brute, [16] * 4),
        "brute_force_seed2": _run(tmp_path, "b", brute + np.array([0, 4.0, -2.0, 0]), [16] * 4, stress_offset_pa=5e6),
        "clustering": _run(
            tmp_path, "c", brute + np.array([0, 0, 12.0, 0]), [4, 4, 2, 2], stress_offset_pa=2e7, cluster_qps=(1, 2, 3)
        ),
    }
    ds = compare(runs)
    modes = [m.decode() for m in ds["mode"].values]
    cl = modes.index("clustering")
    assert ds.attrs["loaded_component"] == "z"
    assert ds["md_updates"].values[cl] == 12
    np.testing.assert_allclose(ds["speedup"].values[cl], 64 / 12)
    np.testing.assert_allclose(ds.attrs["band_reaction_max_difference"], 4.0 / peak)
    np.testing.assert_allclose(ds["reaction_max_difference"].values[cl], 12.0 / peak)
    np.testing.assert_allclose(ds["reaction_max_difference_over_band"].values[cl], 3.0)
    np.testing.assert_allclose(ds["reaction_rms_difference"].values[cl], np.sqrt(12.0**2 / 4) / peak)
    np.testing.assert_allclose(ds["stress_max_difference"].values[cl], 2e7)
    np.testing.assert_allclose(ds.attrs["band_stress_rms_difference_pa"], 5e6)
    np.testing.assert_allclose(ds["not_md_fraction"].values[cl], 3 / 8)
    np.testing.assert_allclose(ds["speedup"].values[modes.index("brute_force")], 1.0)
    np.testing.assert_allclose(ds["reaction_max_difference"].values[modes.index("brute_force")], 0.0)

    write_comparison(ds, tmp_path / "comparison.nc", tmp_path / "comparison.csv")
    with open(tmp_path / "comparison.csv") as fh:
        rows = {r["mode"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(runs)
    assert float(rows["clustering"]["speedup"]) == pytest.approx(64 / 12, rel=1e-5)
    with xr.open_dataset(tmp_path / "comparison.nc") as back:
        assert back["md_updates_per_step"].sel(mode=b"clustering").values.tolist() == [4, 4, 2, 2]


def test_comparison_needs_both_brute_force_runs(tmp_path):
    run = _run(tmp_path, "a", 100.0 * STEPS, [16] * 4)
    with pytest.raises(KeyError, match="brute_force_seed2"):
        compare({"brute_force": run})
