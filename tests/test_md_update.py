"""MD update of Cu at 300 K against the finite-strain stiffness of the same replicas.

Small box (4^3 cells = 256 atoms) and short runs so the module runs in well under a minute.
"""

from pathlib import Path

import numpy as np
import pytest

from scema.md.engine import Engine
from scema.md.init import ReferenceState, equilibrate_replica, finite_strain_stiffness, symmetrise
from scema.md.material import MaterialSpec
from scema.md.update import Update, run_batch, run_update

ROOT = Path(__file__).resolve().parents[1]
POTENTIAL = Path("/usr/share/lammps/potentials/Cu_mishin1.eam.alloy")
SEEDS = (11, 12, 13)
MPA = 1e6

pytestmark = pytest.mark.skipif(not POTENTIAL.is_file(), reason="lammps-data potentials not installed")


def small_copper() -> MaterialSpec:
    return MaterialSpec.from_config("copper", {
        "units": "metal",
        "structure": "config/lammps/fcc_eam/structure.lmp",
        "forcefield": "config/lammps/fcc_eam/forcefield.lmp",
        "variables": {"element": "Cu", "mass": 63.546, "lattice_constant": 3.615, "cells": 4,
                      "pair_style": "eam/alloy", "potential_file": str(POTENTIAL)},
        "temperature": 300.0, "timestep": 2e-15, "strain_rate": 1e10,
        "equilibration_steps": 1000, "sampling_steps": 500, "min_deform_steps": 25,
        "stiffness_strain": 0.005, "stiffness_sampling_steps": 1000,
    }, base_dir=ROOT)


@pytest.fixture(scope="module")
def spec() -> MaterialSpec:
    return small_copper()


@pytest.fixture(scope="module")
def engine():
    with Engine() as eng:
        yield eng


@pytest.fixture(scope="module")
def replicas(spec, engine, tmp_path_factory) -> tuple[list[ReferenceState], np.ndarray]:
    """Equilibrated replicas and the replica-mean, symmetrised finite-strain stiffness (Pa)."""
    root = tmp_path_factory.mktemp("md_replicas")
    refs = [equilibrate_replica(spec, seed, root / f"replica{seed}.data", engine=engine) for seed in SEEDS]
    stiffness = np.mean([finite_strain_stiffness(spec, r.state, engine=engine) for r in refs], axis=0)
    return refs, symmetrise(stiffness)


def updates_for(refs, strain, out_dir: Path, tag: str, states=None) -> list[Update]:
    states = states or [r.state for r in refs]
    return [Update("copper", 0, k, s, strain, r.reference_stress, out_dir / f"{tag}_{k}.data")
            for k, (r, s) in enumerate(zip(refs, states))]


def test_reference_state_is_physical(replicas) -> None:
    refs, stiffness = replicas
    for r in refs:
        assert r.n_atoms == 256
        assert r.state.is_file()
        # lattice constant from the density: 0 K a0 = 3.615 A plus classical thermal expansion
        # of Cu to 300 K (alpha ~ 1.65e-5/K -> ~0.5 %); allow 0.2 % .. 0.8 %
        cell_mass = 4 * 63.546e-3 / 6.02214076e23      # kg per conventional fcc cell
        a = (cell_mass / r.density) ** (1 / 3) * 1e10  # Angstrom
        assert 3.615 * 1.002 < a < 3.615 * 1.008
        assert np.abs(r.reference_stress).max() < 300 * MPA   # box relaxed to ~zero pressure
    # cubic Cu at 300 K, below the 0 K values 169.9 / 122.6 / 76.2 GPa of this potential
    c = stiffness / 1e9
    assert 150 < np.mean(np.diag(c)[:3]) < 172
    assert 110 < np.mean(c[[0, 0, 1], [1, 2, 2]]) < 125
    assert 65 < np.mean(np.diag(c)[3:]) < 78


@pytest.mark.parametrize("strain", [
    [0.004, 0, 0, 0, 0, 0],        # uniaxial exx
    [0, 0, 0, 0, 0, 0.006],        # engineering shear gamma_xy
], ids=["exx", "gamma_xy"])
def test_update_stress_matches_stiffness(spec, engine, replicas, tmp_path, strain) -> None:
    """Replica-mean stress = C . eps within 3 standard errors + floor.

    Floor = 30 MPa (the replica std of a 500-step average in a 256-atom box is ~40 MPa, and
    3 replicas give a poor std estimate) + 3 % of |C eps| (C is a central difference at
    h = 0.005; Cu's third-order constants, ~ -1.3 TPa, bend sigma(eps) by ~2 % at 0.5 %).
    Strains differ from h so the update does not replay the stiffness trajectories.
    """
    refs, stiffness = replicas
    eps = np.array(strain, dtype=float)
    stress = run_batch({"copper": spec}, updates_for(refs, eps, tmp_path, "u"))
    expected = stiffness @ eps
    sem = stress.std(axis=0, ddof=1) / np.sqrt(len(refs))
    tol = 3 * sem + 30 * MPA + 0.03 * np.abs(expected).max()
    assert np.all(np.abs(stress.mean(axis=0) - expected) < tol), (stress.mean(0) / MPA, expected / MPA, tol / MPA)
    for k in range(len(refs)):
        assert (tmp_path / f"u_{k}.data").is_file()


def test_update_is_bitwise_deterministic(spec, engine, replicas, tmp_path) -> None:
    """Same input -> identical stress and state bytes, in a fresh and in a reused instance."""
    refs, _ = replicas
    eps = np.array([0.002, -0.001, 0.0, 0.001, 0.0, 0.003])
    first = Update("copper", 0, 0, refs[0].state, eps, refs[0].reference_stress, tmp_path / "a.data")
    second = Update("copper", 0, 0, refs[0].state, eps, refs[0].reference_stress, tmp_path / "b.data")
    with Engine() as fresh:
        s1 = run_update(fresh, spec, first)
    engine.load(spec, refs[1].state)          # leave unrelated state behind in the reused engine
    engine.nvt(spec)
    engine.run(10)
    s2 = run_update(engine, spec, second)
    assert np.array_equal(s1, s2)
    assert first.state_out.read_bytes() == second.state_out.read_bytes()
    assert "Velocities" in first.state_out.read_text()
    assert not list(tmp_path.glob(".*.tmp"))   # atomic write left no temp files


def test_two_halves_equal_one_go(spec, engine, replicas, tmp_path) -> None:
    """Strain increment = strain since state_in: eps in one update ~ eps/2 twice, chained."""
    refs, _ = replicas
    eps = np.array([0.004, 0.0, 0.0, 0.0, 0.0, 0.004])
    one = run_batch({"copper": spec}, updates_for(refs, eps, tmp_path, "one"), engine=engine)
    mids = updates_for(refs, eps / 2, tmp_path, "mid")
    run_batch({"copper": spec}, mids, engine=engine)
    two = run_batch({"copper": spec}, updates_for(refs, eps / 2, tmp_path, "two",
                                                  states=[u.state_out for u in mids]), engine=engine)
    diff = two - one
    tol = 3 * diff.std(axis=0, ddof=1) / np.sqrt(len(refs)) + 40 * MPA
    assert np.all(np.abs(diff.mean(axis=0)) < tol), (one.mean(0) / MPA, two.mean(0) / MPA, tol / MPA)
    # the boxes agree to second order in the strain (erate: (1+e/2)^2 vs 1+e)
    for k in range(len(refs)):
        engine.load(spec, tmp_path / f"one_{k}.data")
        h_one = engine.box_matrix()
        engine.load(spec, tmp_path / f"two_{k}.data")
        h_two = engine.box_matrix()
        assert np.allclose(h_two, h_one, rtol=0, atol=1e-5 * h_one[0, 0])
