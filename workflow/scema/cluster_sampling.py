"""How many members of a cluster run MD, which ones, and what the others are assigned.

Why several: a cluster of n qps whose stress is one estimate of variance s^2/k (k independent
MD samples) adds n^2 s^2/k to the variance of a sum over qps (the reaction force), where brute
force adds n s^2: a single representative's noise adds up coherently over its members. Keeping
the sum's variance within beta^2 of brute force's needs k = ceil(n / beta^2) samples per cluster
(``clustering.noise_allowance`` = beta; beta = 1 saves nothing, beta = 2 at most 4x MD).

The members that were not run take the cluster estimate transported to their own strain by the
material's homogenised stiffness C, sigma_i = mean_j sigma_j + C (eps_i - mean_j eps_j): exact
for a linear law, so the members keep their strain differences instead of a first-order error
C (eps_i - eps_rep).
"""

from __future__ import annotations

import numpy as np

from scema import seeds

_ROUNDING = 1e-9  # n / beta^2 within this of an integer counts as that integer (beta = sqrt(3))


def samples_per_cluster(size: np.ndarray, noise_allowance: float | None) -> np.ndarray:
    """MD samples k of clusters of ``size`` n: ceil(n / beta^2), 1 when the allowance is None."""
    size = np.asarray(size, dtype=np.int64)
    if noise_allowance is None:
        return np.ones_like(size)
    k = np.ceil(size / float(noise_allowance) ** 2 - _ROUNDING).astype(np.int64)
    return np.clip(k, 1, size)


def choose_samples(representative: np.ndarray, noise_allowance: float | None, run_seed: int, step: int) -> np.ndarray:
    """Boolean (n_qp,): the qps that run MD for their cluster.

    The representative always; the other k - 1 drawn without replacement from its members with
    the ``scema.seeds`` stream (run seed, "cluster_sample", step, representative), so a cluster's
    draw does not depend on any other cluster's.
    """
    representative = np.asarray(representative, dtype=np.int64)
    n_qp = representative.size
    sampled = representative == np.arange(n_qp)
    size = np.bincount(representative, minlength=n_qp)
    k = samples_per_cluster(size, noise_allowance)
    order = np.argsort(representative, kind="stable")
    starts = np.concatenate([[0], np.cumsum(size)])
    for r in np.flatnonzero(sampled & (k > 1)):
        members = order[starts[r] : starts[r + 1]]
        others = members[members != r]
        draw = seeds.rng(run_seed, "cluster_sample", step, r).choice(others, size=k[r] - 1, replace=False)
        sampled[draw] = True
    return sampled


def transported_estimate(
    stress: np.ndarray,
    strain: np.ndarray,
    representative: np.ndarray,
    own: np.ndarray,
    material: np.ndarray,
    stiffness: np.ndarray,
) -> np.ndarray:
    """Stress (n_qp, 6): qps with ``own`` keep theirs; every other qp takes its cluster's estimate.

    Estimate of qp i in cluster c: mean over c's ``own`` qps of the stress, plus
    ``C @ (eps_i - mean over c's own qps of eps)`` with C = ``stiffness[material[i]]`` (one
    6x6 per material index, engineering shear like the strain). Clusters never mix materials. Rows of ``stress`` without
    ``own`` are ignored (may be NaN).
    """
    representative = np.asarray(representative, dtype=np.int64)
    own = np.asarray(own, dtype=bool)
    n_qp = representative.size
    count = np.bincount(representative[own], minlength=n_qp).astype(float)
    members = np.flatnonzero(~own)
    if np.any(count[representative[members]] == 0):
        raise ValueError("a cluster has no member with its own stress")
    sum_stress, sum_strain = np.zeros((n_qp, 6)), np.zeros((n_qp, 6))
    np.add.at(sum_stress, representative[own], stress[own])
    np.add.at(sum_strain, representative[own], strain[own])
    c = representative[members]
    mean_stress = sum_stress[c] / count[c, None]
    mean_strain = sum_strain[c] / count[c, None]
    out = np.array(stress, dtype=float, copy=True)
    out[members] = mean_stress + np.einsum("nij,nj->ni", stiffness[material[members]], strain[members] - mean_strain)
    return out
