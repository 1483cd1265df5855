"""The jump-vs-chain benchmark's inputs (issue 8): the bar's load-step strain and the thermo log reader."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))

from jump_vs_chain import load_step_strain, read_thermo  # noqa: E402

from scema.voigt import cubic_stiffness  # noqa: E402


def test_load_step_strain_is_uniaxial_stress_of_the_cubic_stiffness():
    """C d eps has no lateral stress (the bar's free sides), and nu is copper's C12 / (C11 + C12)."""
    c = cubic_stiffness(164e9, 120e9, 72e9)
    d_eps = load_step_strain(np.stack([c, c]), 2.0e-3)
    stress = c @ d_eps
    assert abs(stress[0]) < 1e-6 * stress[2] and abs(stress[1]) < 1e-6 * stress[2]
    assert np.isclose(-d_eps[0] / d_eps[2], 120 / 284)
    # E along <100> = (C11 - C12)(C11 + 2 C12) / (C11 + C12) = 82.4 GPa
    assert np.isclose(stress[2] / d_eps[2], 44e9 * 404e9 / 284e9)


def test_read_thermo_takes_each_run_after_the_offset(tmp_path):
    log = tmp_path / "log.lammps"
    log.write_text(
        "run 20\n  Step Temp Pxx Pyy Pzz \n  0 300 1 2 3 \n  10 301 4 5 6 \n  20 302 7 8 9 \nLoop time of 0.1\n"
        "run 10\n  Step Temp Pxx Pyy Pzz \n  0 299 -1 -2 -3 \n  10 298 -4 -5 -6 \nLoop time of 0.1\n"
    )
    tables, end = read_thermo(log, 0)
    assert [t.shape for t in tables] == [(3, 5), (2, 5)]
    assert tables[1][-1].tolist() == [10, 298, -4, -5, -6]
    more, _ = read_thermo(log, end)
    assert more == []
