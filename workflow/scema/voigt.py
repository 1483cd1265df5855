"""Voigt notation used everywhere in the project (files, FE, MD).

One convention, written down once: components ordered ``xx yy zz yz xz xy``; strains carry
*engineering* shear (gamma_ij = 2 eps_ij), stresses plain shear. With that choice the
stiffness matrix maps strain to stress directly (sigma = C @ eps), and LAMMPS's tilt
``erate`` (a rate of engineering shear strain) takes the shear components unchanged.
"""

from __future__ import annotations

import numpy as np

COMPONENTS: tuple[str, ...] = ("xx", "yy", "zz", "yz", "xz", "xy")
INDEX_PAIRS: tuple[tuple[int, int], ...] = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
SHEAR_CONVENTION = "engineering"


def strain_tensor_to_voigt(eps: np.ndarray) -> np.ndarray:
    """(..., 3, 3) symmetric strain tensor -> (..., 6) Voigt vector with engineering shear."""
    eps = np.asarray(eps, dtype=float)
    out = np.stack([eps[..., i, j] for i, j in INDEX_PAIRS], axis=-1)
    out[..., 3:] *= 2.0
    return out


def strain_voigt_to_tensor(voigt: np.ndarray) -> np.ndarray:
    """(..., 6) engineering-shear Voigt strain -> (..., 3, 3) symmetric tensor."""
    voigt = np.asarray(voigt, dtype=float)
    out = np.zeros(voigt.shape[:-1] + (3, 3))
    for k, (i, j) in enumerate(INDEX_PAIRS):
        value = voigt[..., k] if k < 3 else 0.5 * voigt[..., k]
        out[..., i, j] = value
        out[..., j, i] = value
    return out


def stress_tensor_to_voigt(sigma: np.ndarray) -> np.ndarray:
    """(..., 3, 3) symmetric stress tensor -> (..., 6) Voigt vector."""
    sigma = np.asarray(sigma, dtype=float)
    return np.stack([sigma[..., i, j] for i, j in INDEX_PAIRS], axis=-1)


def stress_voigt_to_tensor(voigt: np.ndarray) -> np.ndarray:
    """(..., 6) Voigt stress -> (..., 3, 3) symmetric tensor."""
    voigt = np.asarray(voigt, dtype=float)
    out = np.zeros(voigt.shape[:-1] + (3, 3))
    for k, (i, j) in enumerate(INDEX_PAIRS):
        out[..., i, j] = voigt[..., k]
        out[..., j, i] = voigt[..., k]
    return out


def isotropic_stiffness(young: float, poisson: float) -> np.ndarray:
    """6x6 Voigt stiffness of an isotropic linear-elastic solid (engineering shear)."""
    lam = young * poisson / ((1 + poisson) * (1 - 2 * poisson))
    mu = young / (2 * (1 + poisson))
    c = np.zeros((6, 6))
    c[:3, :3] = lam
    c[np.arange(3), np.arange(3)] += 2 * mu
    c[np.arange(3, 6), np.arange(3, 6)] = mu
    return c


def cubic_stiffness(c11: float, c12: float, c44: float) -> np.ndarray:
    """6x6 Voigt stiffness of a cubic crystal along its axes (engineering shear)."""
    c = np.zeros((6, 6))
    c[:3, :3] = c12
    c[np.arange(3), np.arange(3)] = c11
    c[np.arange(3, 6), np.arange(3, 6)] = c44
    return c
