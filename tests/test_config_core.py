"""What the config is, before any job: a --configfile replaces the default config (never merged
with it), numbers compare as floats (an int where the run had a float reruns nothing), names that
become folders and wildcards are checked, and the SLURM profile's placeholders are refused."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import DEFAULT_CONFIG, REPO, SNAKEMAKE, load_default_config, small_config, snakemake_cmd, write_config

SENTINEL = "results/step_0001/stress.nc"


def dry_run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """`snakemake -n` in ``workdir`` as a user types it there (no --configfile unless given)."""
    cmd = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", "1", "-n"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True)


def refusal(proc: subprocess.CompletedProcess, workdir: Path, prefix: str = "config error") -> str:
    """The one error line of a run refused at parse time: no job planned, nothing written."""
    assert proc.returncode != 0, proc.stdout[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert "Job stats" not in proc.stdout + proc.stderr
    assert not (workdir / "logs").exists() and not (workdir / "results" / "materials").exists()
    return lines[0]


@pytest.fixture
def repo_like(tmp_path) -> Path:
    """A run directory with its own config/config.yaml, as the repository root has (Snakefile's
    `configfile:`), whose copper names a potential file that does not exist: if it were read, the
    run would stop on it. A finished result is there too, which no refusal may touch."""
    run = tmp_path / "run"
    default = load_default_config()
    default["materials"]["copper"]["variables"]["potential_file"] = str(tmp_path / "missing" / "Cu.eam.alloy")
    write_config(run / "config", default)
    (run / SENTINEL).parent.mkdir(parents=True)
    (run / SENTINEL).write_bytes(b"computed earlier")
    return run


# --- 1. --configfile replaces config/config.yaml ---------------------------------------------


@pytest.mark.workflow
def test_a_configfile_is_the_whole_config_never_merged_with_the_default(repo_like):
    """A glass-only file (the example's, no copper) plans the glass and nothing of the default's
    copper, whose broken potential it never reads; without --configfile the default is the config."""
    glass = yaml.safe_load((REPO / "config/examples/cuzr_glass_bar.yaml").read_text())
    assert "copper" not in glass["materials"]
    user = write_config(repo_like / "mine", glass)
    proc = dry_run(repo_like, "--configfile", str(user))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "results/materials/cuzr_glass/material.nc" in proc.stdout
    assert "copper" not in proc.stdout + proc.stderr
    assert "extended by additional config" not in proc.stderr

    line = refusal(dry_run(repo_like), repo_like)
    assert line.startswith("config error: 'materials.copper.variables.potential_file'"), line
    assert (repo_like / SENTINEL).read_bytes() == b"computed earlier"


@pytest.mark.workflow
def test_a_configfile_missing_a_required_key_names_it_instead_of_taking_the_defaults(repo_like):
    """specimen.mesh.file without type: the default's `type: box` used to fill it in, so the box
    ran instead of the user's mesh, silently."""
    cfg = load_default_config()
    del cfg["specimen"]["mesh"]["type"]
    cfg["specimen"]["mesh"]["file"] = "my_specimen.msh"
    user = write_config(repo_like / "mine", cfg)
    line = refusal(dry_run(repo_like, "--configfile", str(user)), repo_like)
    assert line == "config error: 'specimen.mesh.type' is required", line
    assert (repo_like / SENTINEL).read_bytes() == b"computed earlier"


# --- 2. numbers are floats --------------------------------------------------------------------


def _integers_where_numbers_go(cfg: dict) -> dict:
    """``cfg`` with integers written at number keys (every kind of place the schema types one:
    a key, a materials.<m> map entry, list items with nulls, nested lists, a oneOf selector),
    plus integers at union keys that must stay integers."""
    cfg = copy.deepcopy(cfg)
    copper = cfg["materials"]["copper"]
    copper["temperature"] = 300
    copper["strain_rate"] = 10_000_000_000
    copper["variables"]["cells"] = 5  # LAMMPS variable: string | number | integer, stays an int
    spec = cfg["specimen"]
    spec["mesh"]["size"] = [1, 1, 2]
    spec["regions"] = [{"material": "copper", "box": [[0, 0, 0], [1, 1, 1]]}]
    spec["boundaries"] = {"pin": {"box": [[0, 0, 0], [1, 1, 0]]}}  # a oneOf selector; the zmin face's facets
    spec["boundary_conditions"][1]["increment"] = [None, None, 1]
    spec["boundary_conditions"][1]["factors"] = [1, 2, 3, 4, -2]
    cfg["fe"]["petsc_options"] = {"direct": {"mat_mumps_icntl_14": 50}}  # PETSc option: stays an int
    cfg["committee"]["stress_accuracy_mpa"] = 30
    return cfg


def test_integers_at_number_keys_become_floats_and_union_keys_keep_them():
    from scema.config import validate_config

    cfg = validate_config(_integers_where_numbers_go(load_default_config()), search_dirs=[REPO])
    copper, spec = cfg["materials"]["copper"], cfg["specimen"]
    floats = [
        copper["temperature"],
        copper["strain_rate"],
        *spec["mesh"]["size"],
        *(x for corner in spec["regions"][0]["box"] for x in corner),
        *(x for corner in spec["boundaries"]["pin"]["box"] for x in corner),
        spec["boundary_conditions"][1]["increment"][2],
        *spec["boundary_conditions"][1]["factors"],
        cfg["committee"]["stress_accuracy_mpa"],
    ]
    assert [type(x) for x in floats] == [float] * len(floats), floats
    assert spec["boundary_conditions"][1]["increment"][:2] == [None, None]
    assert spec["boundary_conditions"][1]["factors"] == [1.0, 2.0, 3.0, 4.0, -2.0]
    assert type(copper["variables"]["cells"]) is int
    assert type(cfg["fe"]["petsc_options"]["direct"]["mat_mumps_icntl_14"]) is int
    assert type(cfg["md"]["replicas"]) is int and type(cfg["run"]["steps"]) is int  # integer keys


def test_a_material_written_with_integers_has_the_params_of_the_default():
    """Snakemake compares params by repr: 300 and 300.0 must give the same material params."""
    from scema.config import validate_config

    default = load_default_config()
    assert default["materials"]["copper"]["temperature"] == 300.0
    written = copy.deepcopy(default)
    written["materials"]["copper"].update(temperature=300, strain_rate=10**10)
    assert repr(written["materials"]) != repr(default["materials"])
    ours, theirs = (validate_config(c, search_dirs=[REPO])["materials"] for c in (written, default))
    assert repr(ours) == repr(theirs)


@pytest.mark.workflow
def test_an_integer_where_the_finished_run_had_a_float_reruns_nothing(tmp_path, copper_cache):
    """The finished material (copper_cache's run, Snakemake's records kept): `temperature: 300`
    where it ran with 300.0 plans nothing (it reran material_replica and material_init, params)."""
    from test_rerun import planned_jobs

    run = tmp_path / "run"
    shutil.copytree(copper_cache.parent.parent, run, symlinks=True)
    target = "results/materials/copper/material.nc"
    cfg = small_config()
    assert type(cfg["materials"]["copper"]["temperature"]) is float
    assert planned_jobs(run, cfg, target) == {}
    cfg["materials"]["copper"]["temperature"] = 300
    assert planned_jobs(run, cfg, target) == {}
    cfg["materials"]["copper"]["temperature"] = 301  # a real change still reruns the material
    assert set(planned_jobs(run, cfg, target)) == {("material_replica", None), ("material_init", None)}


@pytest.mark.workflow
def test_integers_across_the_config_rerun_nothing_of_a_finished_accelerated_run(tmp_path, accelerated_run):
    """The finished 2-step run with clustering and committee (Snakemake's records kept): integers
    written where it ran with floats plan nothing, in the material's, MD's or committee's params."""
    from conftest import accelerated_config
    from test_rerun import planned_jobs

    run = tmp_path / "run"
    shutil.copytree(accelerated_run, run, symlinks=True)
    cfg = accelerated_config()
    assert type(cfg["committee"]["stress_accuracy_mpa"]) is float and cfg["committee"]["stress_accuracy_mpa"] == 0
    assert planned_jobs(run, cfg) == {}
    cfg["committee"]["stress_accuracy_mpa"] = 0  # read by committee_query and committee_update
    cfg["materials"]["copper"]["temperature"] = 300  # by the material jobs and md_batch
    assert planned_jobs(run, cfg) == {}


# --- 3. names that become folders and wildcards -----------------------------------------------


def test_the_material_name_pattern_is_the_rules_material_wildcard():
    from scema.config import load_schema

    common = (REPO / "workflow/rules/common.smk").read_text()
    wildcard = re.search(r'^\s+material=r"([^"]+)"', common, re.M).group(1)
    # $(?!\n): Python's $ (jsonschema's regex engine) also matches before a trailing newline
    assert load_schema()["properties"]["materials"]["propertyNames"]["pattern"] == f"^{wildcard}$(?!\\n)"


@pytest.mark.parametrize("name", ["cu-bulk", "cu bulk", "cu.bulk", "cu\n"])
def test_a_material_name_the_wildcard_cannot_match_is_refused_naming_it(name):
    from scema.config import ConfigError, validate_config

    cfg = load_default_config()
    cfg["materials"] = {name: cfg["materials"]["copper"]}
    cfg["specimen"]["material"] = name
    with pytest.raises(ConfigError) as error:
        validate_config(cfg, search_dirs=[REPO])
    assert str(error.value).startswith(f"config error: 'materials.{name}': invalid name: letters, digits and _ only")


@pytest.mark.workflow
def test_a_material_name_with_a_dash_stops_the_run_before_any_job(tmp_path):
    """It used to reach Snakemake as a MissingInputException of fe_step (no rule matched)."""
    cfg = load_default_config()
    cfg["materials"] = {"cu-bulk": cfg["materials"]["copper"]}
    cfg["specimen"]["material"] = "cu-bulk"
    run = tmp_path / "run"
    proc = dry_run(run, "--configfile", str(write_config(run, cfg)))
    assert refusal(proc, run).startswith("config error: 'materials.cu-bulk': invalid name")


@pytest.mark.parametrize("mode", ["committee size 8", "a/b", "x.y"])
def test_a_comparison_mode_name_that_is_no_folder_name_is_refused_naming_it(tmp_path, mode):
    from scema.comparison_config import ComparisonError, validate_comparison

    cfg = {"comparison": {"name": "sp", "base": str(DEFAULT_CONFIG), "modes": {mode: {"committee": {"enabled": True}}}}}
    with pytest.raises(ComparisonError) as error:
        validate_comparison(cfg, search_dirs=[tmp_path, REPO])
    assert str(error.value).startswith(f"comparison error: 'comparison.modes.{mode}': invalid name: letters"), error
    cfg["comparison"]["modes"] = {"committee_size-8": {"committee": {"enabled": True}}}
    assert "committee_size-8" in validate_comparison(cfg, search_dirs=[tmp_path, REPO])["comparison"]["modes"]


# --- 4. the SLURM profile's placeholders --------------------------------------------------------


@pytest.mark.workflow
def test_the_shipped_slurm_profile_with_its_placeholders_is_refused_naming_the_keys(tmp_path):
    """`--profile profiles/slurm` as shipped: one line naming both keys and `make slurm-profile`;
    the same profile filled in (what `make slurm-profile` writes) passes the check."""
    run = tmp_path / "run"
    config = write_config(run, small_config())
    shipped = REPO / "profiles" / "slurm"
    proc = subprocess.run(snakemake_cmd(run, config, "-n", "--profile", str(shipped)), capture_output=True, text=True)
    line = refusal(proc, run, prefix="profile error")
    assert line.startswith(
        "profile error: 'default-resources.slurm_partition' is still CHANGE_ME_partition, "
        "'default-resources.slurm_account' is still CHANGE_ME_account"
    ), line
    assert "`make slurm-profile`" in line

    filled = tmp_path / "filled"
    filled.mkdir()
    text = (shipped / "config.yaml").read_text()
    (filled / "config.yaml").write_text(text.replace("CHANGE_ME_partition", "p").replace("CHANGE_ME_account", "a"))
    proc = subprocess.run(snakemake_cmd(run, config, "-n", "--profile", str(filled)), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "profile error" not in proc.stderr
    # a rule's own resource left at a placeholder is named as its set-resources key
    args = ["-n", "--profile", str(filled), "--set-resources", "md_batch:slurm_partition=CHANGE_ME_partition"]
    proc = subprocess.run(snakemake_cmd(run, config, *args), capture_output=True, text=True)
    line = refusal(proc, run, prefix="profile error")
    assert line.startswith("profile error: 'set-resources.md_batch.slurm_partition' is still CHANGE_ME_partition")
