"""A physical ridge member's data as two sums over its rows, with the cube's images summed in closed form.

A member's posterior (``RidgeMember.fit_physical``) depends on its rows only through sum r r^T and
sum r l^T, r (40,) a row's physical regressors and l (6,) its learned target (``models.normal_equations``).
Over the 24 cube images of every sample (``symmetry.augment``) r(g x) = P_g r(x) and l(g x) = m_g l
(``equivariance.regressor_action``), so the images' sums are sum_g P_g (R^T R) P_g^T and
sum_g P_g (R^T L) m_g^T: one pass over the n samples instead of 24 n rows built per member and
again for the evidence fit. Why: a committee version is trained on every sample of the run so far,
and with the rows built 24-fold training cost ~0.2 ms per sample, growing with the run (issue 12;
``tests/benchmarks/bench_steps.py --committee-history``); a member's own label noise still needs
its n draws (the split and the draws are those of the row path, so the answers are the same to
round-off), but they enter through one (n, 40) x (n, 6) product.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from scema.committee.models import N_COMPONENTS, N_PHYSICAL, PAIRS, physical_regressors, second_order_mean


@dataclass(frozen=True)
class Moments:
    """sum over rows of r r^T (40, 40) and of r l^T (40, 6), regressors r, learned target l (Pa)."""

    rr: np.ndarray
    rl: np.ndarray


@cache
def image_actions(symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    """(P (G, 40, 40), m (G, 6, 6)): how each image's regressors and targets follow from the sample's;
    the cube's 24 when ``symmetric``, else the identity alone."""
    from scema.committee.equivariance import regressor_action
    from scema.committee.symmetry import CUBIC

    if not symmetric:
        return np.eye(N_PHYSICAL)[None], np.eye(N_COMPONENTS)[None]
    return np.stack([regressor_action(m) for m in CUBIC]), CUBIC


def regressors(x: np.ndarray, stiffness: np.ndarray) -> np.ndarray:
    """(n, 40) physical regressors of inputs ``x`` (n, 18), in float64 as a member computes them."""
    c = torch.as_tensor(np.asarray(stiffness, dtype=float), dtype=torch.float64)
    return physical_regressors(torch.as_tensor(x, dtype=torch.float64), c).numpy()


def cross(r: np.ndarray, learned: np.ndarray, symmetric: bool) -> np.ndarray:
    """(40, 6) sum of r l^T over the rows (regressors ``r``, targets ``learned``) and their images."""
    p, m = image_actions(symmetric)
    return np.einsum("gij,jc,gdc->id", p, r.T @ learned, m, optimize=True)


def moments(r: np.ndarray, learned: np.ndarray, symmetric: bool) -> Moments:
    """``Moments`` of the rows (regressors ``r`` (n, 40), targets ``learned`` (n, 6)) and their images."""
    p, _ = image_actions(symmetric)
    return Moments(np.einsum("gij,jk,glk->il", p, r.T @ r, p, optimize=True), cross(r, learned, symmetric))


def about_law(data: Moments, measured: tuple | None) -> Moments:
    """The moments of the rows' targets minus the measured second-order law's prediction
    (``models.prior_mean_deviation``: l - r_pair^T M per row), so sum r (l - r_pair^T M)^T =
    R^T L - (R^T R)[:, pair] M: what a member is fitted to when its prior is centred on the law."""
    mean = second_order_mean(measured)
    if mean is None:
        return data
    return Moments(data.rr, data.rl - data.rr[:, N_PHYSICAL - PAIRS.shape[1] :] @ mean)


def moment_equations(data: Moments, prior, noise_std, row_weight, tied) -> tuple[np.ndarray, np.ndarray]:
    """``models.normal_equations`` from the moments: with A_c = diag(prior) tied_c, component c adds
    w A_c^T (R^T R) A_c / noise_c^2 to G and w A_c^T (R^T l_c) / noise_c^2 to b."""
    tied = tied.reshape(N_PHYSICAL, N_COMPONENTS, -1)
    k = tied.shape[2]
    gram, rhs = np.zeros((k, k)), np.zeros(k)
    for c in range(N_COMPONENTS):
        a = prior[:, None] * tied[:, c, :]
        keep = np.flatnonzero(np.abs(a).sum(axis=0) > 0)  # untied: only component c's own 40 columns
        a = a[:, keep]
        gram[np.ix_(keep, keep)] += row_weight * (a.T @ data.rr @ a) / noise_std[c] ** 2
        rhs[keep] += row_weight * (a.T @ data.rl[:, c]) / noise_std[c] ** 2
    return gram, rhs
