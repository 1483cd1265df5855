"""Parameter study: the table against values built into synthetic finished runs, every plot, the
points of each design and the config errors (one line naming the key)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from scema.io.datasets import committee_record_dataset
from scema.io.netcdf import write_dataset
from scema.study import study_table, write_study
from scema.study_config import StudyError, study_configs, study_values, validate_study
from scema.study_plots import QUANTITIES, parameter_slice, study_plots
from test_comparison import STEPS, _run

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
BASELINE = {
    "run.seed": 12345,
    "committee.size": 4,
    "committee.stress_accuracy_mpa": 30.0,
    "committee.train_frequency": 1,
}


def _records(run: Path, samples, accepted, queried, trusted) -> None:
    """The committee.nc of every step (one material), as the committee stages write it."""
    for k, step in enumerate(STEPS):
        counts = {
            "queried": np.array([queried[k]]),
            "trusted": np.array([trusted[k]]),
            "audited": np.array([0]),
        }
        ds = committee_record_dataset(
            step, ["copper"], [k], [""], [samples[k]], [samples[k]], [accepted[k]], [0], counts
        )
        write_dataset(ds, run / "results" / f"step_{step:04d}" / "committee.nc", "committee record")


@pytest.fixture
def study(tmp_path):
    """Brute force twice (band: 4 N of a 400 N peak), a baseline and two points."""
    brute = 100.0 * STEPS
    runs = {
        "brute_force": _run(tmp_path, "bf", brute, [16] * 4),
        "brute_force_seed2": _run(tmp_path, "bf2", brute + np.array([0, 4.0, -2.0, 0]), [16] * 4),
        "baseline": _run(tmp_path, "p0", brute + np.array([0, 0, 8.0, 0]), [16, 8, 4, 4], cluster_qps=(1,)),
        "committee_size_8": _run(tmp_path, "p1", brute + np.array([0, 2.0, 0, 0]), [16, 4, 2, 2]),
        "committee_stress_accuracy_mpa_0": _run(tmp_path, "p2", brute, [16] * 4),
    }
    _records(runs["baseline"], [16, 24, 28, 40], [0, 1, 1, 1], [0, 8, 12, 12], [0, 4, 8, 12])
    _records(runs["committee_size_8"], [16, 18, 20, 20], [0, 0, 1, 1], [0, 16, 16, 16], [0, 8, 8, 8])
    _records(runs["committee_stress_accuracy_mpa_0"], [16, 32, 48, 64], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0])
    points = {
        "baseline": BASELINE,
        "committee_size_8": {**BASELINE, "committee.size": 8},
        "committee_stress_accuracy_mpa_0": {**BASELINE, "committee.stress_accuracy_mpa": 0.0},
    }
    return runs, points


def test_study_table_reports_savings_accuracy_and_data_used_per_point(study, tmp_path):
    runs, points = study
    ds = study_table(runs, points)
    assert [p.decode() for p in ds["point"].values] == list(points)
    assert ds.attrs["brute_force_md_updates"] == 64
    np.testing.assert_allclose(ds["md_updates"].values, [32, 24, 64])
    np.testing.assert_allclose(ds["speedup"].values, [2.0, 64 / 24, 1.0])
    np.testing.assert_allclose(ds["md_updates_saved"].values, [0.5, 0.625, 0.0])
    # band: largest |R_seed2 - R_brute| = 4 N; the points differ by 8, 2 and 0 N
    np.testing.assert_allclose(ds["reaction_max_difference_over_band"].values, [2.0, 0.5, 0.0])
    np.testing.assert_allclose(ds["reaction_max_difference"].values, [8 / 400, 2 / 400, 0.0])
    np.testing.assert_allclose(ds["training_samples"].values, [40, 20, 64])
    np.testing.assert_allclose(ds["committee_accepted_share"].values, [0.75, 0.5, 0.0])
    np.testing.assert_allclose(ds["committee_trusted_share"].values[:2], [24 / 32, 24 / 48])
    assert np.isnan(ds["committee_trusted_share"].values[2])  # never queried
    np.testing.assert_allclose(ds["not_md_fraction"].values, [1 / 8, 0, 0])
    np.testing.assert_allclose(ds["committee_size"].values, [4, 8, 4])
    np.testing.assert_allclose(ds["committee_stress_accuracy_mpa"].values, [30, 30, 0])
    assert ds["committee_stress_accuracy_mpa"].attrs["units"] == "MPa"

    write_study(ds, tmp_path / "study.nc", tmp_path / "study.csv")
    with open(tmp_path / "study.csv") as fh:
        rows = {r["point"]: r for r in csv.DictReader(fh)}
    assert list(rows) == list(points)
    assert float(rows["committee_size_8"]["committee_size"]) == 8
    assert float(rows["committee_size_8"]["md_updates_saved"]) == pytest.approx(0.625)
    assert float(rows["baseline"]["training_samples"]) == 40
    with xr.open_dataset(tmp_path / "study.nc") as back:
        assert back["training_samples"].attrs["long_name"].startswith("committee training-set size")

    outputs = {q: tmp_path / f"{q}.png" for q in QUANTITIES}
    study_plots(tmp_path / "study.nc", outputs)
    for path in outputs.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5000  # four panels drawn, not an empty canvas
    values, idx = parameter_slice(ds, "committee.size")
    assert values.tolist() == [4, 8] and idx.tolist() == [0, 1]
    values, idx = parameter_slice(ds, "committee.stress_accuracy_mpa")
    assert values.tolist() == [0, 30] and idx.tolist() == [2, 0]


def _section(design="one_at_a_time", **lists) -> dict:
    parameters = {"run": {"seed": [12345]}, "committee": {"size": [4], "stress_accuracy_mpa": [30.0]}}
    parameters["committee"].update(lists)
    return {
        "study": {
            "name": "t",
            "base": "config/config.yaml",
            "design": design,
            "overrides": {"run": {"steps": 2}},
            "parameters": parameters,
        }
    }


def test_points_one_at_a_time_and_grid_and_shared_brute_force():
    config = validate_study(_section(size=[4, 2, 8], train_frequency=[100, 50]), search_dirs=[REPO])
    section = config["study"]
    with open(REPO / "config" / "config.yaml") as fh:  # the base config's value, not the list's
        assert section["base_values"]["committee.train_frequency"] == yaml.safe_load(fh)["committee"]["train_frequency"]
    configs, points = study_configs(section)
    assert list(points) == ["baseline", "committee_size_2", "committee_size_8", "committee_train_frequency_50"]
    assert list(configs)[:2] == ["brute_force", "brute_force_seed2"]
    assert configs["brute_force"]["committee"]["enabled"] is False
    assert configs["brute_force_seed2"]["run"] == {**configs["brute_force"]["run"], "seed": 12346}
    assert configs["committee_size_8"]["committee"]["size"] == 8
    assert configs["committee_size_8"]["committee"]["enabled"] is True
    assert configs["committee_size_8"]["committee"]["train_frequency"] == 100
    assert all(c["run"]["steps"] == 2 for c in configs.values())  # overrides reach every run
    grid = validate_study(_section("grid", size=[4, 2, 8], train_frequency=[100, 50]), search_dirs=[REPO])["study"]
    assert len(study_values(grid)) == 3 * 2


@pytest.mark.parametrize(
    ("lists", "message"),
    [
        ({"size": [4, "eight"]}, "study error: 'study.parameters.committee.size.1': 'eight' is not of type 'integer'"),
        ({"size": [4, 1]}, "study error: 'study.parameters.committee.size.1': 1 is less than the minimum of 2"),
        ({"size": 4}, "study error: 'study.parameters.committee.size': 4 is not of type 'array'"),
        ({"width": [64]}, "study error: unknown key 'study.parameters.committee.width'"),
        ({"size": [4, 100]}, "study error: run 'committee_size_100': config error: 'committee.size': 100 is greater"),
    ],
)
def test_bad_list_is_one_line_naming_the_key(lists, message):
    with pytest.raises(StudyError) as info:
        validate_study(_section(**lists), search_dirs=[REPO])
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_workflow_refuses_bad_study_before_any_job(tmp_path):
    config = _section(size=[4, "eight"])
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    cmd = [str(SNAKEMAKE), "-s", str(REPO / "workflow" / "study.smk"), "--configfile", str(path), "-n"]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0
    assert "study error: 'study.parameters.committee.size.1'" in result.stderr
    assert not (tmp_path / "results").exists()


def test_examples_overrides_reach_every_run():
    """compare_ct.yaml shrinks every run, brute force included; study_bar.yaml makes 2 + 8 runs."""
    from scema.comparison_config import mode_configs, validate_comparison

    with open(REPO / "config" / "examples" / "compare_ct.yaml") as fh:
        comparison = validate_comparison(yaml.safe_load(fh), search_dirs=[REPO])["comparison"]
    modes = mode_configs(comparison)
    clustering = {"clustering", "clustering_beta1_5", "clustering_beta2"}
    assert set(modes) == {"brute_force", "brute_force_seed2", "committee", "clustering_committee"} | clustering
    assert [modes[m]["clustering"].get("noise_allowance") for m in sorted(clustering)] == [None, 1.5, 2]
    assert {(c["run"]["steps"], c["md"]["replicas"]) for c in modes.values()} == {(6, 1)}
    assert modes["brute_force_seed2"]["run"]["seed"] == modes["brute_force"]["run"]["seed"] + 1
    with open(REPO / "config" / "examples" / "study_bar.yaml") as fh:
        configs, points = study_configs(validate_study(yaml.safe_load(fh), search_dirs=[REPO])["study"])
    assert len(configs) == 2 + len(points) == 2 + 8


@pytest.mark.parametrize("specimen", ["ct", "dogbone", "drop_weight"])
def test_each_specimen_has_a_comparison_of_brute_force_clustering_committee_and_both(specimen):
    """One command per specimen: its compare_*.yaml names the specimen's own example config, and
    every mode's run config passes the run schema (validate_comparison checks each)."""
    from scema.comparison_config import mode_configs, validate_comparison

    example = {"ct": "compact_tension", "dogbone": "dogbone", "drop_weight": "drop_weight"}[specimen]
    with open(REPO / "config" / "examples" / f"compare_{specimen}.yaml") as fh:
        comparison = validate_comparison(yaml.safe_load(fh), search_dirs=[REPO])["comparison"]
    assert comparison["name"] == specimen
    assert comparison["base"] == f"config/examples/{example}.yaml"
    modes = mode_configs(comparison)
    on = {m: (c["clustering"].get("enabled", False), c["committee"].get("enabled", False)) for m, c in modes.items()}
    assert on["brute_force"] == on["brute_force_seed2"] == (False, False)
    assert {on["clustering"], on["committee"], on["clustering_committee"]} == {
        (True, False),
        (False, True),
        (True, True),
    }


@pytest.mark.workflow
def test_study_workflow_tables_plots_and_report_from_finished_runs(study, tmp_path):
    """study.smk over finished runs (configs older than summaries: nothing reruns) writes the
    table and the three plots, and ``--report`` finds their captions."""
    runs, points = study
    work = tmp_path / "work"
    config = _section(size=[4, 8], stress_accuracy_mpa=[30.0, 0.0], train_frequency=[100])
    config["study"]["name"] = "t"
    root = work / "results" / "study" / "t"
    for run, source in runs.items():
        (root / run).parent.mkdir(parents=True, exist_ok=True)
        source.rename(root / run)
        (root / run / "config.yaml").write_text("{}\n")
        (root / run / "results" / "summary.nc").touch()  # newer than its config: finished
    path = work / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    cmd = [str(SNAKEMAKE), "-s", str(REPO / "workflow" / "study.smk"), "--configfile", str(path), "--cores", "1"]
    subprocess.run(cmd, cwd=work, check=True, capture_output=True)
    with open(root / "study.csv") as fh:
        rows = {r["point"]: r for r in csv.DictReader(fh)}
    assert list(rows) == list(points)
    assert float(rows["baseline"]["reaction_max_difference_over_band"]) == pytest.approx(2.0)
    for quantity in QUANTITIES:
        assert (root / f"{quantity}.png").read_bytes()[:4] == b"\x89PNG"
    subprocess.run([*cmd, "--report", "report.html"], cwd=work, check=True, capture_output=True)
    assert "Accuracy of parameter study" in (work / "report.html").read_text()
