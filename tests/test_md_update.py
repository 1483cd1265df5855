"""MD update of Cu at 300 K against the finite-strain stiffness of the same replicas.

Small box (4^3 cells = 256 atoms) and short runs so the module runs in well under a minute.
"""

from pathlib import Path

import numpy as np
import pytest

from conftest import COPPER_POTENTIAL, copper_entry
from scema.md.engine import Engine, cell_strain, target_cell
from scema.md.material import MaterialSpec
from scema.md.preparation import ReferenceState, equilibrate_replica, finite_strain_stiffness, symmetrise
from scema.md.update import Update, run_update
from scema.stages.material_init import sampling_noise

ROOT = Path(__file__).resolve().parents[1]
POTENTIAL = COPPER_POTENTIAL
MASTER = 2024
REPLICAS = (0, 1, 2)
MPA = 1e6

pytestmark = pytest.mark.skipif(not POTENTIAL.is_file(), reason="lammps-data potentials not installed")


def small_copper(cells: int = 4, **changes) -> MaterialSpec:
    settings = {
        "equilibration_steps": 1000,
        "barostat_damping_steps": 200,
        "reference_sampling_steps": 10000,
        "reference_standard_error": 15e6,
        "sampling_steps": 500,
        "min_deform_steps": 25,
        "stiffness_strain": 0.005,
        "stiffness_sampling_steps": 1000,
    }
    return MaterialSpec.from_entry("copper", copper_entry(cells, **{**settings, **changes}), base_dir=ROOT)


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
    refs = [equilibrate_replica(spec, MASTER, r, root / f"replica{r}.data", engine=engine) for r in REPLICAS]
    stiffness = np.mean(
        [finite_strain_stiffness(spec, ref.state, MASTER, r, engine=engine) for r, ref in zip(REPLICAS, refs)], axis=0
    )
    return refs, symmetrise(stiffness)


def updates_for(refs, strain, out_dir: Path, tag: str, states=None, seed: int = 1) -> list[Update]:
    states = states or [r.state for r in refs]
    return [
        Update("copper", 0, k, s, strain, r.cell, r.reference_stress, out_dir / f"{tag}_{k}.data", seed=seed)
        for k, (r, s) in enumerate(zip(refs, states))
    ]


def run_all(engine: Engine, spec: MaterialSpec, updates: list[Update]) -> np.ndarray:
    return np.array([run_update(engine, spec, u) for u in updates])


def cell_of(engine: Engine, spec: MaterialSpec, state: Path) -> np.ndarray:
    engine.load(spec, state)
    return engine.box_matrix()


def test_reference_state_is_physical(replicas) -> None:
    refs, stiffness = replicas
    for r in refs:
        assert r.n_atoms == 256
        assert r.state.is_file()
        # lattice constant from the density: 0 K a0 = 3.615 A plus classical thermal expansion
        # of Cu to 300 K (alpha ~ 1.65e-5/K -> ~0.5 %); allow 0.2 % .. 0.8 %
        cell_mass = 4 * 63.546e-3 / 6.02214076e23  # kg per conventional fcc cell
        a = (cell_mass / r.density) ** (1 / 3) * 1e10  # Angstrom
        assert 3.615 * 1.002 < a < 3.615 * 1.008
        # equilibrated at zero pressure: the residual stress is small and measured to a few MPa
        assert np.abs(r.reference_stress).max() < 150 * MPA
        assert np.all(r.standard_error > 0) and r.standard_error.max() < 15 * MPA
    # cubic Cu at 300 K, below the 0 K values 169.9 / 122.6 / 76.2 GPa of this potential
    c = stiffness / 1e9
    assert 150 < np.mean(np.diag(c)[:3]) < 172
    assert 110 < np.mean(c[[0, 0, 1], [1, 2, 2]]) < 125
    assert 65 < np.mean(np.diag(c)[3:]) < 78


@pytest.mark.parametrize(
    "strain",
    [
        [0.004, 0, 0, 0, 0, 0],  # uniaxial exx
        [0, 0, 0, 0, 0, 0.006],  # engineering shear gamma_xy
    ],
    ids=["exx", "gamma_xy"],
)
def test_update_stress_matches_stiffness(spec, engine, replicas, tmp_path, strain) -> None:
    """Replica-mean stress = C . eps within 3 standard errors + floor.

    Standard error from the measured sampling noise of one update window (each replica's long
    reference series cut into sampling_steps windows: ~60 MPa for 500 steps of 256 atoms) and the
    references' own standard errors; a spread of 3 replicas alone badly underestimates it.
    Floor = 30 MPa (noise of C itself) + 3 % of |C eps| (C is a central difference at h = 0.005;
    Cu's third-order constants, ~ -1.3 TPa, bend sigma(eps) by ~2 % at 0.5 %).
    Strains differ from h so the update does not replay the stiffness trajectories.
    """
    refs, stiffness = replicas
    eps = np.array(strain, dtype=float)
    stress = run_all(engine, spec, updates_for(refs, eps, tmp_path, "u"))
    expected = stiffness @ eps
    noise = sampling_noise([r.window_stress for r in refs])
    sem = np.sqrt((noise**2 + np.mean([r.standard_error**2 for r in refs], axis=0)) / len(refs))
    tol = 3 * sem + 30 * MPA + 0.03 * np.abs(expected).max()
    assert np.all(np.abs(stress.mean(axis=0) - expected) < tol), (stress.mean(0) / MPA, expected / MPA, tol / MPA)
    for k in range(len(refs)):
        assert (tmp_path / f"u_{k}.data").is_file()


def test_update_is_bitwise_deterministic(spec, engine, replicas, tmp_path) -> None:
    """Same input -> identical stress and state bytes, in a fresh and in a reused instance."""
    refs, _ = replicas
    eps = np.array([0.002, -0.001, 0.0, 0.001, 0.0, 0.003])
    first = Update("copper", 0, 0, refs[0].state, eps, refs[0].cell, refs[0].reference_stress, tmp_path / "a.data")
    second = Update("copper", 0, 0, refs[0].state, eps, refs[0].cell, refs[0].reference_stress, tmp_path / "b.data")
    with Engine() as fresh:
        s1 = run_update(fresh, spec, first)
    engine.load(spec, refs[1].state)  # leave unrelated state behind in the reused engine
    engine.nvt(spec)
    engine.run(10)
    s2 = run_update(engine, spec, second)
    assert np.array_equal(s1, s2)
    assert first.state_out.read_bytes() == second.state_out.read_bytes()
    assert "Velocities" in first.state_out.read_text()
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temp files


def test_chained_updates_land_on_the_target_cell(spec, engine, replicas, tmp_path) -> None:
    """5 x 0.002 and 1 x 0.010 (normal and shear at once) give the same cell to round-off, and it
    is (I + G(eps)) H_ref; ``fix deform erate`` chained gave 0.010040 instead of 0.010000."""
    refs, _ = replicas
    fast = spec.replace(sampling_steps=10, min_deform_steps=5)
    total = np.array([0.0, 0.0, 0.010, 0.0, 0.0, 0.010])
    one = run_all(engine, fast, updates_for(refs[:1], total, tmp_path, "one"))
    states = None
    for i in range(1, 6):
        updates = updates_for(refs[:1], total * i / 5, tmp_path, f"step{i}", states=states, seed=i)
        run_all(engine, fast, updates)
        states = [u.state_out for u in updates]
    h_one, h_five = cell_of(engine, fast, tmp_path / "one_0.data"), cell_of(engine, fast, states[0])
    h_ref = refs[0].cell
    scale = h_ref[0, 0]
    np.testing.assert_allclose(h_five, h_one, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(h_one, target_cell(h_ref, total), rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(cell_strain(h_five, h_ref), total, rtol=0, atol=1e-12)
    assert one.shape == (1, 6)


def test_tilts_scale_with_a_later_normal_stretch(tmp_path) -> None:
    """A triclinic reference cell, sheared, then stretched along x: the tilts follow
    H = (I + G(eps)) H_ref, e.g. xy = (1 + exx) xy_ref + gxy ly_ref, whatever the path."""
    spec = small_copper(cells=3, sampling_steps=10, min_deform_steps=5)
    with Engine() as eng:
        eng.build(spec)
        eng.set_box({"lx": 10.845, "ly": 10.845, "lz": 10.845, "xy": 1.0, "xz": 0.5, "yz": -0.7})
        eng.create_velocities(300.0, 7)
        eng.write_state(tmp_path / "ref.data")
        h_ref = eng.box_matrix()
        shear = np.array([0.0, 0.0, 0.0, 0.01, 0.02, 0.03])
        both = shear + np.array([0.04, 0.0, 0.0, 0.0, 0.0, 0.0])
        first = Update("copper", 0, 0, tmp_path / "ref.data", shear, h_ref, np.zeros(6), tmp_path / "a.data")
        run_update(eng, spec, first)
        second = Update("copper", 0, 0, first.state_out, both, h_ref, np.zeros(6), tmp_path / "b.data")
        run_update(eng, spec, second)
        h = cell_of(eng, spec, second.state_out)
    expected_xy = (1 + 0.04) * 1.0 + 0.03 * h_ref[1, 1]
    expected_xz = (1 + 0.04) * 0.5 + 0.03 * (-0.7) + 0.02 * h_ref[2, 2]
    assert h[0, 1] == pytest.approx(expected_xy, abs=1e-12)
    assert h[0, 2] == pytest.approx(expected_xz, abs=1e-12)
    np.testing.assert_allclose(h, target_cell(h_ref, both), rtol=0, atol=1e-12 * h_ref[0, 0])


def test_two_halves_equal_one_go(spec, engine, replicas, tmp_path) -> None:
    """In the elastic range the path does not matter: eps in one update ~ eps/2 then eps."""
    refs, _ = replicas
    eps = np.array([0.004, 0.0, 0.0, 0.0, 0.0, 0.004])
    one = run_all(engine, spec, updates_for(refs, eps, tmp_path, "one"))
    mids = updates_for(refs, eps / 2, tmp_path, "mid")
    run_all(engine, spec, mids)
    two = run_all(engine, spec, updates_for(refs, eps, tmp_path, "two", states=[u.state_out for u in mids]))
    diff = two - one
    tol = 3 * diff.std(axis=0, ddof=1) / np.sqrt(len(refs)) + 40 * MPA
    assert np.all(np.abs(diff.mean(axis=0)) < tol), (one.mean(0) / MPA, two.mean(0) / MPA, tol / MPA)
    for k in range(len(refs)):  # same target cell, to round-off
        h_one, h_two = (
            cell_of(engine, spec, tmp_path / f"one_{k}.data"),
            cell_of(engine, spec, tmp_path / f"two_{k}.data"),
        )
        np.testing.assert_allclose(h_two, h_one, rtol=0, atol=1e-12 * h_one[0, 0])


def test_zero_strain_updates_average_to_zero_within_their_standard_error(spec, engine, replicas, tmp_path) -> None:
    """Chained zero-strain updates (each its own thermostat seed, as a qp at rest sees them)
    minus the converged reference stress: zero within 4 combined standard errors per component.
    A reference taken from one short window (the old 1000-step average: 19-29 MPa error) fails."""
    refs, _ = replicas
    ref = refs[0]
    states, stresses = None, []
    for i in range(40):
        updates = updates_for([ref], np.zeros(6), tmp_path, f"z{i}", states=states, seed=100 + i)
        stresses.append(run_all(engine, spec, updates)[0])
        states = [updates[0].state_out]
    stresses = np.array(stresses)
    error = np.sqrt(stresses.var(axis=0, ddof=1) / len(stresses) + ref.standard_error**2)
    assert np.all(np.abs(stresses.mean(axis=0)) < 4 * error), (stresses.mean(0) / MPA, error / MPA)
    assert error.max() < 15 * MPA  # the test can resolve a bias of the size review measured


def _unwrapped_state(engine: Engine, spec: MaterialSpec, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell, unwrapped positions by atom id, velocities by atom id) of a state file as LAMMPS reads it."""
    engine.load(spec, path)
    n = engine.lmp.get_natoms()
    x = np.array(engine.lmp.gather_atoms("x", 1, 3)).reshape(n, 3)
    image = np.array(engine.lmp.gather_atoms("image", 0, 3)).reshape(n, 3)
    v = np.array(engine.lmp.gather_atoms("v", 1, 3)).reshape(n, 3)
    cell = engine.box_matrix()
    return cell, x + image @ cell.T, v


def test_state_written_after_the_run_without_init_is_the_state_in_memory(spec, engine, replicas, tmp_path) -> None:
    """An update writes its state with ``write_data noinit`` (the run just set the system up);
    written again from the same memory with the full init, LAMMPS must read back the same cell,
    the same unwrapped positions (atoms that crossed a face keep their image flags; a wrong flag
    would move an atom by a whole cell vector) and the same velocities. Shear and stretch at once,
    on the triclinic path."""
    refs, _ = replicas
    strain = np.array([0.01, 0.0, -0.01, 0.01, 0.02, 0.03])
    update = updates_for(refs[:1], strain, tmp_path, "noinit", seed=3)[0]
    run_update(engine, spec, update)  # writes update.state_out with noinit
    engine.write_state(tmp_path / "with_init.data")  # the same in-memory state, initialised
    cell_a, pos_a, vel_a = _unwrapped_state(engine, spec, update.state_out)
    cell_b, pos_b, vel_b = _unwrapped_state(engine, spec, tmp_path / "with_init.data")
    np.testing.assert_array_equal(cell_a, cell_b)
    np.testing.assert_allclose(pos_a, pos_b, rtol=0, atol=1e-9)  # Angstrom; round-off only
    np.testing.assert_array_equal(vel_a, vel_b)


def test_the_template_neighbour_skin_gives_the_default_skin_update(spec, replicas, tmp_path) -> None:
    """fcc_eam's 1 A neighbour skin (for speed, see the template) against LAMMPS's metal default
    of 2 A: the same update (a 2 % shear: the 1 A list is rebuilt during the run, the 2 A one
    never) gives the same stress and final positions to round-off grown over the run; a pair
    missing from a list would be off by orders of magnitude more."""
    refs, _ = replicas
    template = spec.forcefield.read_text()
    assert "neighbor        1.0 bin" in template
    wide = tmp_path / "forcefield_skin2.lmp"
    wide.write_text(template + "neighbor 2.0 bin\n")
    strain = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.02])
    results, builds = [], []
    for tag, material in (("skin1", spec), ("skin2", spec.replace(forcefield=wide))):
        update = updates_for(refs[:1], strain, tmp_path, tag, seed=5)[0]
        with Engine() as fresh:
            stress = run_update(fresh, material, update)
            fresh.commands(["variable scema_builds equal nbuild", "variable scema_danger equal ndanger"])
            builds.append(fresh.lmp.extract_variable("scema_builds"))
            assert fresh.lmp.extract_variable("scema_danger") == 0
            results.append((stress, _unwrapped_state(fresh, material, update.state_out)[1]))
    assert builds[0] >= 1, builds  # the 1 A list was rebuilt during the update (measured 10; 2 A: none)
    (s1, x1), (s2, x2) = results
    assert not np.array_equal(s1, s2)  # the skins really differ (summation order)
    np.testing.assert_allclose(s1, s2, rtol=0, atol=0.01 * MPA)
    np.testing.assert_allclose(x1, x2, rtol=0, atol=1e-6)


def test_an_update_is_the_same_first_or_after_others_in_the_worker(spec, engine, replicas, tmp_path) -> None:
    """A worker runs many updates in one engine; with the 1 A skin its list is also rebuilt during
    runs. An update must not depend on what ran before it: first in a fresh engine, and after three
    others (other replicas, strains and seeds, large enough to rebuild the list) in the reused one,
    it gives the same stress and state file, bit for bit."""
    refs, _ = replicas
    eps = np.array([0.0, 0.003, -0.002, 0.0, 0.004, 0.0])
    alone = updates_for(refs[:1], eps, tmp_path, "alone", seed=11)[0]
    with Engine() as fresh:
        first = run_update(fresh, spec, alone)
    for k, ref in enumerate(refs):
        other = updates_for([ref], np.roll(eps, k + 1) * 5, tmp_path, f"other{k}", seed=20 + k)[0]
        run_update(engine, spec, other)
    late = updates_for(refs[:1], eps, tmp_path, "late", seed=11)[0]
    assert np.array_equal(run_update(engine, spec, late), first)
    assert late.state_out.read_bytes() == alone.state_out.read_bytes()


def test_a_ramp_in_jumps_every_fifth_step_gives_the_stress_of_the_every_step_ramp(spec, engine, replicas, tmp_path):
    """Reference: the same updates (same states and thermostat seeds) with the box moved on every
    step of the ramp (deform_stride 1). With deform_stride 5 the box jumps every 5th step along the
    same ramp and lands on the same target cell; each update's stress (~700 MPa) moves by less
    than 1 % of the MD noise (the scatter over thermostat seeds; measured: < 0.1 MPa against
    18-45 MPa). The paired trajectories stay close (same seeds), so the comparison resolves far
    less than the noise. (That the last jump lands where the window starts is checked in
    test_md_batch, with a sampling stride of 1 where it takes a shifted start.)"""
    refs, _ = replicas
    strain = np.array([0.00406, 0.0, 0.0, 0.0, 0.0, 0.00406])  # a ramp of 203 steps: not a multiple of 5
    stresses, cells = {}, {}
    for stride in (1, 5):
        strided = spec.replace(deform_stride=stride)
        updates = [updates_for(refs[:1], strain, tmp_path, f"s{stride}_{i}", seed=300 + i)[0] for i in range(24)]
        stresses[stride] = run_all(engine, strided, updates)
        cells[stride] = cell_of(engine, strided, updates[-1].state_out)
    difference, noise = stresses[5] - stresses[1], stresses[1].std(axis=0, ddof=1)
    assert np.any(difference != 0)  # the stride reached LAMMPS
    assert np.all(np.abs(difference).max(axis=0) < 0.01 * noise), (np.abs(difference).max(0) / MPA, noise / MPA)
    np.testing.assert_allclose(cells[5], target_cell(refs[0].cell, strain), rtol=0, atol=1e-12 * cells[5][0, 0])
    np.testing.assert_allclose(cells[5], cells[1], rtol=0, atol=1e-12 * cells[5][0, 0])
