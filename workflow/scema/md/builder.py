"""Amorphous linear chains by random-walk growth, written as a LAMMPS data file (atom_style molecular).

Why our own builder: a polymer box cannot come from a lattice command, and one independent build
per replica must be reproducible from the run seed. The chains are united-atom linear molecules
(CH3 ends, CH2 inside): fixed bond length and bond angle, uniformly random torsion, each new site
rejected if it comes closer than ``min_distance`` to any site it does not share a bond, angle or
dihedral with (periodic images included). A dead end backtracks a few sites; a chain that keeps
failing restarts elsewhere. The box is cubic at the packing ``density`` and written triclinic
(tilts 0) so the MD side can shear it.

    build_structure(material["builder"], seed, Path("box.data"))

``settings`` is the material's ``builder`` mapping: ``type: chains``, ``chains``,
``sites_per_chain``, ``density`` (g/cm^3), ``bond_length`` (Angstrom), ``bond_angle`` (degrees),
``min_distance`` (Angstrom); defaults live in the config schema.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from scema.io.atomic import atomic_path
from scema.md.units import AVOGADRO
from scema.seeds import rng

# United-atom site masses (g/mol): CH3 = C + 3 H, CH2 = C + 2 H (IUPAC standard atomic weights).
END_MASS = 15.035  # atom type 1, chain ends
MIDDLE_MASS = 14.027  # atom type 2, chain interior
EXCLUDED_NEIGHBOURS = 3  # sites within 3 bonds share a bond/angle/dihedral: not overlap-checked
TORSION_TRIES = 50  # random torsions tried for one site before backtracking
BACKTRACK_SITES = 4  # sites removed after a dead end
CHAIN_ATTEMPTS = 200  # dead ends allowed per chain before it restarts at a new random origin
RESTARTS = 50  # restarts per chain before the build gives up


def _int_setting(settings: Mapping, key: str, minimum: int) -> int:
    value = settings.get(key)
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"builder.{key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _positive_setting(settings: Mapping, key: str) -> float:
    value = settings.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"builder.{key} must be a number > 0, got {value!r}")
    return float(value)


def box_length(chains: int, sites_per_chain: int, density: float) -> float:
    """Edge (Angstrom) of the cube holding the chains at ``density`` g/cm^3."""
    mass_g = chains * (2 * END_MASS + (sites_per_chain - 2) * MIDDLE_MASS) / AVOGADRO
    return (mass_g / density * 1.0e24) ** (1.0 / 3.0)


class _Grid:
    """Placed sites in periodic cells at least ``cutoff`` wide: the overlap check looks at 27 cells."""

    def __init__(self, length: float, cutoff: float) -> None:
        self.length = length
        self.cutoff2 = cutoff * cutoff
        self.n = max(1, int(length // cutoff))
        self.cells: dict[tuple[int, int, int], list[tuple[int, np.ndarray]]] = {}

    def _cell(self, x: np.ndarray) -> tuple[int, int, int]:
        c = np.floor(np.mod(x, self.length) / self.length * self.n).astype(int) % self.n
        return int(c[0]), int(c[1]), int(c[2])

    def add(self, key: int, x: np.ndarray) -> None:
        self.cells.setdefault(self._cell(x), []).append((key, x))

    def remove(self, key: int, x: np.ndarray) -> None:
        cell = self.cells[self._cell(x)]
        cell[:] = [entry for entry in cell if entry[0] != key]

    def clashes(self, x: np.ndarray, ignore: set[int]) -> bool:
        """True if a placed site not in ``ignore`` lies within the cutoff of ``x`` (minimum image)."""
        cx, cy, cz = self._cell(x)
        span = range(-1, 2) if self.n >= 3 else range(self.n)
        seen: set[tuple[int, int, int]] = set()
        for dx in span:
            for dy in span:
                for dz in span:
                    cell = ((cx + dx) % self.n, (cy + dy) % self.n, (cz + dz) % self.n)
                    if cell in seen:
                        continue
                    seen.add(cell)
                    for key, y in self.cells.get(cell, ()):
                        if key in ignore:
                            continue
                        d = x - y
                        d -= self.length * np.round(d / self.length)
                        if float(d @ d) < self.cutoff2:
                            return True
        return False


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _next_site(chain: list[np.ndarray], bond: float, angle: float, gen: np.random.Generator) -> np.ndarray:
    """A new site one bond from the chain end: random direction, then fixed angle, random torsion."""
    if len(chain) == 1:
        return chain[0] + bond * _unit(gen.normal(size=3))
    b = _unit(chain[-1] - chain[-2])  # last bond direction
    if len(chain) == 2:
        ref = _unit(gen.normal(size=3))  # no dihedral yet: any azimuth
    else:
        ref = chain[-3] - chain[-2]
    # Orthonormal frame (b, n, m) around the last bond; the torsion rotates about b.
    n = _unit(ref - (ref @ b) * b)
    m = np.cross(b, n)
    phi = gen.uniform(0.0, 2.0 * math.pi)  # torsion 0 = cis (n points to the site 3 back)
    direction = -math.cos(angle) * b + math.sin(angle) * (math.cos(phi) * n + math.sin(phi) * m)
    return chain[-1] + bond * direction


def _grow_chain(
    grid: _Grid, first_key: int, sites: int, length: float, bond: float, angle: float, gen: np.random.Generator
) -> list[np.ndarray]:
    """One chain of ``sites`` unwrapped positions, registered in ``grid`` with keys first_key + i."""
    for _ in range(RESTARTS):
        chain: list[np.ndarray] = []
        dead_ends = 0
        while len(chain) < sites and dead_ends <= CHAIN_ATTEMPTS:
            i = len(chain)
            ignore = {first_key + j for j in range(max(0, i - EXCLUDED_NEIGHBOURS), i)}
            for _try in range(TORSION_TRIES):
                x = gen.uniform(0.0, length, size=3) if i == 0 else _next_site(chain, bond, angle, gen)
                if not grid.clashes(x, ignore):
                    chain.append(x)
                    grid.add(first_key + i, x)
                    break
            else:
                dead_ends += 1
                for _back in range(min(BACKTRACK_SITES, len(chain))):
                    grid.remove(first_key + len(chain) - 1, chain.pop())
        if len(chain) == sites:
            return chain
        for j in range(len(chain) - 1, -1, -1):
            grid.remove(first_key + j, chain.pop())
    raise RuntimeError(
        f"builder: could not place a chain of {sites} sites after {RESTARTS} restarts; "
        "lower builder.density or builder.min_distance"
    )


def build_chains(settings: Mapping, seed: int) -> tuple[np.ndarray, float]:
    """Unwrapped positions (chains, sites_per_chain, 3) in Angstrom and the cube edge."""
    kind = settings.get("type", "chains")
    if kind != "chains":
        raise ValueError(f"builder.type must be 'chains', got {kind!r}")
    chains = _int_setting(settings, "chains", 1)
    sites = _int_setting(settings, "sites_per_chain", 2)
    density = _positive_setting(settings, "density")
    bond = _positive_setting(settings, "bond_length")
    angle_deg = _positive_setting(settings, "bond_angle")
    if not angle_deg < 180.0:
        raise ValueError(f"builder.bond_angle must be in (0, 180) degrees, got {angle_deg}")
    min_distance = _positive_setting(settings, "min_distance")
    length = box_length(chains, sites, density)
    if min_distance >= length / 2:
        raise ValueError(f"builder.min_distance ({min_distance} A) must be below half the box ({length:.2f} A)")
    gen = rng(seed, "builder")
    grid = _Grid(length, min_distance)
    angle = math.radians(angle_deg)
    positions = np.empty((chains, sites, 3))
    for c in range(chains):
        positions[c] = _grow_chain(grid, c * sites, sites, length, bond, angle, gen)
    return positions, length


def write_data(path: Path, positions: np.ndarray, length: float) -> None:
    """LAMMPS data file for atom_style molecular: wrapped coordinates with image flags, full topology."""
    chains, sites, _ = positions.shape
    wrapped = np.mod(positions, length)
    images = np.rint((positions - wrapped) / length).astype(int)
    ids = np.arange(chains * sites).reshape(chains, sites) + 1
    n_bonds, n_angles, n_dihedrals = (chains * max(0, sites - k) for k in (1, 2, 3))
    lines = [
        f"LAMMPS data file: {chains} united-atom chains x {sites} sites (scema.md.builder)",
        "",
        f"{chains * sites} atoms",
        f"{n_bonds} bonds",
        f"{n_angles} angles",
        f"{n_dihedrals} dihedrals",
        "",
        "2 atom types",
        "1 bond types",
        "1 angle types",
        "1 dihedral types",
        "",
        f"0.0 {length!r} xlo xhi",
        f"0.0 {length!r} ylo yhi",
        f"0.0 {length!r} zlo zhi",
        "0.0 0.0 0.0 xy xz yz",
        "",
        "Masses",
        "",
        f"1 {END_MASS}  # CH3",
        f"2 {MIDDLE_MASS}  # CH2",
        "",
        "Atoms  # molecular",
        "",
    ]
    for c in range(chains):
        for s in range(sites):
            kind = 1 if s in (0, sites - 1) else 2
            x, y, z = wrapped[c, s]
            ix, iy, iz = images[c, s]
            lines.append(f"{ids[c, s]} {c + 1} {kind} {x!r} {y!r} {z!r} {ix} {iy} {iz}")
    sections = (("Bonds", 2), ("Angles", 3), ("Dihedrals", 4))
    for title, size in sections:
        if sites < size:
            continue  # LAMMPS refuses an empty section
        lines += ["", title, ""]
        count = 0
        for c in range(chains):
            for s in range(sites - size + 1):
                count += 1
                lines.append(f"{count} 1 " + " ".join(str(ids[c, s + k]) for k in range(size)))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def build_structure(settings: Mapping, seed: int, path: Path) -> Path:
    """Build the chains of ``settings`` (the material's ``builder`` mapping) into a data file at ``path``.

    Deterministic for a seed: the random stream is ``scema.seeds.rng(seed, "builder")``.
    """
    positions, length = build_chains(settings, seed)
    write_data(Path(path), positions, length)
    return Path(path)
