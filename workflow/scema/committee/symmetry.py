"""The cube's symmetry as training data: each sample and its images under the 24 distinct
rotations and reflections of the cube (signed permutations of the axes).

Why: on a monotonic load every step strains the boxes beyond what the committee has seen, and
with MD noise above the accuracy a general law (39 regressors per component) extrapolates
with a spread that refuses half the queries. A crystal with its axes along the specimen axes
(``stiffness_symmetry`` cubic, or isotropic: the cube's group is a subgroup) answers a rotated
strain path with the rotated stress path, so the images are exact extra samples of the same
law: the fit is held to the equivariant laws, whose far fewer free parameters extrapolate
with a smaller, still honest spread (members bootstrap the original samples, not the images,
so images of one noisy MD stress never count as independent draws).

A signed permutation maps each Voigt component (xx yy zz yz xz xy) to one component times a
sign, the same for stress and engineering shear strain, so one 6x6 matrix acts on both.
"""

from __future__ import annotations

import itertools

import numpy as np

VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
SYMMETRIC_MATERIALS = ("cubic", "isotropic")


def voigt_operator(rotation: np.ndarray) -> np.ndarray:
    """6x6 Voigt action T' = Q T Q^T of a signed permutation matrix Q (3x3)."""
    m = np.zeros((6, 6))
    for a, (i, j) in enumerate(VOIGT_PAIRS):
        k, n = int(np.flatnonzero(rotation[i])[0]), int(np.flatnonzero(rotation[j])[0])
        b = VOIGT_PAIRS.index((min(k, n), max(k, n)))
        m[a, b] = rotation[i, k] * rotation[j, n]
    return m


def cubic_operators() -> np.ndarray:
    """The 24 distinct Voigt actions of the cube's 48 operations (inversion acts as identity), (24, 6, 6)."""
    found = {}
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            q = np.zeros((3, 3))
            q[range(3), perm] = signs
            m = voigt_operator(q)
            found.setdefault(m.tobytes(), m)
    return np.stack(list(found.values()))


CUBIC = cubic_operators()


def augment(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 18) inputs (three Voigt tensors) and (n, 6) targets -> their 24 images, (24 n, ...)."""
    xs = np.concatenate([np.einsum("ij,nkj->nki", m, x.reshape(-1, 3, 6)).reshape(-1, 18) for m in CUBIC])
    return xs, np.concatenate([y @ m.T for m in CUBIC])
