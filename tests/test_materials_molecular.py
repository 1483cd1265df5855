"""Molecular materials are data: atom_style from config, a builder hook, topology kept in state
files; melt-quench settings checked against the damping times before anything runs."""

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from conftest import load_default_config
from scema import seeds
from scema.md import preparation
from scema.md.engine import Engine
from scema.md.material import MaterialSpec

ROOT = Path(__file__).resolve().parents[1]

# A 4-site united-atom chain: 3 bonds, 2 angles, 1 dihedral (atom_style molecular).
CHAIN_DATA = """4-site chain (test builder)

4 atoms
1 atom types
3 bonds
1 bond types
2 angles
1 angle types
1 dihedrals
1 dihedral types

0.0 20.0 xlo xhi
0.0 20.0 ylo yhi
0.0 20.0 zlo zhi
0.0 0.0 0.0 xy xz yz

Masses

1 14.027

Atoms # molecular

1 1 1 5.0 5.0 5.0
2 1 1 6.54 5.0 5.0
3 1 1 7.17 6.40 5.0
4 1 1 8.71 6.40 5.30

Bonds

1 1 1 2
2 1 2 3
3 1 3 4

Angles

1 1 1 2 3
2 1 2 3 4

Dihedrals

1 1 1 2 3 4
"""

FORCEFIELD = """pair_style lj/cut 8.0
pair_coeff * * 0.091 3.95
bond_style harmonic
bond_coeff 1 450.0 1.54
angle_style harmonic
angle_coeff 1 62.1 114.0
dihedral_style opls
dihedral_coeff 1 1.411 -0.271 3.145 0.0
special_bonds lj 0.0 0.0 0.0
"""


def molecular_spec(tmp_path: Path, structure: str = "read_data ${structure_data}\n", **changes) -> MaterialSpec:
    (tmp_path / "structure.lmp").write_text(structure)
    (tmp_path / "forcefield.lmp").write_text(FORCEFIELD)
    entry = {
        "units": "real",
        "atom_style": "molecular",
        "structure": str(tmp_path / "structure.lmp"),
        "forcefield": str(tmp_path / "forcefield.lmp"),
        "builder": {"type": "chains", "chains": 1, "sites_per_chain": 4},
        "temperature": 300.0,
        "timestep": 1e-15,
        "strain_rate": 1e10,
        "thermostat_damping_steps": 10,
        "barostat_damping_steps": 20,
        "equilibration_steps": 100,
        "reference_sampling_steps": 100,
        "sampling_steps": 10,
        "min_deform_steps": 5,
        "stiffness_strain": 0.01,
        "stiffness_sampling_steps": 10,
    }
    entry.update(changes)
    return MaterialSpec.from_entry("chain", entry, base_dir=ROOT)


@pytest.fixture
def fake_builder(monkeypatch):
    """Replaces scema.md.builder (tested in test_polymer.py): records its calls, writes CHAIN_DATA."""
    calls = []

    def build_structure(settings, seed, path):
        calls.append((dict(settings), seed, Path(path)))
        Path(path).write_text(CHAIN_DATA)
        return Path(path)

    module = types.ModuleType("scema.md.builder")
    module.build_structure = build_structure
    monkeypatch.setitem(sys.modules, "scema.md.builder", module)
    return calls


def test_schema_fills_atom_style_and_leaves_builder_and_preparation_out(tmp_path) -> None:
    # without a builder nothing sets ${structure_data}: a template of its own (the config check refuses it)
    spec = molecular_spec(tmp_path, "read_data chain.data\n", atom_style="atomic", builder=None)
    assert spec.atom_style == "atomic" and spec.builder is None and spec.preparation is None
    bare = MaterialSpec.from_entry(
        "c",
        {
            "units": "metal",
            "structure": "config/lammps/fcc_eam/structure.lmp",
            "forcefield": "config/lammps/fcc_eam/forcefield.lmp",
            "temperature": 300.0,
            "timestep": 2e-15,
            "strain_rate": 1e10,
            "variables": load_default_config()["materials"]["copper"]["variables"],  # what the templates use
        },
        base_dir=ROOT,
    )
    assert bare.atom_style == "atomic" and bare.builder is None
    built = molecular_spec(tmp_path)
    assert built.builder["sites_per_chain"] == 4 and built.builder["bond_angle"] == 114.0  # schema default


def test_builder_output_reaches_the_template_and_topology_survives_a_state_round_trip(tmp_path, fake_builder) -> None:
    spec = molecular_spec(tmp_path)
    with Engine() as eng:
        preparation._prepare(eng, spec, master=77, replica=3, scratch=tmp_path)
        assert fake_builder == [
            (dict(spec.builder), seeds.lammps_seed(77, "structure", 3), tmp_path / "structure.data")
        ]
        counts = [eng.lmp.extract_global(k) for k in ("nbonds", "nangles", "ndihedrals")]
        assert eng.natoms() == 4 and counts == [3, 2, 1]
        x_before = np.array(eng.lmp.numpy.extract_atom("x")[:4], dtype=float)
        eng.write_state(tmp_path / "state.data")
        eng.load(spec, tmp_path / "state.data")
        assert [eng.lmp.extract_global(k) for k in ("nbonds", "nangles", "ndihedrals")] == [3, 2, 1]
        x_after = np.array(eng.lmp.numpy.extract_atom("x")[:4], dtype=float)
    np.testing.assert_allclose(x_after, x_before, rtol=0, atol=1e-12)  # 1 ulp: triclinic remap on read
    text = (tmp_path / "state.data").read_text()
    for section in ("Bonds", "Angles", "Dihedrals", "Velocities"):
        assert f"\n{section}" in text


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"equilibration_steps": 99}, "equilibration_steps"),
        ({"preparation": {"melt_temperature": 500.0, "melt_steps": 50}}, "preparation.melt_steps"),
        (
            {"preparation": {"melt_temperature": 500.0, "melt_steps": 1000, "quench_rate": 1e16}},
            "preparation.quench_rate",
        ),
        ({"preparation": {"melt_temperature": 250.0, "melt_steps": 1000}}, "preparation.melt_temperature"),
    ],
)
def test_too_short_preparation_is_refused_naming_the_key(tmp_path, changes, key) -> None:
    """5 barostat/thermostat damping times (here 5 x 20 steps) for each NPT stage; a melt above
    the run temperature."""
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        molecular_spec(tmp_path, **changes)
