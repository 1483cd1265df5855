"""Plot and tabulate the FE load-unload curve of a finished Cu-Zr glass example run.

    .venv/bin/python docs/results/cuzr_load_unload.py RUN_DIR CONFIG OUT_STEM "title"

Reads RUN_DIR/results/step_*/reaction.nc (applied displacement, reaction force of each finished
step at the config's reaction_face, the numbers summary.nc gathers) and the bar length from CONFIG; writes OUT_STEM.csv
and OUT_STEM.png (step 0 = unloaded start).
"""

import sys
from pathlib import Path

import matplotlib
import numpy as np
import xarray as xr
import yaml

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

run, config, stem, title = sys.argv[1:5]
length = yaml.safe_load(open(config))["specimen"]["mesh"]["size"][2]
steps = sorted(Path(run).glob("results/step_*/reaction.nc"))  # every finished step, also mid-run
face = yaml.safe_load(open(config))["specimen"]["reaction_face"]
rows = [xr.open_dataset(f) for f in steps]
rows = [r.sel(boundary=face) if "boundary" in r.dims else r for r in rows]  # newer runs: one row per face
u = np.concatenate([[0.0], [r.applied_displacement.values[2] for r in rows]])
force = np.concatenate([[0.0], [r.reaction_force.values[2] for r in rows]])
step = np.arange(len(u))
strain = 100 * u / length
peak = int(np.argmax(u))
rows = np.column_stack([step, u, strain, force])
np.savetxt(
    f"{stem}.csv",
    rows,
    delimiter=",",
    fmt=["%d", "%.6e", "%.4f", "%.3f"],
    header="step,applied_displacement_z_m,applied_strain_zz_percent,reaction_force_z_N",
    comments="",
)
fig, ax = plt.subplots(figsize=(4.6, 3.4))
ax.plot(strain[: peak + 1], force[: peak + 1], "o-", color="k", ms=3.5, label=f"load to {strain[peak]:.0f} %")
ax.plot(strain[peak:], force[peak:], "s-", color="tab:red", ms=3.5, label="unload")
ax.axhline(0, color="0.7", lw=0.8)
ax.set_xlabel("applied strain zz (%)")
ax.set_ylabel("reaction force z (N)")
ax.set_title(title, fontsize=7.5)
ax.legend(fontsize=7.5)
fig.tight_layout()
fig.savefig(f"{stem}.png", dpi=100)
print(np.round(rows[:, [0, 2, 3]], 2))
