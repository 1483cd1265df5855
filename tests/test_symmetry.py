"""Projection of a noisy MD stiffness onto the crystal symmetry."""

import numpy as np
import pytest

from scema.symmetry import project
from scema.voigt import cubic_stiffness, isotropic_stiffness


def test_cubic_projection_keeps_a_cubic_matrix_and_removes_zero_mean_noise():
    exact = cubic_stiffness(164e9, 120e9, 72e9)
    np.testing.assert_allclose(project(exact, "cubic"), exact)
    noise = np.zeros((6, 6))
    noise[0, 0], noise[1, 1], noise[2, 2] = 2e9, -1e9, -1e9  # averages out over the three axes
    noise[0, 3], noise[4, 1] = 1.5e9, -0.7e9  # normal-shear couplings cubic symmetry forbids
    noise[0, 1], noise[1, 0] = 2e9, -2e9  # antisymmetric part
    np.testing.assert_allclose(project(exact + noise, "cubic"), exact)


def test_isotropic_projection_of_isotropic_matrix_is_identity():
    c = isotropic_stiffness(120e9, 0.3)
    np.testing.assert_allclose(project(c, "isotropic"), c)
    with pytest.raises(ValueError, match="hexagonal"):
        project(c, "hexagonal")
