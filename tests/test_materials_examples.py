"""The material examples stay runnable and keep their load path: each validates against today's
schema (the polyethylene bar once failed on committee keys the schema had dropped), names
existing templates, and pulls the bar past yield and back to zero displacement; so does the shrunk
glass bar the committee benchmark starts from (bench_acceleration.py --base-config)."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from scema.config import validate_config

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = {
    # file: strain the bar reaches before unloading (the issue asks ~8 % glass, ~10 % polymer)
    "config/examples/cuzr_glass_bar.yaml": 0.08,
    "config/examples/cuzr_glass_copper_layer.yaml": 0.08,
    "config/examples/polyethylene_bar.yaml": 0.10,
    "docs/results/cuzr_glass_committee_run_config.yaml": 0.08,
}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_validates_and_unloads_after_its_peak_strain(name) -> None:
    cfg = validate_config(yaml.safe_load((REPO / name).read_text()), search_dirs=[REPO])
    for entry in cfg["materials"].values():
        assert Path(entry["structure"]).is_file() and Path(entry["forcefield"]).is_file()
    (pulled,) = [bc for bc in cfg["specimen"]["boundary_conditions"] if bc["type"] == "displacement"]
    factors = np.array(pulled["factors"], dtype=float)
    assert len(factors) == cfg["run"]["steps"]
    length = cfg["specimen"]["mesh"]["size"][2]
    u = np.cumsum(factors) * pulled["increment"][2]  # applied displacement after each step
    assert u.max() / length == pytest.approx(EXAMPLES[name])
    assert u[-1] == pytest.approx(0.0, abs=1e-12)  # back to zero: residual force = history
