"""0 K elastic constants of Cu (Mishin et al., PRB 63, 224106 (2001), EAM1 = Cu_mishin1).

Published: C11 = 169.9, C12 = 122.6, C44 = 76.2 GPa (a0 = 3.615 A).
"""

from pathlib import Path

import numpy as np
import pytest

from conftest import COPPER_POTENTIAL, copper_entry
from scema.md.material import MaterialSpec
from scema.md.preparation import zero_kelvin_stiffness

ROOT = Path(__file__).resolve().parents[1]
POTENTIAL = COPPER_POTENTIAL
GPA = 1e9


def copper_spec(cells: int = 3) -> MaterialSpec:
    entry = copper_entry(
        cells,
        sampling_steps=10,
        min_deform_steps=1,
        deform_stride=1,
        stiffness_strain=0.005,
        stiffness_sampling_steps=10,
    )
    return MaterialSpec.from_entry("copper", entry, base_dir=ROOT)


@pytest.mark.skipif(not POTENTIAL.is_file(), reason="lammps-data potentials not installed")
def test_zero_kelvin_stiffness_matches_mishin_2001() -> None:
    c = zero_kelvin_stiffness(copper_spec(), strain=1e-4) / GPA
    c11, c12, c44 = np.diag(c)[:3], c[[0, 0, 1], [1, 2, 2]], np.diag(c)[3:]
    assert c11 == pytest.approx([169.9] * 3, rel=0.01)
    assert c12 == pytest.approx([122.6] * 3, rel=0.01)
    assert c44 == pytest.approx([76.2] * 3, rel=0.01)
    # cubic symmetry: equal diagonals, symmetric, no normal-shear or shear-shear coupling
    assert np.ptp(c11) < 1e-3 and np.ptp(c44) < 1e-3
    assert np.allclose(c, c.T, atol=1e-3)
    assert np.abs(c[:3, 3:]).max() < 1e-3 and np.abs(c[3:, :3]).max() < 1e-3
    assert np.abs(c[3:, 3:] - np.diag(np.diag(c[3:, 3:]))).max() < 1e-3
