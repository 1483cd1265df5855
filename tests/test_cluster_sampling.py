"""Sampled cluster members (clustering.noise_allowance): how many run MD, and what the others get.

The MD here is a test double: a linear law plus independent Gaussian noise per MD sample, so
the variance of a cluster's summed stress has a closed form to check against."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO, small_config
from scema.cluster_sampling import choose_samples, samples_per_cluster, transported_estimate
from scema.config import ConfigError, validate_config

SIZES = (72, 68, 8, 3, 1)  # the CT's largest clusters at step 1, a cell's 8 qps, small ones
NOISE = 50.0e6  # Pa, std of one MD sample per component


def _clusters(sizes=SIZES) -> np.ndarray:
    """representative (n_qp,): consecutive blocks, the first qp of each block represents it."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return np.repeat(starts, sizes)


def _stiffness(n_materials: int) -> np.ndarray:
    """Distinct symmetric positive definite 6x6 matrices (Pa), one per material."""
    rng = np.random.default_rng(7)
    out = []
    for m in range(n_materials):
        a = rng.normal(size=(6, 6))
        out.append((a @ a.T + 6 * np.eye(6)) * 1e10 * (m + 1))
    return np.array(out)


def _law(strain, material, stiffness):
    return np.einsum("nij,nj->ni", stiffness[material], strain) + 3.0e6  # offset: a residual stress


@pytest.mark.parametrize(
    "beta,expected",
    [
        (1.0, lambda n: n),
        (2.0, lambda n: (n + 3) // 4),
        (3.0**0.5, lambda n: (n + 2) // 3),  # beta^2 = 2.9999999999999996 in floating point
        (1.5, lambda n: -(-4 * n // 9)),
        (None, lambda n: 1),
    ],
)
def test_samples_per_cluster_is_ceil_n_over_beta_squared(beta, expected):
    sizes = np.arange(1, 200)
    np.testing.assert_array_equal(samples_per_cluster(sizes, beta), [expected(n) for n in sizes])


@pytest.mark.parametrize("beta", [None, 1.0, 1.5, 2.0, 3.0])
def test_choice_runs_k_members_per_cluster_representative_first_reproducibly(beta):
    rep = _clusters()
    sampled = choose_samples(rep, beta, run_seed=12345, step=3)
    counts = np.bincount(rep, weights=sampled).astype(int)[np.unique(rep)]
    np.testing.assert_array_equal(counts, samples_per_cluster(np.array(SIZES), beta))
    assert sampled[np.unique(rep)].all()  # every representative runs
    np.testing.assert_array_equal(sampled, choose_samples(rep, beta, run_seed=12345, step=3))
    if beta in (1.5, 2.0, 3.0):  # a proper subset is drawn: another step draws another one
        assert not np.array_equal(sampled, choose_samples(rep, beta, run_seed=12345, step=4))


@pytest.mark.parametrize("beta", [None, 1.5, 2.0])
def test_transported_estimate_is_exact_for_a_linear_law(beta):
    """No noise, two materials with different C, scattered strains: every member gets its own law value."""
    rep = _clusters()
    n_qp = rep.size
    material = (rep >= 140).astype(np.int64)  # the two big clusters one material, the rest the other
    stiffness = _stiffness(2)
    rng = np.random.default_rng(1)
    strain = 1e-3 * rng.normal(size=6) + 1e-5 * rng.normal(size=(n_qp, 6))
    truth = _law(strain, material, stiffness)
    sampled = choose_samples(rep, beta, run_seed=1, step=1)
    md = np.where(sampled[:, None], truth, np.nan)  # only the sampled members have an MD stress
    out = transported_estimate(md, strain, rep, sampled, material, stiffness)
    np.testing.assert_allclose(out, truth, rtol=1e-12, atol=1e-3)  # Pa
    # without the transport the members would be off by C (eps_i - mean eps): 1e5 Pa here
    plain = transported_estimate(md, strain, rep, sampled, material, np.zeros_like(stiffness))
    assert np.abs(plain - truth)[~sampled].max() > 1e5


@pytest.mark.parametrize("beta", [None, 1.5, 2.0, 3.0])
def test_variance_of_a_clusters_summed_stress_is_n_squared_s_squared_over_k(beta):
    """Sum over a cluster of n qps: variance n^2 s^2 / k (k = ceil(n / beta^2) samples), at most
    beta^2 times brute force's n s^2; checked per cluster within the estimate's sampling error."""
    rep = _clusters()
    n_qp, trials = rep.size, 3000
    material = np.zeros(n_qp, dtype=np.int64)
    stiffness = _stiffness(1)
    strain = 1e-3 + 1e-5 * np.random.default_rng(2).normal(size=(n_qp, 6))
    truth = _law(strain, material, stiffness)
    noise = np.random.default_rng(3)
    sums = np.empty((trials, len(SIZES), 6))
    for t in range(trials):
        sampled = choose_samples(rep, beta, run_seed=5, step=t)
        md = truth + NOISE * noise.normal(size=truth.shape)  # independent MD noise per qp
        out = transported_estimate(np.where(sampled[:, None], md, np.nan), strain, rep, sampled, material, stiffness)
        sums[t] = np.add.reduceat(out - truth, np.unique(rep))
    n = np.array(SIZES, dtype=float)
    k = samples_per_cluster(np.array(SIZES), beta)
    expected = n**2 * NOISE**2 / k
    measured = sums.var(axis=0, ddof=1)  # (cluster, component)
    error = expected[:, None] * np.sqrt(2.0 / (trials - 1))  # std of a Gaussian variance estimate
    assert np.all(np.abs(measured - expected[:, None]) < 4.5 * error), measured / expected[:, None]
    if beta is not None:  # at most beta^2 of brute force's n s^2 (equal where n / beta^2 is whole)
        brute_force = n[:, None] * NOISE**2
        assert np.all(measured / brute_force < beta**2 * (1 + 4.5 * np.sqrt(2.0 / (trials - 1))))


def test_noise_allowance_below_one_is_refused_naming_the_key():
    cfg = small_config()
    cfg["clustering"] = {"enabled": True, "noise_allowance": 0.5}
    with pytest.raises(ConfigError, match=r"'clustering\.noise_allowance'.*minimum of 1"):
        validate_config(cfg, search_dirs=[REPO])
    cfg["clustering"]["noise_allowance"] = None  # null: one representative per cluster
    assert validate_config(cfg, search_dirs=[REPO])["clustering"]["noise_allowance"] is None
