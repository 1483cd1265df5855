"""Reference-window diagnostics for the Cu-Zr glass: drift (ageing) vs noise. One replica of
config/examples/cuzr_glass_bar.yaml (run.seed 2026, replica 0: the same glass as material_init's),
optionally annealed, then the NVT stress series of the reference window in 10-step blocks
(VARIANT.npz). cuzr_reference_window.png/.csv: `A 0 0 96000` (no anneal), 518 CPU s.

    .venv/bin/python docs/results/cuzr_reference_window_run.py VARIANT ANNEAL_T ANNEAL_STEPS SERIES_STEPS [CELLS]
"""

import sys
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "workflow"))
# ruff: noqa: E402
from scema import seeds
from scema.md.engine import Engine
from scema.md.material import MaterialSpec
from scema.md.preparation import blocking_standard_error

ROOT = Path(__file__).resolve().parents[2]


def ramp(eng: Engine, spec: MaterialSpec, t_start: float, t_stop: float, steps: int) -> None:
    """NPT at zero pressure with the material's coupling (tri: the recipe before the tilts were held)."""
    eng.npt(spec, 0.0, t_start, t_stop)
    eng.run(steps)


variant, t_anneal, n_anneal, n_series = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cells = int(sys.argv[5]) if len(sys.argv) > 5 else 5
entry = yaml.safe_load(open(ROOT / "config/examples/cuzr_glass_bar.yaml"))["materials"]["cuzr_glass"]
entry["variables"]["cells"] = cells
spec = MaterialSpec.from_entry("cuzr_glass", entry, base_dir=ROOT)
master, replica = 2026, 0
t0 = time.process_time()
with Engine(log=Path(f"{variant}.lammps.log")) as eng:
    eng.build(spec, {"structure_seed": seeds.lammps_seed(master, "structure", replica)})
    melt = spec.preparation["melt_temperature"]
    eng.create_velocities(melt, seeds.lammps_seed(master, "velocity", replica))
    ramp(eng, spec, melt, melt, spec.preparation["melt_steps"])
    if n_anneal > 0:
        ramp(eng, spec, melt, t_anneal, spec.ramp_steps(melt, t_anneal))
        ramp(eng, spec, t_anneal, t_anneal, n_anneal)
        ramp(eng, spec, t_anneal, spec.temperature, spec.ramp_steps(t_anneal, spec.temperature))
    else:
        ramp(eng, spec, melt, spec.temperature, spec.quench_steps)
    t_prep = time.process_time() - t0
    ramp(eng, spec, spec.temperature, spec.temperature, 2500)  # as equilibrate_replica: NPT,
    eng.set_box(eng.average_box(2500))  # box set to its average, NVT hold, then the window
    eng.nvt(spec, seed=seeds.lammps_seed(master, "equilibration", replica))
    eng.run(1250)
    eng.nvt(spec, seed=seeds.lammps_seed(master, "reference", replica))
    series = eng.stress_blocks(n_series, 10)
    rho = eng.mass_kg() / eng.volume_m3()
t_all = time.process_time() - t0
np.savez(f"{variant}.npz", series=series, t_prep=t_prep, t_all=t_all, density=rho)
print(variant, "cpu prep", round(t_prep), "all", round(t_all), "density", rho)
print("mean MPa", np.round(series.mean(0) / 1e6, 1))
print("SE MPa", np.round(blocking_standard_error(series) / 1e6, 1))
