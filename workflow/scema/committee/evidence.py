"""The physical prior's group scales fitted to the data by evidence maximisation (type-II maximum
likelihood, automatic relevance determination over the prior's four groups).

The ridge members' coefficients are theta ~ N(0, diag(s^2)) in units of the physical prior's std
(``models.physical_prior_std``), tied as a cubic crystal ties them (``equivariance``), and the MD
noise is the known likelihood variance. Each column of theta belongs to one group of regressors:
intercept, eps_t (elastic), d eps and the saved state (path), the products eps_t,i eps_t,j (second
order); the group's factor a_g in (0, 1] multiplies today's prior std of the group. The log
marginal likelihood of the learned targets is closed form (Woodbury):

    log p(y | a) = 1/2 b^T P^-1 b - 1/2 log det S - 1/2 log det P + const,
    S = diag(s^2), s_k = a_g(k), P = S^-1 + G, G = A^T N^-1 A, b = A^T N^-1 y,

and its gradient in log a_g is sum_{k in g} ((Sigma_kk + mu_k^2) / s_k^2 - 1) with mu = P^-1 b,
Sigma = P^-1. Why: the fixed scales are guesses that had to hold for copper, glass and polymer
alike; where the data show a group is absent (copper has no path dependence), its prior std is
what refuses answers at strain combinations the data have not visited. The factors are bounded
above by 1: the evidence may only shrink a group the data say is absent, never widen the prior
beyond the physical guess (a wider prior would only make answers more cautious, and a scale the
data cannot identify stays where it was, because the evidence is flat along it).
"""

from __future__ import annotations

import numpy as np
import torch

from scema.committee.models import (
    N_COMPONENTS,
    N_GROUPS,
    N_PHYSICAL,
    column_groups,
    normal_equations,
    physical_prior_std,
    physical_regressors,
    prior_mean_deviation,
)

SCALE_FLOOR = 1e-3  # smallest factor: a group a thousand times below its physical guess is absent
# how far below its maximum the log evidence may fall at the factor taken: 0.5 = chi2_1(0.683) / 2,
# the upper end of a group scale's one-standard-error likelihood-ratio interval. Measured on the
# 500-atom copper bar (tests/benchmarks/evidence_replay.py): the plain maximum (0) drove every group
# to the floor on the first steps' data and claimed a 0.1 MPa std for answers 11 MPa off; 1.92 (the
# 95 % interval) kept the second-order group at its guess and trusted no more than the fixed prior.
EVIDENCE_MARGIN = 0.5


def _posterior(scale: np.ndarray, gram: np.ndarray, rhs: np.ndarray):
    precision = gram + np.diag(1.0 / scale**2)
    chol = np.linalg.cholesky(precision)
    cov = np.linalg.inv(precision)
    return cov @ rhs, cov, 2.0 * np.sum(np.log(np.diag(chol)))


def log_evidence(factors: np.ndarray, groups: np.ndarray, gram: np.ndarray, rhs: np.ndarray) -> float:
    """log p(y | a) up to a constant independent of the group factors ``factors`` (4,)."""
    scale = np.asarray(factors, dtype=float)[groups]
    mean, _, logdet = _posterior(scale, gram, rhs)
    return float(0.5 * rhs @ mean - np.sum(np.log(scale)) - 0.5 * logdet)


def fit_group_factors(
    gram: np.ndarray, rhs: np.ndarray, groups: np.ndarray, floor: float = SCALE_FLOOR, margin: float = EVIDENCE_MARGIN
) -> np.ndarray:
    """(4,) factors a_g in [floor, 1]: the evidence's maximum (L-BFGS-B on log a, analytic gradient,
    started at 1: today's prior), then each group's factor raised to the largest value whose log
    evidence (the other groups at the maximum) is within ``margin`` of the maximum, the upper end
    of the scale's likelihood-ratio interval. Why not the maximum itself: a point estimate ignores
    how uncertain the scale is, and a scale driven to the floor by data that merely cannot see a
    group makes the posterior std vanish where the next step first sees it; the upper end shrinks a
    group only as far as the data reject a larger one. A group without columns keeps 1."""
    from scipy.optimize import brentq, minimize

    present = np.unique(groups)

    def negative(log_a):
        factors = np.ones(N_GROUPS)
        factors[present] = np.exp(log_a)
        scale = factors[groups]
        mean, cov, logdet = _posterior(scale, gram, rhs)
        value = -(0.5 * rhs @ mean - np.sum(np.log(scale)) - 0.5 * logdet)
        per_column = (np.diag(cov) + mean**2) / scale**2 - 1.0
        grad = np.array([per_column[groups == g].sum() for g in present])
        return value, -grad

    result = minimize(
        negative,
        np.zeros(present.size),
        jac=True,
        method="L-BFGS-B",
        bounds=[(np.log(floor), 0.0)] * present.size,
    )
    best = result.x.copy()
    top = -negative(best)[0]
    upper = best.copy()
    for i in range(present.size):

        def drop(log_a, i=i):
            trial = best.copy()
            trial[i] = log_a
            return -negative(trial)[0] - (top - margin)

        if best[i] < 0.0 and margin > 0.0:
            upper[i] = 0.0 if drop(0.0) >= 0.0 else brentq(drop, best[i], 0.0, xtol=1e-3)
    factors = np.ones(N_GROUPS)
    factors[present] = np.exp(upper)
    return factors


def group_equations(x, learned, noise_std, stiffness, row_weight: float = 1.0, basis=None, measured=None):
    """(G, b, column groups) of the samples (x (n, 18), learned target (n, 6) Pa, unperturbed), MD
    noise ``noise_std`` (6,) Pa, the material's C and the coefficients' ties ``basis`` (None:
    independent), in units of the physical prior's std (``RidgeMember.fit_physical``; ``measured``: the
    material's measured intercept and elastic scales, ``physical_prior_std``)."""
    c = torch.as_tensor(np.asarray(stiffness, dtype=float))
    prior = physical_prior_std(stiffness, measured)
    z = physical_regressors(torch.as_tensor(x, dtype=torch.float64), c).numpy() * prior
    tied = np.eye(N_PHYSICAL * N_COMPONENTS) if basis is None else basis
    learned = learned - prior_mean_deviation(x, stiffness, measured)
    gram, rhs = normal_equations(z, learned, noise_std, row_weight, tied)
    return gram, rhs, column_groups(tied)


def evidence_factors(
    x, learned, noise_std, stiffness, row_weight: float = 1.0, basis=None, measured=None
) -> np.ndarray:
    """(4,) group factors for ``RidgeMember.fit_physical`` (``fit_group_factors`` on ``group_equations``),
    on one thread (``fit.single_thread``)."""
    from scema.committee.fit import single_thread

    with single_thread():
        return fit_group_factors(*group_equations(x, learned, noise_std, stiffness, row_weight, basis, measured))


def moment_group_equations(data, noise_std, stiffness, row_weight: float = 1.0, basis=None, measured=None):
    """``group_equations`` of the rows whose sums are ``data`` (``moments.Moments``, images included):
    the same (G, b, column groups) to round-off, at a cost that does not grow with the rows."""
    from scema.committee.moments import about_law, moment_equations

    prior = physical_prior_std(stiffness, measured)
    tied = np.eye(N_PHYSICAL * N_COMPONENTS) if basis is None else basis
    gram, rhs = moment_equations(about_law(data, measured), prior, noise_std, row_weight, tied)
    return gram, rhs, column_groups(tied)


def moment_evidence_factors(
    data, noise_std, stiffness, row_weight: float = 1.0, basis=None, measured=None
) -> np.ndarray:
    """``evidence_factors`` from ``moment_group_equations``: what ``train_committee`` fits."""
    from scema.committee.fit import single_thread

    with single_thread():
        return fit_group_factors(*moment_group_equations(data, noise_std, stiffness, row_weight, basis, measured))
