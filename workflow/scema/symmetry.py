"""Projection of a measured (noisy) MD stiffness onto the material's known symmetry.

Finite-temperature MD gives a 6x6 matrix with noise in every entry (non-symmetric pairs,
normal-shear couplings of ~1 GPa for copper). The FE stiffness only drives the staggered
scheme, so using the symmetry-projected matrix loses nothing and keeps a uniformly strained
specimen uniform. The crystal axes are the specimen axes.
"""

from __future__ import annotations

import numpy as np

from scema.voigt import cubic_stiffness

SYMMETRIES = ("none", "cubic", "isotropic")


def project(c: np.ndarray, symmetry: str) -> np.ndarray:
    """Symmetric part of ``c`` projected onto ``symmetry`` (engineering-shear Voigt, Pa)."""
    c = 0.5 * (np.asarray(c, dtype=float) + np.asarray(c, dtype=float).T)
    if symmetry == "none":
        return c
    c11 = np.mean(np.diag(c)[:3])
    c12 = np.mean([c[0, 1], c[0, 2], c[1, 2]])
    c44 = np.mean(np.diag(c)[3:])
    if symmetry == "isotropic":
        # Voigt average of the cubic part: bulk modulus kept, mu = (C11 - C12 + 3 C44) / 5
        mu = (c11 - c12 + 3 * c44) / 5.0
        bulk = (c11 + 2 * c12) / 3.0
        c11, c12, c44 = bulk + 4 * mu / 3, bulk - 2 * mu / 3, mu
    elif symmetry != "cubic":
        raise ValueError(f"unknown stiffness symmetry '{symmetry}' (known: {', '.join(SYMMETRIES)})")
    return cubic_stiffness(c11, c12, c44)
