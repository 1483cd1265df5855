"""Shared helpers: run the real workflow (Snakemake + dolfinx + LAMMPS) in temporary directories."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
DEFAULT_CONFIG = REPO / "config" / "config.yaml"


COPPER_POTENTIAL = Path("/usr/share/lammps/potentials/Cu_mishin1.eam.alloy")


def copper_entry(cells: int, **settings) -> dict:
    """A bare ``materials.copper`` entry (Mishin EAM, fcc, 300 K) with the run settings a test needs."""
    return {
        "units": "metal",
        "structure": "config/lammps/fcc_eam/structure.lmp",
        "forcefield": "config/lammps/fcc_eam/forcefield.lmp",
        "variables": {
            "element": "Cu",
            "mass": 63.546,
            "lattice_constant": 3.615,
            "cells": cells,
            "pair_style": "eam/alloy",
            "potential_file": str(COPPER_POTENTIAL),
        },
        "temperature": 300.0,
        "timestep": 2e-15,
        "strain_rate": 1e10,
        **settings,
    }


def load_default_config() -> dict:
    with open(DEFAULT_CONFIG) as fh:
        return yaml.safe_load(fh)


def small_config(**overrides) -> dict:
    """A quick variant of the default config: small boxes, short sampling, few qps."""
    cfg = load_default_config()
    cfg["run"]["steps"] = 2
    cfg["specimen"]["mesh"]["divisions"] = [1, 1, 2]
    cfg["md"]["replicas"] = 2
    copper = cfg["materials"]["copper"]
    copper["variables"]["cells"] = 3
    copper.update(
        equilibration_steps=500,
        barostat_damping_steps=100,
        reference_sampling_steps=2000,
        sampling_steps=100,
        stiffness_sampling_steps=200,
    )
    for key, value in overrides.items():
        section, name = key.split("__")
        cfg[section][name] = value
    return cfg


def write_config(workdir: Path, cfg: dict) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    with open(path, "w") as fh:
        yaml.safe_dump(cfg, fh, sort_keys=False)
    return path


def snakemake_cmd(workdir: Path, config_path: Path, *args: str) -> list[str]:
    return [
        str(SNAKEMAKE),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config_path),
        "--cores",
        "2",
        *args,
    ]


def run_workflow(workdir: Path, cfg: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run Snakemake on ``cfg`` in ``workdir`` and return the finished process."""
    config_path = write_config(workdir, cfg)
    proc = subprocess.run(snakemake_cmd(workdir, config_path, *args), capture_output=True, text=True)
    if check and proc.returncode != 0:
        logs = (
            "\n".join(p.read_text()[-3000:] for p in (workdir / "logs").rglob("*.log"))
            if (workdir / "logs").exists()
            else ""
        )
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-5000:]}\n{logs}")
    return proc


def kill_run_when(workdir: Path, cfg: dict, condition, poll: float = 0.05, timeout: float = 600) -> Path:
    """Start Snakemake on ``cfg`` in its own process group and SIGKILL the whole group (like a
    crash) as soon as ``condition()`` holds; fails if the run ended first. Returns the config path."""
    config_path = write_config(workdir, cfg)
    proc = subprocess.Popen(
        snakemake_cmd(workdir, config_path),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + timeout
    while not condition() and proc.poll() is None and time.time() < deadline:
        time.sleep(poll)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return config_path


def resume_run(workdir: Path, cfg: dict, config_path: Path) -> None:
    """What a user does after a crash: ``--unlock``, then the same command again."""
    subprocess.run(snakemake_cmd(workdir, config_path, "--unlock"), check=True, capture_output=True)
    run_workflow(workdir, cfg)


@pytest.fixture(scope="session")
def copper_cache(tmp_path_factory) -> Path:
    """Initialise the small test copper once per session; tests copy it into their run dirs."""
    workdir = tmp_path_factory.mktemp("copper_cache")
    run_workflow(workdir, small_config(), "results/materials/copper/material.nc")
    return workdir / "results" / "materials"


@pytest.fixture(scope="session")
def brute_force_run(tmp_path_factory, copper_cache) -> Path:
    """The small config run once without acceleration: the reference for exactness checks."""
    workdir = tmp_path_factory.mktemp("brute_force")
    seed_materials(workdir, copper_cache)
    run_workflow(workdir, small_config())
    return workdir


def seed_materials(workdir: Path, cache: Path) -> None:
    """Give a run directory the already-initialised materials (same definition, same files)."""
    shutil.copytree(cache, workdir / "results" / "materials", dirs_exist_ok=True)


def accelerated_config() -> dict:
    """The small config with both accelerations on: clustering, and a committee that trains after
    step 1 (9 samples >= train_frequency 4) and again after step 2, so every stage runs.
    Accuracy 0 MPa: the committee never answers, so the stresses are MD's whatever it learns.
    No version 0 and no 0 K law (both on by default): the rerun and fault tests count the jobs of
    a committee whose first version is trained in committee_update of step 1."""
    cfg = small_config()
    cfg["clustering"] = {"enabled": True}
    cfg["committee"] = {
        "enabled": True,
        "size": 2,
        "max_epochs": 15,
        "patience": 5,
        "width": 16,
        "train_frequency": 4,
        "stress_accuracy_mpa": 0.0,
        "prior_version": False,
        "zero_kelvin_law": False,
    }
    return cfg


@pytest.fixture(scope="session")
def accelerated_run(tmp_path_factory, copper_cache) -> Path:
    """accelerated_config run once, uninterrupted: the reference of the rerun and fault tests."""
    workdir = tmp_path_factory.mktemp("accelerated")
    seed_materials(workdir, copper_cache)
    run_workflow(workdir, accelerated_config())
    return workdir
