"""Shared by the rule scripts: send Python's stderr and logging to the rule's log file."""

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
