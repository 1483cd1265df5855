"""Committee answers against brute force at the same strain (issue 8, tests/benchmarks/committee_answers_vs_brute.py).

Two runs' FE solutions differ, so their qps' strains do; brute force's stress is moved to the
committee run's strain before the two are compared. References: an exact quadratic law.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))

from committee_answers_vs_brute import answers, at_run_strain  # noqa: E402

from scema.committee.models import PAIRS  # noqa: E402
from scema.voigt import cubic_stiffness  # noqa: E402

C = cubic_stiffness(164.6e9, 120.5e9, 71.7e9)


def quadratic_law(seed: int = 0) -> np.ndarray:
    """(21, 6) Pa: second-order coefficients of the size of copper's (-0.6 to -3 c)."""
    return np.random.default_rng(seed).normal(0.0, 2.0 * 164.6e9, (PAIRS.shape[1], 6))


def stress(strain: np.ndarray, law: np.ndarray) -> np.ndarray:
    i, j = PAIRS[0].numpy(), PAIRS[1].numpy()
    return strain @ C.T + (strain[:, i] * strain[:, j]) @ law


def test_brute_force_moved_along_a_quadratic_law_is_that_law_at_the_new_strain():
    rng = np.random.default_rng(1)
    law = quadratic_law()
    a = rng.normal(0.0, 0.02, (50, 6))
    b = a + rng.normal(0.0, 2e-4, (50, 6))  # the two runs' strains at one qp, ~2e-4 apart
    moved = at_run_strain(stress(a, law), a, b, C, law)
    np.testing.assert_allclose(moved, stress(b, law), rtol=0, atol=1e-3)  # Pa, of ~GPa stresses
    # C alone leaves the law's own change, of order 2 law eps d eps ~ 1 MPa here: not negligible
    alone = at_run_strain(stress(a, law), a, b, C, None) - stress(b, law)
    assert np.sqrt(np.mean(alone**2)) > 1e5


def _run(root: Path, strain: np.ndarray, stresses: np.ndarray, decision: np.ndarray | None) -> Path:
    """A minimal run directory: config, material (C measured twice), one step's stress (and query)."""
    cfg = {"md": {"replicas": 2}, "materials": {"copper": {"stiffness_symmetry": "cubic"}}}
    (root / "results/materials/copper").mkdir(parents=True)
    (root / "results/step_0001").mkdir(parents=True)
    (root / "config.yaml").write_text(yaml.safe_dump(cfg))
    xr.Dataset({"stiffness": (("replica", "i", "j"), np.stack([C, C]))}).to_netcdf(
        root / "results/materials/copper/material.nc"
    )
    n = len(strain)
    xr.Dataset(
        {
            "stress": (("qp", "component"), stresses),
            "strain": (("qp", "component"), strain),
            "stress_replica_std": (("qp", "component"), np.full((n, 6), 20e6)),
        }
    ).to_netcdf(root / "results/step_0001/stress.nc")
    if decision is not None:
        xr.Dataset({"decision": (("qp",), decision)}).to_netcdf(root / "results/step_0001/committee_query.nc")
    return root


def test_an_exact_committee_at_another_strain_than_brute_force_has_no_error(tmp_path):
    """A committee answering the exact law, at strains 2e-4 off brute force's (as a run's FE solution
    is), was charged C d eps ~ 35 MPa rms qp by qp; at the same strain it is charged nothing."""
    rng = np.random.default_rng(2)
    law = quadratic_law(3)
    xr.Dataset({"second_order": (("pair", "component"), law)}).to_netcdf(tmp_path / "zero_kelvin.nc")
    ref = rng.normal(0.0, 0.02, (40, 6))
    mine = ref + rng.normal(0.0, 2e-4, (40, 6))
    brute = _run(tmp_path / "brute", ref, stress(ref, law), None)
    run = _run(tmp_path / "run", mine, stress(mine, law), np.ones(40, np.int8))
    law_file = tmp_path / "zero_kelvin.nc"
    ((_, raw, noise),) = answers(brute, run, law_file, raw=True)
    ((step, err, _),) = answers(brute, run, law_file)
    assert step == 1 and err.shape == (40, 6)
    np.testing.assert_allclose(noise, 20e6 / np.sqrt(2))
    assert np.sqrt(np.mean(raw**2)) > 20e6  # C d eps: tens of MPa
    np.testing.assert_allclose(err, 0.0, atol=1e-3)
