"""The README's Python examples run as written, in a finished run directory of the default length."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from conftest import REPO, load_default_config, run_workflow, small_config

FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

# After the README's blocks: what the last figure shows, for the test to compare with the file.
REPORT_FIGURE = """
import json as _json
import matplotlib.pyplot as _plt
_lines = [line for ax in _plt.gcf().axes for line in ax.get_lines()]
print("FIGURE " + _json.dumps([[float(v) for v in line.get_xdata()] + [float(v) for v in line.get_ydata()]
                               for line in _lines]))
"""


def readme_python_blocks() -> list[str]:
    return FENCE.findall((REPO / "README.md").read_text())


@pytest.fixture(scope="module")
def default_length_run(tmp_path_factory, brute_force_run) -> Path:
    """The small brute-force run carried on to the default number of steps (the README's paths)."""
    workdir = tmp_path_factory.mktemp("readme_run")
    shutil.copytree(brute_force_run, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".snakemake"))
    cfg = small_config()
    cfg["run"]["steps"] = load_default_config()["run"]["steps"]
    run_workflow(workdir, cfg)
    return workdir


@pytest.mark.workflow
def test_readme_python_blocks_run_in_a_finished_run(default_length_run):
    blocks = readme_python_blocks()
    assert blocks, "README.md has no ```python block"
    program = "\n".join(blocks) + REPORT_FIGURE
    env = {**os.environ, "MPLBACKEND": "Agg"}  # headless: plots render to memory
    proc = subprocess.run(
        [sys.executable, "-c", program], cwd=default_length_run, capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, f"README example failed in {default_length_run}:\n{proc.stderr[-3000:]}"
    # the README plots the z reaction against the step: the figure holds exactly that curve
    figure = json.loads(proc.stdout.split("FIGURE ", 1)[1])
    with xr.open_dataset(default_length_run / "results/summary.nc") as summary:
        z = summary["reaction_force"].sel(xyz="z")
        expected = [float(v) for v in z["step"].values] + [float(v) for v in z.values]
    assert expected in figure, (figure, expected)
