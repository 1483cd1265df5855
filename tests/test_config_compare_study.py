"""Comparison and study configs: every mode / point is refused when its own run would refuse it
(the CFL limit with the run's own directory, its file paths), a bad base file is one line naming
the key and the file, and a study of committee parameters needs the committee on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import COPPER_POTENTIAL, load_default_config
from scema.comparison_config import ComparisonError, merged_mode_configs, mode_configs, validate_comparison
from scema.config import validate_config
from scema.study_config import StudyError, study_configs, validate_study
from scema.yaml_file import YAMLFileError, load_mapping

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
DROP_WEIGHT = "config/examples/drop_weight.yaml"  # explicit dynamics, fe.time_step 1e-7 s


def _comparison(base: str, **extra) -> dict:
    return {"comparison": {"name": "t", "base": base, **extra}}


def _study(base: str, **extra) -> dict:
    parameters = {"committee": {"size": [4, 8]}}
    return {"study": {"name": "t", "base": base, "parameters": parameters, **extra}}


def _one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


# 1. the explicit CFL check, per mode / point


def test_comparison_mode_above_the_cfl_limit_is_refused_naming_the_mode_and_key():
    """The reviewer's cmp_cfl: the mode's own run refused fe.time_step 1e-5 s, the comparison did not."""
    config = _comparison(DROP_WEIGHT, modes={"committee": {"committee": {"enabled": True}, "fe": {"time_step": 1e-5}}})
    with pytest.raises(ComparisonError) as error:
        validate_comparison(config, search_dirs=[REPO])
    # drop_weight: 1 mm cells, bound 8000 m/s -> limit 1.25e-7 s (as a plain run reports it)
    assert _one_line(error).startswith(
        "comparison error: mode 'committee': config error: 'fe.time_step': 1.000e-05 s exceeds the stable "
        "explicit limit 1.250e-07 s"
    )


def test_study_point_above_the_cfl_limit_is_refused_naming_the_run_and_key():
    accelerated = {"committee": {"enabled": True}, "fe": {"time_step": 1e-5}}  # the points only
    with pytest.raises(StudyError) as error:
        validate_study(_study(DROP_WEIGHT, accelerated=accelerated), search_dirs=[REPO])
    assert _one_line(error).startswith("study error: run 'baseline': config error: 'fe.time_step': 1.000e-05 s")


def _cached_material(run_dir: Path, speed: float) -> None:
    """results/materials/copper/material.nc of a run, stiffness s * I: wave speed sqrt(s / rho)."""
    density = 8960.0
    stiffness = np.broadcast_to(speed**2 * density * np.eye(6), (2, 6, 6)).copy()
    ds = xr.Dataset({"stiffness": (("replica", "i", "j"), stiffness), "density": (("replica",), np.full(2, density))})
    path = run_dir / "results" / "materials" / "copper" / "material.nc"
    path.parent.mkdir(parents=True)
    ds.to_netcdf(path, engine="netcdf4")


def test_cfl_check_reads_each_modes_own_cached_material(tmp_path):
    """Default bar, explicit: h = 0.5 mm, so the bound 8000 m/s allows 6.25e-8 s and 5e-8 s passes;
    the committee mode's finished material (16 km/s: limit 3.125e-8 s) is the one its run uses."""
    overrides = {"fe": {"integrator": "explicit_dynamic", "time_step": 5e-8}}
    config = _comparison(
        "config/config.yaml", overrides=overrides, modes={"committee": {"committee": {"enabled": True}}}
    )
    assert set(mode_configs(validate_comparison(config, search_dirs=[tmp_path, REPO])["comparison"])) == {
        "brute_force",
        "brute_force_seed2",
        "committee",
    }
    _cached_material(tmp_path / "results" / "comparison" / "t" / "committee", speed=16000.0)
    with pytest.raises(ComparisonError) as error:
        validate_comparison(config, search_dirs=[tmp_path, REPO])
    message = _one_line(error)
    assert message.startswith("comparison error: mode 'committee': config error: 'fe.time_step': 5.000e-08 s")
    assert "limit 3.125e-08 s" in message and "from results/materials/copper/material.nc" in message


# 2. relative paths: resolved once, carried absolute into every run's config


@pytest.fixture
def base_beside_potential(tmp_path):
    """A base config in inputs/ naming its potential file by a path relative to inputs/; the
    workflow runs from work/ (the reviewer's cmp_rel, with the two directories apart)."""
    inputs, work = tmp_path / "inputs", tmp_path / "work"
    inputs.mkdir()
    work.mkdir()
    shutil.copy(COPPER_POTENTIAL, inputs / "Cu.eam.alloy")
    cfg = load_default_config()
    cfg["materials"]["copper"]["variables"]["potential_file"] = "Cu.eam.alloy"
    (inputs / "base.yaml").write_text(yaml.safe_dump(cfg))
    return inputs, work


def _assert_runs_find_the_files(configs: dict, root: Path, inputs: Path) -> None:
    for run, cfg in configs.items():
        copper = cfg["materials"]["copper"]
        assert copper["variables"]["potential_file"] == str(inputs / "Cu.eam.alloy"), run
        assert copper["structure"] == str(REPO / "config/lammps/fcc_eam/structure.lmp"), run
        assert copper["variables"]["element"] == "Cu"  # other strings as written
        # the run's own check: its directory first, then the repository (workflow/rules/common.smk)
        validated = validate_config(cfg, search_dirs=[root / run, REPO])
        assert validated["materials"]["copper"]["variables"]["potential_file"] == str(inputs / "Cu.eam.alloy")


def test_comparison_mode_configs_carry_the_paths_absolute(base_beside_potential):
    inputs, work = base_beside_potential
    modes = {"committee": {"committee": {"enabled": True}}}
    section = validate_comparison(_comparison(str(inputs / "base.yaml"), modes=modes), search_dirs=[work, REPO])[
        "comparison"
    ]
    configs = mode_configs(section)
    _assert_runs_find_the_files(configs, work / "results" / "comparison" / "t", inputs)
    merged = merged_mode_configs(section)["committee"]
    assert merged["materials"]["copper"]["variables"]["potential_file"] == "Cu.eam.alloy"
    # with the path as written, the mode's own run cannot find the file (what the reviewer saw)
    with pytest.raises(ValueError, match="'materials.copper.variables.potential_file'"):
        validate_config(merged, search_dirs=[work / "results" / "comparison" / "t" / "committee", REPO])
    merged["materials"]["copper"]["variables"]["potential_file"] = str(inputs / "Cu.eam.alloy")
    merged["materials"]["copper"]["structure"] = str(REPO / "config/lammps/fcc_eam/structure.lmp")
    merged["materials"]["copper"]["forcefield"] = str(REPO / "config/lammps/fcc_eam/forcefield.lmp")
    assert configs["committee"] == merged  # only the paths differ


def test_study_run_configs_carry_the_paths_absolute(base_beside_potential):
    inputs, work = base_beside_potential
    configs, points = study_configs(
        validate_study(_study(str(inputs / "base.yaml")), search_dirs=[work, REPO])["study"]
    )
    assert list(points) == ["baseline", "committee_size_8"]
    _assert_runs_find_the_files(configs, work / "results" / "study" / "t", inputs)


# 3. the base file: empty, a list, bad YAML


SYNTAX_ERROR = "run:\n  steps: [5\n  seed: 1\n"
BAD_BASES = [
    ("", " is not a YAML mapping (it is empty)"),
    ("- run\n- steps\n", " is not a YAML mapping (it is a list)"),
    ("just text\n", " is not a YAML mapping (it is a string)"),
    (SYNTAX_ERROR, ": YAML syntax error at line 3, column 7: expected ',' or ']', but got ':'"),
]


@pytest.mark.parametrize(("text", "problem"), BAD_BASES)
def test_bad_base_file_is_one_line_naming_the_key_and_the_file(tmp_path, text, problem):
    base = tmp_path / "base.yaml"
    base.write_text(text)
    with pytest.raises(ComparisonError) as error:
        validate_comparison(_comparison("base.yaml"), search_dirs=[tmp_path, REPO])
    assert _one_line(error).startswith(f"comparison error: 'comparison.base': '{base}'{problem}")
    with pytest.raises(StudyError) as error:
        validate_study(_study("base.yaml"), search_dirs=[tmp_path, REPO])
    assert _one_line(error).startswith(f"study error: 'study.base': '{base}'{problem}")


def test_yaml_syntax_error_names_line_column_and_the_opening_line(tmp_path):
    """The message config/config.yaml's check gives too (workflow/rules/config_file.smk)."""
    path = tmp_path / "c.yaml"
    path.write_text(SYNTAX_ERROR)
    with pytest.raises(YAMLFileError) as error:
        load_mapping(path)
    assert str(error.value) == (
        f"'{path}': YAML syntax error at line 3, column 7: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence from line 2)"
    )


def test_compare_workflow_refuses_a_bad_base_before_any_job(tmp_path):
    (tmp_path / "base.yaml").write_text("- run\n")
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(_comparison("base.yaml")))
    cmd = [str(SNAKEMAKE), "-s", str(REPO / "workflow" / "compare.smk"), "--configfile", "cfg.yaml", "-n"]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0
    assert "comparison error: 'comparison.base':" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "results").exists()


# 4. study.accelerated replaces its default: studied committee lists need the committee on


def test_studied_committee_lists_with_the_committee_off_are_refused_naming_accelerated():
    """The reviewer's st_acc: accelerated {clustering} alone turned the committee off in every point."""
    config = _study("config/config.yaml", accelerated={"clustering": {"enabled": True}})
    with pytest.raises(StudyError) as error:
        validate_study(config, search_dirs=[REPO])
    assert _one_line(error).startswith(
        "study error: 'study.accelerated': 'committee.size' is studied but committee.enabled is false"
    )


@pytest.mark.parametrize(
    ("accelerated", "parameters", "base_committee"),
    [
        ({"clustering": {"enabled": True}, "committee": {"enabled": True}}, {"committee": {"size": [4, 8]}}, False),
        ({"clustering": {"enabled": True}}, {"committee": {"size": [4, 8]}}, True),  # the base has it on
        ({"clustering": {"enabled": True}}, {"run": {"seed": [1, 2]}}, False),  # nothing of the committee studied
    ],
)
def test_study_accelerated_accepted_when_the_studied_sections_are_on(tmp_path, accelerated, parameters, base_committee):
    cfg = load_default_config()
    cfg["committee"]["enabled"] = base_committee
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(cfg))
    config = _study("base.yaml", accelerated=accelerated, parameters=parameters)
    configs, points = study_configs(validate_study(config, search_dirs=[tmp_path, REPO])["study"])
    for point in points:
        assert configs[point]["clustering"]["enabled"] is True
        assert configs[point]["committee"]["enabled"] is (base_committee or "committee" in accelerated)


# 5. names that become folders, wildcards and shell words: a trailing newline is not a name


def test_a_comparison_or_study_name_with_a_trailing_newline_is_refused_naming_the_key():
    """Python's $ (jsonschema's engine) matches before a final newline: the patterns end in $(?!\\n)."""
    base, here = "config/config.yaml", [REPO]
    with pytest.raises(ComparisonError) as error:
        validate_comparison({"comparison": {"name": "t\n", "base": base, "modes": {"a": {}}}}, here)
    assert _one_line(error).startswith("comparison error: 'comparison.name': ")
    with pytest.raises(ComparisonError) as error:
        validate_comparison({"comparison": {"name": "t", "base": base, "modes": {"a\n": {}}}}, here)
    assert str(error.value).startswith("comparison error: 'comparison.modes.a\n': invalid name")
    with pytest.raises(StudyError) as error:
        validate_study({"study": {"name": "t\n", "base": base, "parameters": {"committee": {"size": [4, 8]}}}}, here)
    assert _one_line(error).startswith("study error: 'study.name': ")
