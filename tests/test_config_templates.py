"""Parse-time checks of what the config hands to LAMMPS and PETSc, and oneOf messages that name
the key: template variables missing, misspelt or unused; PETSc option names; selector forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO, load_default_config
from scema.config import ConfigError, validate_config

FCC = REPO / "config" / "lammps" / "fcc_eam"


def _refused(cfg: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, search_dirs=[REPO])
    return str(caught.value)


def _copper(cfg: dict) -> dict:
    return cfg["materials"]["copper"]


def _templates(tmp_path: Path, structure: str, forcefield: str = "pair_style ${pair_style}\n") -> dict:
    """The default config with its copper built from the two given template texts."""
    cfg = load_default_config()
    (tmp_path / "structure.lmp").write_text(structure)
    (tmp_path / "forcefield.lmp").write_text(forcefield)
    _copper(cfg).update(structure=str(tmp_path / "structure.lmp"), forcefield=str(tmp_path / "forcefield.lmp"))
    _copper(cfg)["variables"] = {"pair_style": "eam/alloy"}
    return cfg


# ---------------------------------------------------------------- oneOf / anyOf


@pytest.mark.parametrize(
    "selector,message",
    [
        (
            {"physical_grup": "top"},
            "config error: 'specimen.boundaries.pin' must have one of physical_group, box, cylinder (it has physical_grup)",
        ),
        (
            {"cylinder": {"point": [0, 0, 0], "axis": [0, 0, 1]}},
            "config error: 'specimen.boundaries.pin.cylinder.radius' is required",
        ),
        (
            {"cylinder": {"point": [0, 0, 0], "axis": [0, 0, 1], "radius": -1.0}},
            "config error: 'specimen.boundaries.pin.cylinder.radius': -1.0 is less than or equal to the minimum of 0",
        ),
        ({"box": [[0, 0, 0]]}, "config error: 'specimen.boundaries.pin.box': [[0, 0, 0]] is too short"),
        (
            {"box": [[0, 0, 0], [1, 1, 1]], "physical_group": "a"},
            "config error: 'specimen.boundaries.pin' must have exactly one of physical_group, box, cylinder "
            "(it has box, physical_group)",
        ),
        (
            {"physical_group": "a", "radius": 1.0},
            "config error: unknown key 'specimen.boundaries.pin.radius' (not in the schema of specimen.boundaries.pin)",
        ),
    ],
)
def test_selector_errors_name_the_branch_the_user_meant(selector, message):
    cfg = load_default_config()
    cfg["specimen"]["boundaries"] = {"pin": selector}
    assert _refused(cfg) == message
