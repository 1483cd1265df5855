"""Spline clustering of strain histories (scema.clustering): signatures, greedy reduction, exactness."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from scema import clustering
from scema.clustering import Clusters, cluster, cluster_histories, spline_signatures

N_STEPS = 20


def _reference_greedy(signatures, material, alpha, metric):
    """Plain O(N^2) greedy: most remaining neighbours first, ties -> lowest index."""
    dist = cdist(signatures, signatures, "cityblock" if metric == "l1" else "euclidean")
    adjacent = (dist < alpha) & (material[:, None] == material[None, :])
    np.fill_diagonal(adjacent, False)
    representative = np.arange(len(signatures))
    active = np.ones(len(signatures), dtype=bool)
    while active.any():
        degree = adjacent[:, active].sum(axis=1)
        degree[~active] = -1
        node = int(np.argmax(degree))  # argmax returns the first (lowest index) maximum
        members = np.flatnonzero(adjacent[node] & active)
        representative[members] = node
        active[members] = False
        active[node] = False
    return representative


def _ramp(final, n_steps=N_STEPS):
    """(n_steps, 6) linear ramp from 0 to ``final``."""
    return np.linspace(0.0, 1.0, n_steps)[:, None] * np.asarray(final, dtype=float)[None, :]


def _check_consistent(result: Clusters, material):
    rep = result.representative
    n = rep.size
    assert rep.dtype == np.int64 and result.cluster_size.dtype == np.int64
    assert np.all(rep[rep] == rep), "a representative must map to itself"
    assert np.all(material[rep] == material), "clusters must not mix materials"
    np.testing.assert_array_equal(result.cluster_size, np.bincount(rep, minlength=n)[rep])
    assert np.all(result.distance_to_representative[rep == np.arange(n)] == 0.0)


def test_uniform_history_collapses_to_one_representative_per_material(greedy_path):
    rng = np.random.default_rng(0)
    n_qp = 400
    history = np.repeat(_ramp([1e-2, -3e-3, -3e-3, 0.0, 0.0, 2e-3])[:, None, :], n_qp, axis=1)
    history += 1e-15 * rng.standard_normal(history.shape)
    material = np.where(np.arange(n_qp) % 3 == 0, 1, 0)
    for metric in ("l1", "l2"):
        result = cluster_histories(history, material, alpha=1e-6, metric=metric)
        _check_consistent(result, material)
        # lowest index of each material (all degrees tie)
        np.testing.assert_array_equal(result.representatives, [0, 1])
        np.testing.assert_array_equal(result.representative, np.where(material == 1, 0, 1))
        np.testing.assert_array_equal(result.cluster_size, np.where(material == 1, 134, 266))
        assert result.distance_to_representative.max() < 1e-12


def test_two_regions_loaded_differently_give_two_clusters():
    rng = np.random.default_rng(1)
    n_qp = 300
    region = rng.random(n_qp) < 0.4  # scattered membership, not contiguous indices
    history = np.where(
        region[None, :, None],
        _ramp([1e-2, 0, 0, 0, 0, 0])[:, None, :],  # uniaxial tension
        _ramp([0, 0, 0, 0, 0, 1e-2])[:, None, :],  # simple shear
    )
    history = history + 1e-7 * rng.standard_normal(history.shape)
    result = cluster_histories(history, np.zeros(n_qp, dtype=int), alpha=1e-3)
    _check_consistent(result, np.zeros(n_qp, dtype=int))
    assert result.n_clusters == 2
    first_a, first_b = np.flatnonzero(region)[0], np.flatnonzero(~region)[0]
    np.testing.assert_array_equal(result.representative, np.where(region, first_a, first_b))
    np.testing.assert_array_equal(result.cluster_size, np.where(region, region.sum(), (~region).sum()))


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_alpha_zero_keeps_every_qp_even_identical_ones(metric):
    history = np.repeat(_ramp([1e-2, 0, 0, 0, 0, 0])[:, None, :], 50, axis=1)
    result = cluster_histories(history, np.zeros(50, dtype=int), alpha=0.0, metric=metric)
    np.testing.assert_array_equal(result.representative, np.arange(50))
    np.testing.assert_array_equal(result.cluster_size, np.ones(50))
    np.testing.assert_array_equal(result.distance_to_representative, np.zeros(50))


def test_similarity_is_strict(greedy_path):
    signatures = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    material = np.zeros(3, dtype=int)
    np.testing.assert_array_equal(cluster(signatures, material, alpha=1.0).representative, [0, 1, 2])
    np.testing.assert_array_equal(cluster(signatures, material, alpha=np.nextafter(1.0, 2.0)).representative, [0, 0, 2])
    # 2 is at distance 2 from 1 and 3 from 0: at alpha 2.5 node 1 has two neighbours and wins
    np.testing.assert_array_equal(cluster(signatures, material, alpha=2.5).representative, [1, 1, 1])


def test_different_materials_never_share_a_cluster(greedy_path):
    signatures = np.zeros((6, 60))
    material = np.array(["cu", "al", "cu", "al", "cu", "al"])
    result = cluster(signatures, material, alpha=1.0)
    np.testing.assert_array_equal(result.representative, [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(result.cluster_size, [3, 3, 3, 3, 3, 3])


def _blobs(rng, n, n_features):
    """Random signatures with moderate structure: noisy blobs of random sizes."""
    centres = rng.random((max(2, n // 25), n_features))
    which = rng.integers(0, len(centres), n)
    return centres[which] + rng.normal(scale=rng.uniform(0.02, 0.15, n)[:, None], size=(n, n_features))


@pytest.fixture(params=["default", "graph", "bounds", "counts_first", "leaf_bounds", "inner_check", "batches"])
def greedy_path(request, monkeypatch):
    """Run the clustering as shipped, or with each of its internal choices forced one way."""
    if request.param == "graph":  # stored exact neighbour lists, whatever the density
        monkeypatch.setattr(clustering, "_GRAPH_PAIRS", float("inf"))
    elif request.param != "default":  # upper bounds, exact degrees on demand (small fields get the lists)
        monkeypatch.setattr(clustering, "_GRAPH_PAIRS", -1.0)
    if request.param == "counts_first":  # leaves' candidates counted before listed (long lists)
        monkeypatch.setattr(clustering, "_LIST_ENTRIES", -1)
    if request.param == "leaf_bounds":  # initial bounds from the leaf's outer ball only (no dense block)
        monkeypatch.setattr(clustering, "_DENSE_LIMIT", 0)
    if request.param == "inner_check":  # every leaf checked for an inner ball holding all its candidates
        monkeypatch.setattr(clustering, "_INNER_CHECK", 0)
    if request.param == "batches":  # one exact degree at a time, tiny leaves
        monkeypatch.setattr(clustering, "_BATCH_PAIRS", 0)
        monkeypatch.setattr(clustering, "_MAX_BATCH_PAIRS", 0)
        monkeypatch.setattr(clustering, "_LEAF_SIZE", 1)
    return request.param


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_fast_greedy_matches_all_pairs_reference(seed, metric, greedy_path):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 500))
    n_features = int(rng.choice([12, 60]))
    signatures = _blobs(rng, n, n_features)
    material = rng.integers(0, 2, n)
    dist = cdist(signatures, signatures, "cityblock" if metric == "l1" else "euclidean")
    for quantile in (0.002, 0.01, 0.05):  # moderate connectivity: mean degree ~1..25
        alpha = float(np.quantile(dist[np.triu_indices(n, 1)], quantile))
        expected = _reference_greedy(signatures, material, alpha, metric)
        result = cluster(signatures, material, alpha, metric=metric)
        np.testing.assert_array_equal(result.representative, expected)
        _check_consistent(result, material)
        assert np.all(result.distance_to_representative < alpha)
        np.testing.assert_allclose(result.distance_to_representative, dist[np.arange(n), expected], rtol=1e-12)
        assert 1 < result.n_clusters < n


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_ties_and_duplicates_match_brute_force_greedy(seed, metric, greedy_path):
    """Small integer lattices: many pairs exactly at alpha (strict), many equal degrees (lowest index wins)."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(30, 160))
    n_features = int(rng.choice([3, 12, 60]))
    signatures = rng.integers(0, 3, size=(n, n_features)).astype(float)  # duplicates when few features
    material = rng.integers(0, 3, n)
    dist = cdist(signatures, signatures, "cityblock" if metric == "l1" else "euclidean")
    for alpha in np.unique(dist)[1:4]:  # exactly at the smallest non-zero distances
        expected = _reference_greedy(signatures, material, alpha, metric)
        result = cluster(signatures, material, alpha, metric=metric)
        np.testing.assert_array_equal(result.representative, expected)
        _check_consistent(result, material)


def test_history_matters_not_rate():
    final = np.array([1e-2, -3e-3, -3e-3, 0.0, 0.0, 0.0])
    ramp = _ramp(final)
    jump = np.repeat(final[None, :], N_STEPS, axis=0)
    jump[0] = 0.0  # jump at the first step, then hold
    slow_ramp = _ramp(final, n_steps=40)  # same path, twice as many (slower) steps
    # the same path with different rates gives the same signature
    np.testing.assert_allclose(
        spline_signatures(slow_ramp[:, None, :]), spline_signatures(ramp[:, None, :]), atol=1e-15
    )
    history = np.stack([ramp, jump, ramp], axis=1)  # qp 0 and 2 share the path
    result = cluster_histories(history, np.zeros(3, dtype=int), alpha=1e-3)
    np.testing.assert_array_equal(result.representative, [0, 1, 0])
    sig = spline_signatures(history)
    assert np.abs(sig[0] - sig[1]).sum() > 1e-2  # same final strain, far apart as histories


@pytest.mark.parametrize("n_steps", [2, 3, 7, 20])
@pytest.mark.parametrize("n_points", [4, 10])
def test_spline_resampling_of_linear_ramp_is_exact(n_steps, n_points):
    slope = np.array([1e-2, -2e-3, 5e-4, 1e-3, -4e-3, 3e-3])
    offset = np.array([0.0, 1e-4, 0.0, 0.0, 2e-4, 0.0])
    u = np.linspace(0.0, 1.0, n_steps)
    history = (offset + u[:, None] * slope)[:, None, :] * np.array([1.0, -2.0])[None, :, None]  # 2 qps
    sig = spline_signatures(history, n_points=n_points)
    assert sig.shape == (2, 6 * n_points)
    s = np.linspace(0.0, 1.0, n_points)
    expected = (offset[:, None] + slope[:, None] * s[None, :]).reshape(-1)  # component-major
    np.testing.assert_allclose(sig[0], expected, rtol=0, atol=1e-17)
    np.testing.assert_allclose(sig[1], -2.0 * expected, rtol=0, atol=1e-17)


def test_short_histories_and_layout():
    # one step: a constant; three steps: the interpolating parabola
    constant = spline_signatures(np.full((1, 1, 6), 2e-3), n_points=5)
    np.testing.assert_array_equal(constant, np.full((1, 30), 2e-3))
    u = np.array([0.0, 0.5, 1.0])
    history = np.zeros((3, 1, 6))
    history[:, 0, 2] = u**2  # zz component
    sig = spline_signatures(history, n_points=5).reshape(6, 5)
    np.testing.assert_allclose(sig[2], np.linspace(0, 1, 5) ** 2, atol=1e-15)
    assert np.all(sig[[0, 1, 3, 4, 5]] == 0.0)


def test_invalid_input_is_rejected():
    with pytest.raises(ValueError, match="chebyshev"):
        cluster(np.zeros((3, 6)), np.zeros(3), alpha=1.0, metric="chebyshev")
    with pytest.raises(ValueError, match="alpha"):
        cluster(np.zeros((3, 6)), np.zeros(3), alpha=-1.0)
    with pytest.raises(ValueError, match="shaped"):
        spline_signatures(np.zeros((4, 3, 5)))
    with pytest.raises(ValueError, match="non-finite"):
        spline_signatures(np.full((4, 3, 6), np.nan))


@pytest.mark.parametrize("alpha", [0.3, 3.0])
def test_density_estimate_counts_candidate_pairs(alpha):
    """The sample that chooses stored lists or bounds estimates the candidate pairs of a brute-force count."""
    rng = np.random.default_rng(7)
    signatures = rng.random((3000, 60)) * 1e-3 + np.linspace(0.0, 1.0, 3000)[:, None]  # a 1-D chain in 60-D
    search = clustering._Search(signatures, alpha, "l1")
    embedded = search.embedded
    true_pairs = sum(
        np.count_nonzero(cdist(embedded[i : i + 500], embedded, "cityblock") <= search.radius)
        for i in range(0, 3000, 500)
    )
    assert true_pairs > 10 * 3000  # tens to hundreds of candidates per point, not just itself
    assert 0.8 < clustering._estimated_pairs(search) / true_pairs < 1.25
