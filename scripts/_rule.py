"""Shared by the rule scripts: logging to the rule's log file, material inputs, MPI launch."""

import logging
import sys
from pathlib import Path

# the package lives in workflow/; make it importable in conda envs where it is not installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))


def to_log(snakemake) -> None:
    handle = open(snakemake.log[0], "w", buffering=1)
    sys.stderr = handle
    logging.basicConfig(stream=handle, level=logging.INFO, force=True)


def material_files(snakemake) -> dict:
    """Material name -> initialised material file, in the rule's declared order."""
    return dict(zip(snakemake.params.materials, snakemake.input.materials))


def run_stage(snakemake, target: str, **kwargs) -> None:
    """Run ``target`` (module:function) on the job's MPI tasks (resources ``tasks``, ``mpi``)."""
    from scema.parallel import DEFAULT_LAUNCHER
    from scema.parallel import run_stage as launch

    resources = snakemake.resources
    tasks = int(resources.get("tasks", 1) or 1)
    launch(target, kwargs, tasks=tasks, launcher=resources.get("mpi", DEFAULT_LAUNCHER), log=sys.stderr)
