"""The cube's symmetry in the physical prior: ridge coefficients tied as a cubic crystal ties them.

A crystal with its cube axes along the specimen axes answers a rotated strain path with the
rotated stress path, sigma(g x) = g sigma(x) for the 24 signed permutations g of the axes
(``scema.committee.symmetry``). For the physical ridge (``models.physical_regressors``: 1,
eps_t, d eps, state deviation, the 21 products eps_t,i eps_t,j; 6 outputs) that holds exactly
when the (40, 6) coefficients lie in a 19-dimensional subspace: 1 hydrostatic residual stress,
3 constants each for eps_t, d eps and the state (c11, c12, c44 of a cubic 6x6), and 9 for
the second-order terms, where an independent prior has 240 coefficients (126 of second
order). A signed permutation maps each coefficient to one coefficient times a sign, so the
subspace is spanned by the coefficients' orbits: each basis vector is +-1 on one orbit and 0
elsewhere. Taking a coefficient's prior std as before, the same for every member of its orbit
and fully correlated within it, is the prior of a cubic crystal: e.g. the coefficient of
eps_xx^2 in sigma_xx, of eps_yy^2 in sigma_yy and of eps_zz^2 in sigma_zz are one constant
(1/2 C111 in the third-order elasticity of a cubic crystal; 1/2 C112 for eps_yy^2 in sigma_xx; C112
for eps_xx eps_yy in sigma_xx). Why: the cube's 24 images of the
training data (``augment``) already make the posterior mean equivariant, but the members'
draws also scatter along the 221 coefficient combinations a cubic crystal cannot have, and
that scatter was part of the spread that refused the next strain level of the copper bar.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from scema.committee.models import N_COMPONENTS, N_PHYSICAL, PAIRS
from scema.committee.symmetry import CUBIC

_PAIRS = list(zip(PAIRS[0].tolist(), PAIRS[1].tolist(), strict=True))


def regressor_action(m: np.ndarray) -> np.ndarray:
    """(40, 40) P with physical_regressors(g x) = P physical_regressors(x) for the Voigt action
    ``m`` (6, 6) of a signed permutation (the state deviation turns like a stress because a
    cubic C commutes with ``m``)."""
    p = np.zeros((N_PHYSICAL, N_PHYSICAL))
    p[0, 0] = 1.0
    for block in range(3):  # eps_t, d eps, state: Voigt vectors
        start = 1 + block * N_COMPONENTS
        p[start : start + N_COMPONENTS, start : start + N_COMPONENTS] = m
    source = np.argmax(np.abs(m), axis=1)  # (m eps)_i = sign_i eps_source(i)
    sign = m[np.arange(N_COMPONENTS), source]
    offset = 1 + 3 * N_COMPONENTS
    for a, (i, j) in enumerate(_PAIRS):
        k, n = sorted((source[i], source[j]))
        p[offset + a, offset + _PAIRS.index((k, n))] = sign[i] * sign[j]
    return p


@cache
def equivariant_basis() -> np.ndarray:
    """(240, 19) basis of the coefficients W (40, 6), flattened row-major, with
    W^T physical_regressors(g x) = g W^T physical_regressors(x) for all 24 g: one column per
    orbit of coefficients that the group does not cancel, +-1 on the orbit."""
    average = np.zeros((N_PHYSICAL * N_COMPONENTS, N_PHYSICAL * N_COMPONENTS))
    for m in CUBIC:  # W -> P^T W m is the group's action on coefficients (m orthogonal)
        average += np.kron(regressor_action(m).T, m.T) / len(CUBIC)
    columns, seen = [], set()
    for a in range(average.shape[1]):
        v = average[:, a]
        if np.abs(v).max() < 1e-12:
            continue  # the orbit cancels itself: a cubic crystal has no such term
        v = np.round(v / np.abs(v).max())
        key = tuple(np.flatnonzero(v))
        if key not in seen:
            seen.add(key)
            columns.append(v * np.sign(v[key[0]]))
    return np.stack(columns, axis=1)
