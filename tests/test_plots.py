"""The run figures' numbers: the clustering figure shows the clusters and the qps that run MD for
them (with a noise allowance, more than one per cluster), read from each step's clusters.nc."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from scema import plots
from scema.cluster_sampling import choose_samples
from scema.clustering import Clusters
from scema.io.datasets import clusters_dataset, stress_dataset
from scema.io.netcdf import write_dataset

# representative map per step: cluster sizes (first qp of each block represents it)
STEP_SIZES = {1: (9, 5, 1, 1), 2: (4, 4, 4, 4), 3: (16,)}
SETTINGS = {"alpha": 1e-3, "metric": "l1", "n_points": 10, "noise_allowance": 2.0}


def _step_files(tmp_path, noise_allowance):
    """clusters.nc and stress.nc of three steps as the cluster and aggregate stages write them."""
    settings = {**SETTINGS, "noise_allowance": noise_allowance}
    clusters, stresses = [], []
    for step, sizes in STEP_SIZES.items():
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rep = np.repeat(starts, sizes).astype(np.int64)
        found = Clusters(rep, np.zeros(rep.size), np.repeat(np.asarray(sizes, dtype=np.int64), sizes))
        sampled = choose_samples(rep, noise_allowance, run_seed=3, step=step)
        path = tmp_path / f"step_{step:04d}" / "clusters.nc"
        write_dataset(clusters_dataset(step, found, settings, sampled), path, "clusters")
        clusters.append(str(path))
        zeros = np.zeros((rep.size, 6))
        path = tmp_path / f"step_{step:04d}" / "stress.nc"
        write_dataset(stress_dataset(step, zeros, zeros, np.zeros(rep.size), zeros), path, "stress")
        stresses.append(str(path))
    return clusters, stresses


def _file_counts(cluster_files):
    """Independent reference: per file, distinct representatives and qps flagged sampled."""
    reps, sampled = [], []
    for path in cluster_files:
        with xr.open_dataset(path) as ds:
            reps.append(len(set(ds["representative"].values.tolist())))
            sampled.append(int(sum(int(v) for v in ds["sampled"].values)))
    return reps, sampled


@pytest.mark.parametrize("noise_allowance", [None, 2.0])
def test_cluster_counts_match_the_clusters_files(tmp_path, noise_allowance):
    clusters, _ = _step_files(tmp_path, noise_allowance)
    counts = plots.cluster_counts(clusters)
    reps, sampled = _file_counts(clusters)
    np.testing.assert_array_equal(counts["step"], list(STEP_SIZES))
    np.testing.assert_array_equal(counts["representatives"], reps)
    np.testing.assert_array_equal(counts["sampled"], sampled)
    if noise_allowance is None:  # one representative per cluster runs MD
        assert reps == sampled == [4, 4, 1]
    else:  # ceil(n / 4) per cluster of n: 3 + 2 + 1 + 1, 1 x 4, 4
        assert reps == [4, 4, 1]
        assert sampled == [7, 4, 4]


def test_representatives_plot_draws_both_counts(tmp_path, monkeypatch):
    clusters, stresses = _step_files(tmp_path, 2.0)
    saved = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path: saved.update(fig=fig, path=path))
    plots.representatives_plot(stresses, clusters, str(tmp_path / "representatives.png"))
    (ax,) = saved["fig"].axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    reps, sampled = _file_counts(clusters)
    np.testing.assert_array_equal(lines["sampled (run MD)"].get_ydata(), sampled)
    np.testing.assert_array_equal(lines["representatives"].get_ydata(), reps)
    np.testing.assert_array_equal(lines["sampled (run MD)"].get_xdata(), list(STEP_SIZES))
    assert lines["all qps (16)"].get_ydata()[0] == 16


def _provenance_files(tmp_path, committee_qp=None):
    """strain.nc (16 qps on a 4 x 2 x 2 grid) and three steps' stress.nc, every qp from its own
    MD; with ``committee_qp``, that qp answered by the committee at step 2."""
    from scema.io.datasets import SOURCE_FLAGS, strain_dataset

    grid = np.stack(np.meshgrid(np.arange(4), np.arange(2), np.arange(2), indexing="ij"), -1).reshape(-1, 3) * 1e-3
    n = len(grid)
    zeros = np.zeros((n, 6))
    strain = tmp_path / "strain.nc"
    write_dataset(strain_dataset(1, zeros, zeros, grid, np.arange(n), np.zeros(n, int), ["copper"]), strain, "strain")
    stresses = []
    for step in (1, 2, 3):
        source, spread = np.full(n, SOURCE_FLAGS["md"]), np.full((n, 6), np.nan)
        if committee_qp is not None and step == 2:
            source[committee_qp], spread[committee_qp] = SOURCE_FLAGS["committee"], 5e6
        path = tmp_path / f"step_{step:04d}" / "stress.nc"
        write_dataset(stress_dataset(step, zeros, zeros, source, zeros, spread), path, "stress")
        stresses.append(str(path))
    return str(strain), stresses


def test_figures_that_would_show_nothing_say_so_in_one_line(tmp_path, monkeypatch):
    """Every qp from its own MD at every step, committee never asked: no provenance maps (one
    colour, no spread), a line with the qp count and the steps; clustering off: no
    representatives curve (flat at all qps); one committee answer: the 2 x 3 maps, its step's
    provenance legend counting it."""
    saved = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path: saved.update(fig=fig, path=path))
    plots.provenance_maps(*_provenance_files(tmp_path), str(tmp_path / "maps.png"))
    assert saved["fig"].axes == []
    assert [t.get_text() for t in saved["fig"].texts] == [
        "provenance: all 16 qps ran their own MD at steps 1-3; the committee was not asked"
    ]
    plots.representatives_plot(_provenance_files(tmp_path)[1], [], str(tmp_path / "representatives.png"))
    assert saved["fig"].axes == []  # clustering off: one flat line at all qps, said in one line
    assert [t.get_text() for t in saved["fig"].texts] == [
        "clustering off: all 16 qps ran MD at every step (unless the committee answered)"
    ]
    plots.provenance_maps(*_provenance_files(tmp_path / "asked", committee_qp=5), str(tmp_path / "maps.png"))
    axes = saved["fig"].axes
    assert len(axes) == 2 * 3 + 1  # and the spread's colour bar
    labels = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert labels == ["MD (15)", "cluster member (0)", "committee (1)"]
