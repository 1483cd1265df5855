"""Tabulate a finished two-material run: which material each qp is, that every MD update ran with
its qp's material, the mean stress per material at each step, and wall/CPU time per stage.

    .venv/bin/python docs/results/cuzr_layer_report.py RUN_DIR OUT_STEM

Reads RUN_DIR/results/step_*/{strain,stress,md_schedule}.nc and RUN_DIR/benchmarks/*/*.tsv;
writes OUT_STEM_materials.csv (step, material, qps, mean strain zz, mean stress zz) and
OUT_STEM_benchmarks.csv (stage, jobs, wall s, CPU s); prints both and the qp -> material map.
"""

import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import xarray as xr

run, stem = Path(sys.argv[1]), sys.argv[2]
steps = sorted(p.parent for p in run.glob("results/step_*/stress.nc") if p.parent.name != "step_0000")
first = xr.open_dataset(steps[0] / "strain.nc")
names = first.material.attrs["flag_meanings"].split()
material = first.material.values
z = first.qp_coordinates.values[:, 2]
for m, name in enumerate(names):
    sel = material == m
    print(f"{name} (id {m}): {sel.sum()} qps, z {z[sel].min() * 1e3:.3f}-{z[sel].max() * 1e3:.3f} mm")
print("material id per qp:", "".join(str(v) for v in material))

rows = []
for step in steps:
    strain, stress = xr.open_dataset(step / "strain.nc"), xr.open_dataset(step / "stress.nc")
    assert np.array_equal(strain.material.values, material), f"{step.name}: qp materials changed"
    schedule = xr.open_dataset(step / "md_schedule.nc")
    ran = schedule.material.values
    expected = material[schedule.qp_id.values]
    assert np.array_equal(ran, expected), f"{step.name}: an MD update ran with another qp's material"
    for m, name in enumerate(names):
        sel = material == m
        eps, sig = strain.strain.values[sel, 2].mean(), stress.stress.values[sel, 2].mean()
        rows.append([int(step.name.split("_")[1]), name, int(sel.sum()), f"{eps:.5f}", f"{sig / 1e6:.1f}"])
with open(f"{stem}_materials.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["step", "material", "qps", "mean_strain_zz", "mean_stress_zz_MPa"])
    writer.writerows(rows)
for row in rows:
    print(*row)

stages = defaultdict(lambda: [0, 0.0, 0.0])
for tsv in sorted(run.glob("benchmarks/*/*.tsv")):
    with open(tsv) as f:
        record = next(csv.DictReader(f, delimiter="\t"))
    stage = tsv.parent.name if tsv.parent.name != "material_init" else f"material_init {tsv.stem}"
    stages[stage][0] += 1
    stages[stage][1] += float(record["s"])
    stages[stage][2] += float(record["cpu_time"])
with open(f"{stem}_benchmarks.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["stage", "jobs", "wall_s", "cpu_s"])
    for stage, (jobs, wall, cpu) in sorted(stages.items()):
        writer.writerow([stage, jobs, f"{wall:.1f}", f"{cpu:.1f}"])
        print(f"{stage}: {jobs} jobs, wall {wall:.0f} s, CPU {cpu:.0f} s")
total = np.sum([v[1:] for v in stages.values()], axis=0)
print(f"all stages: wall {total[0]:.0f} s (summed over jobs), CPU {total[1]:.0f} s")
