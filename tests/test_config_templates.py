"""Parse-time checks of what the config hands to LAMMPS and PETSc, and oneOf messages that name
the key: template variables missing, misspelt or unused; PETSc option names; selector forms."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import yaml

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


# ---------------------------------------------------------------- template variables


def test_misspelt_variable_names_the_template_the_variable_and_the_typo():
    cfg = load_default_config()
    variables = _copper(cfg)["variables"]
    variables["lattice_const"] = variables.pop("lattice_constant")
    assert _refused(cfg) == (
        f"config error: 'materials.copper.variables': {FCC / 'structure.lmp'} uses ${{lattice_constant}}, "
        "which is not set (materials.copper.variables has lattice_const, which no template uses)"
    )


def test_missing_file_variable_names_the_forcefield_template():
    """``potential`` for ``potential_file``: the file was neither checked nor a job input."""
    cfg = load_default_config()
    variables = _copper(cfg)["variables"]
    variables["potential"] = variables.pop("potential_file")
    assert _refused(cfg).startswith(
        f"config error: 'materials.copper.variables': {FCC / 'forcefield.lmp'} uses ${{potential_file}}, which is not set"
    )


def test_variable_no_template_uses_is_refused_by_its_key():
    cfg = load_default_config()
    _copper(cfg)["variables"]["lattice_spacing"] = 3.6
    assert _refused(cfg).startswith("config error: 'materials.copper.variables.lattice_spacing': no template uses it")


def test_unused_file_variable_is_only_a_warning(capsys):
    """A ``*_file`` variable is also an input of the material jobs (common.smk): warned, kept."""
    cfg = load_default_config()
    _copper(cfg)["variables"]["extra_file"] = str(FCC / "structure.lmp")
    validated = validate_config(cfg, search_dirs=[REPO])
    assert validated["materials"]["copper"]["variables"]["extra_file"] == str(FCC / "structure.lmp")
    assert "config warning: 'materials.copper.variables.extra_file': no template uses it" in capsys.readouterr().err


def test_lammps_forms_defined_lines_comments_and_includes(tmp_path):
    """$x (one letter), names a template defines before use, comments (not substituted by
    LAMMPS) and included files, followed in order."""
    (tmp_path / "part.lmp").write_text("lattice fcc ${a}  # ${ignored}\n")
    structure = "variable a equal 3.6\nvariable n index 4\ninclude part.lmp\nregion b block 0 $n &\n 0 ${m} 0 4\n"
    cfg = _templates(tmp_path, structure)
    structure = tmp_path / "structure.lmp"
    assert _refused(cfg) == f"config error: 'materials.copper.variables': {structure} uses ${{m}}, which is not set"
    _copper(cfg)["variables"]["m"] = 4
    validate_config(cfg, search_dirs=[REPO])
    (tmp_path / "structure.lmp").write_text("lattice fcc ${a}\nvariable a equal 3.6\n")  # defined too late
    assert "structure.lmp uses ${a}, which is not set" in _refused(cfg)


def test_quoted_substitutions_and_definitions_inside_if_are_lammps_s(tmp_path):
    """LAMMPS substitutes a quoted ${x} when the command runs (fix print, print, if), so a later
    definition counts; `if ... then "variable m ..."` defines m (both accepted by LAMMPS itself)."""
    forcefield = (
        "pair_style ${pair_style}\n"
        'if "${pair_style} == eam/alloy" then "variable m equal 63.546" else "variable m equal 58.69"\n'
        "mass 1 ${m}\n"
        'fix p all print 1000 "pe ${epot}"\n'
        "variable epot equal pe\n"
    )
    cfg = _templates(tmp_path, "lattice fcc 3.6\n", forcefield)
    validate_config(cfg, search_dirs=[REPO])
    (tmp_path / "forcefield.lmp").write_text(forcefield + 'print "${never_set}"\n')
    assert "forcefield.lmp uses ${never_set}, which is not set" in _refused(cfg)
    (tmp_path / "forcefield.lmp").write_text("pair_style ${pair_style}\nmass 1 ${later}\nvariable later equal 1\n")
    assert "forcefield.lmp uses ${later}, which is not set" in _refused(cfg)  # unquoted: needed before


def test_include_of_a_missing_file_names_the_template(tmp_path):
    cfg = _templates(tmp_path, "include no_such_part.lmp\n")
    assert _refused(cfg) == (
        f"config error: 'materials.copper': {tmp_path / 'structure.lmp'} includes 'no_such_part.lmp', which does not exist"
    )


def test_build_variables_reach_the_structure_template_only(tmp_path):
    """structure_seed is set while building; the force field is also read after a state restore."""
    cfg = _templates(tmp_path, "lattice fcc 3.6\nvariable s equal ${structure_seed}\n")
    validate_config(cfg, search_dirs=[REPO])
    (tmp_path / "forcefield.lmp").write_text("pair_style ${pair_style}\nvariable s equal ${structure_seed}\n")
    assert "forcefield.lmp uses ${structure_seed}, which is not set (scema sets it only while building" in _refused(cfg)
    (tmp_path / "forcefield.lmp").write_text("pair_style ${pair_style}\n")
    (tmp_path / "structure.lmp").write_text("read_data ${structure_data}\n")
    assert "uses ${structure_data}, which is not set (scema sets it only for a material with a `builder`)" in _refused(
        cfg
    )


def test_a_seeded_structure_under_the_0_K_law_is_refused_naming_the_law(tmp_path):
    """The 0 K law (material_zero_kelvin) builds one perfect lattice with no seed: a structure
    template that needs one failed inside that job; now the config names the setting."""
    cfg = _templates(tmp_path, "lattice fcc 3.6\nvariable s equal ${structure_seed}\n")
    assert _copper(cfg)["stiffness_symmetry"] == "cubic"
    cfg["committee"].update(enabled=True, zero_kelvin_law=True)
    message = _refused(cfg)
    assert message.startswith("config error: 'committee.zero_kelvin_law': the structure template of material copper")
    assert "${structure_seed}" in message
    cfg["committee"]["zero_kelvin_law"] = False
    validate_config(cfg, search_dirs=[REPO])


def test_the_build_variables_are_those_the_preparation_passes():
    """scema.md.templates names what scema.md.preparation._prepare sets: read from its source."""
    from scema.md import preparation
    from scema.md.templates import BUILD_VARIABLES, BUILDER_VARIABLES

    tree = ast.parse(inspect.getsource(preparation._prepare))
    keys = {k.value for node in ast.walk(tree) if isinstance(node, ast.Dict) for k in node.keys}
    keys |= {
        node.slice.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "variables"
    }
    assert keys == set(BUILD_VARIABLES) | set(BUILDER_VARIABLES)


SHIPPED = [
    REPO / "config" / "config.yaml",
    *sorted((REPO / "config" / "examples").glob("*.yaml")),
    *sorted((REPO / "docs" / "results").glob("*_run_config.yaml")),
]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_config_passes(path, capsys):
    cfg = yaml.safe_load(path.read_text())
    if "study" in cfg:
        from scema.study_config import validate_study

        validate_study(cfg, [REPO, REPO / "workflow"])
    elif "comparison" in cfg:
        from scema.comparison_config import validate_comparison

        validate_comparison(cfg, [REPO, REPO / "workflow"])
    else:
        validate_config(cfg, search_dirs=[REPO])
    assert "config warning" not in capsys.readouterr().err


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


# ---------------------------------------------------------------- PETSc options


def test_petsc_option_with_a_leading_dash_is_refused_by_its_key():
    cfg = load_default_config()
    cfg["fe"]["petsc_options"] = {"iterative": {"-ksp_max_it": 5}}
    assert _refused(cfg) == (
        "config error: 'fe.petsc_options.iterative.-ksp_max_it': write PETSc option names without the "
        "leading dash (ksp_max_it)"
    )


def _solve(options: dict, key: str | None = "fe.petsc_options.iterative"):
    import numpy as np

    from scema.fe.scheme import quasistatic_increment
    from test_fe import _two_material_bar

    model, prescribed = _two_material_bar()
    stress = np.random.default_rng(1).normal(0.0, 1e6, size=(model.n_qp, 6))
    return quasistatic_increment(model, stress, prescribed, options, key)


def _iterative(**changes) -> dict:
    options = validate_config(load_default_config(), search_dirs=[REPO])["fe"]["petsc_options"]["iterative"]
    return {**options, **changes}


def test_petsc_option_that_petsc_never_reads_is_refused_by_its_key():
    with pytest.raises(ValueError) as caught:
        _solve(_iterative(ksp_rtoll=1e-14))
    assert str(caught.value).startswith(
        "config error: 'fe.petsc_options.iterative.ksp_rtoll': PETSc did not use this option"
    )


def test_every_default_petsc_option_is_read_and_levels_options_take_effect():
    """Both solvers' defaults pass the check (mg_levels_* are read when GAMG sets its levels up,
    inside the solve); a smoother changed there changes the answer, at round-off."""
    import numpy as np

    direct = _solve(validate_config(load_default_config(), search_dirs=[REPO])["fe"]["petsc_options"]["direct"])
    iterative = _solve(_iterative())
    sor = _solve(_iterative(mg_levels_pc_type="sor"))
    scale = np.abs(direct).max()
    np.testing.assert_allclose(iterative, direct, rtol=0, atol=1e-7 * scale)
    np.testing.assert_allclose(sor, direct, rtol=0, atol=1e-7 * scale)
    assert not np.array_equal(sor, iterative)


@pytest.mark.parametrize(
    "change,key,kind",
    [({"pc_type": "amg"}, "pc_type", "pc"), ({"mg_levels_ksp_type": "chebychev"}, "mg_levels_ksp_type", "ksp")],
)
def test_unknown_petsc_type_names_the_option(change, key, kind):
    """PETSc's 'error code 86', at setFromOptions (pc_type) or at the levels' set-up (mg_levels_*)."""
    with pytest.raises(ValueError) as caught:
        _solve(_iterative(**change))
    value = next(iter(change.values()))
    assert str(caught.value).startswith(
        f"config error: 'fe.petsc_options.iterative.{key}': PETSc has no {kind} type '{value}'"
    )


def test_without_its_key_the_option_is_named_under_the_chosen_solver():
    """fe_step's params hold the chosen solver's options, not its name (adding it would rerun
    every fe_step of earlier runs): the key then reads fe.petsc_options.<fe.solver>.name."""
    with pytest.raises(ValueError, match=r"^config error: 'fe.petsc_options.<fe.solver>.ksp_rtoll': PETSc did not"):
        _solve(_iterative(ksp_rtoll=1e-14), key=None)
