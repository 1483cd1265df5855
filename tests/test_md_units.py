"""LAMMPS unit-style factors against the values in https://docs.lammps.org/units.html."""

from pathlib import Path

import pytest

from conftest import copper_entry
from scema.md import units
from scema.md.material import MaterialError, MaterialSpec

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "style, pascal",
    [
        ("metal", 1.0e5),  # bar
        ("real", 101325.0),  # atmosphere
        ("si", 1.0),  # Pa
        ("cgs", 0.1),  # dyne/cm^2 = 1e-5 N / 1e-4 m^2
        ("electron", 1.0),  # Pa
        ("micro", 1.0e3),  # picogram/(micrometer-microsecond^2) = 1e-15 kg / (1e-6 m 1e-12 s^2)
        ("nano", 1.0e6),  # attogram/(nanometer-nanosecond^2) = 1e-21 kg / (1e-9 m 1e-18 s^2)
    ],
)
def test_pressure_to_pascal(style: str, pascal: float) -> None:
    assert units.pressure_to_pascal(style) == pytest.approx(pascal, rel=1e-12)


@pytest.mark.parametrize(
    "style, seconds",
    [
        ("metal", 1e-12),
        ("real", 1e-15),
        ("si", 1.0),
        ("cgs", 1.0),
        ("electron", 1e-15),
        ("micro", 1e-6),
        ("nano", 1e-9),
    ],
)
def test_time_unit_seconds(style: str, seconds: float) -> None:
    assert units.time_unit_seconds(style) == pytest.approx(seconds, rel=1e-12)


def test_mass_and_distance_metal() -> None:
    # 1 g/mol per atom = 1 amu = 1.66053906660e-27 kg; 1 Angstrom = 1e-10 m
    assert units.mass_to_kilogram("metal") == pytest.approx(1.66053906660e-27, rel=1e-9)
    assert units.distance_to_metre("metal") == 1e-10
    assert units.distance_to_metre("electron") == pytest.approx(5.29177210903e-11, rel=1e-10)


@pytest.mark.parametrize("style", ["lj", "bogus"])
def test_reduced_or_unknown_style_raises_naming_it(style: str) -> None:
    with pytest.raises(ValueError, match=style):
        units.pressure_to_pascal(style)
    with pytest.raises(ValueError, match=style):
        units.time_unit_seconds(style)


def test_material_spec_converts_time_to_lammps_units() -> None:
    cfg = {
        "units": "real",
        "structure": "config/lammps/fcc_eam/structure.lmp",
        "forcefield": "config/lammps/fcc_eam/forcefield.lmp",
        "variables": copper_entry(3)["variables"],  # every variable the templates use (checked)
        "temperature": 300.0,
        "timestep": 2.0e-15,
        "strain_rate": 1.0e10,
        "sampling_steps": 10,
        "min_deform_steps": 25,
        "stiffness_strain": 0.005,
        "stiffness_sampling_steps": 10,
    }
    spec = MaterialSpec.from_entry("x", cfg, base_dir=ROOT)
    assert spec.timestep_lammps == pytest.approx(2.0)  # fs
    assert spec.strain_rate_lammps == pytest.approx(1.0e-5)  # 1/fs
    assert spec.deform_steps(1e-3) == 50  # 1e-3 / (1e10/s * 2e-15 s)
    assert spec.deform_steps(1e-5) == 25  # min_deform_steps
    with pytest.raises(ValueError, match="lj"):
        MaterialSpec.from_entry("x", {**cfg, "units": "lj"}, base_dir=ROOT)
    # the schema's enum refuses lj in a config; a spec changed in code is refused by MaterialSpec,
    # naming the key validate_config would report
    with pytest.raises(MaterialError, match="material 'x': LAMMPS units style 'lj' is reduced") as refused:
        spec.replace(units="lj")
    assert refused.value.key == "units"
