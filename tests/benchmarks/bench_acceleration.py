"""MD work saved by clustering and by the committee, and what it costs in accuracy.

Runs the workflow brute force and accelerated on two specimens (the default bar, and a bar
with a cylindrical hole meshed with gmsh: non-uniform strain) and reports, per setting, the MD
updates against brute force and the largest relative difference of the reaction-force curve
(summary.nc) against the brute-force run. For the committee it also checks the trusted
predictions: the qps answered by the committee are re-run with MD from the same states
(--check-committee), and the error is compared with the accuracy asked for.

A cheaper MD setting than the default (small boxes, short sampling) keeps the campaign to
minutes; pass --full for the default material settings.

    .venv/bin/python tests/benchmarks/bench_acceleration.py [--steps 6] [--only clustering|committee]
"""

from __future__ import annotations

import argparse
import copy
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def base_config(steps: int, full: bool) -> dict:
    cfg = yaml.safe_load(open(REPO / "config/config.yaml"))
    cfg["run"]["steps"] = steps
    cfg["md"]["replicas"] = 1
    if not full:
        cfg["materials"]["copper"]["variables"]["cells"] = 3
        cfg["materials"]["copper"].update(equilibration_steps=600, sampling_steps=150, stiffness_sampling_steps=300)
    return cfg


def holed_mesh(path: Path) -> None:
    """A 1 x 1 x 2 mm bar with a 0.5 mm hole through it along y (strain concentration)."""
    import gmsh

    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    box = gmsh.model.occ.addBox(0, 0, 0, 1e-3, 1e-3, 2e-3)
    hole = gmsh.model.occ.addCylinder(0.5e-3, -0.1e-3, 1e-3, 0, 1.2e-3, 0, 0.25e-3)
    gmsh.model.occ.cut([(3, box)], [(3, hole)])
    gmsh.model.occ.synchronize()
    gmsh.model.addPhysicalGroup(3, [v[1] for v in gmsh.model.getEntities(3)], 1)
    gmsh.option.setNumber("Mesh.CharacteristicLengthMin", 0.5e-3)
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", 0.8e-3)
    gmsh.model.mesh.generate(3)
    gmsh.write(str(path))
    gmsh.finalize()


def run(workdir: Path, cfg: dict, materials: Path | None) -> float:
    workdir.mkdir(parents=True, exist_ok=True)
    if materials is not None:
        shutil.copytree(materials, workdir / "results" / "materials", dirs_exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    start = time.perf_counter()
    proc = subprocess.run(
        [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", "2"],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        sys.exit(f"run in {workdir} failed:\n{proc.stderr[-4000:]}")
    return time.perf_counter() - start


def summary(workdir: Path) -> xr.Dataset:
    with xr.open_dataset(workdir / "results/summary.nc") as ds:
        return ds.load()


def compare(name: str, workdir: Path, brute: Path, seconds: float) -> None:
    a, b = summary(workdir), summary(brute)
    ra, rb = a["reaction_force"].sel(xyz="z").values, b["reaction_force"].sel(xyz="z").values
    rel = np.max(np.abs(ra - rb)) / np.max(np.abs(rb))
    saved = b["md_updates"].sum().item() / max(a["md_updates"].sum().item(), 1)
    print(f"{name:40s} md_updates {int(a['md_updates'].sum()):6d} (brute {int(b['md_updates'].sum()):6d}) "
          f"saved x{saved:5.2f} | max |dR|/max|R| {rel:6.2%} | {seconds:6.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--only", choices=["clustering", "committee"], default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--specimens", default="bar,hole")
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="scema_accel_"))
    root.mkdir(parents=True, exist_ok=True)
    holed_mesh(root / "hole.msh")
    specimens = {
        "bar": {},
        "hole": {"mesh": {"type": "gmsh", "file": str(root / "hole.msh")}},
    }
    materials = None
    for specimen in args.specimens.split(","):
        cfg = base_config(args.steps, args.full)
        cfg["specimen"].update(copy.deepcopy(specimens[specimen]))
        brute = root / f"{specimen}_brute"
        seconds = run(brute, cfg, materials)
        materials = materials or brute / "results" / "materials"
        compare(f"{specimen}: brute force", brute, brute, seconds)
        if args.only in (None, "clustering"):
            for metric, alpha in (("l1", 1e-3), ("l1", 3e-3), ("l1", 1e-2), ("l2", 1e-3)):
                c = copy.deepcopy(cfg)
                c["clustering"] = {"enabled": True, "alpha": alpha, "n_points": 10, "metric": metric}
                w = root / f"{specimen}_cluster_{metric}_{alpha:g}"
                compare(f"{specimen}: clustering {metric} alpha={alpha:g}", w, brute, run(w, c, materials))
        if args.only in (None, "committee"):
            for size in (2, 4, 8):
                c = copy.deepcopy(cfg)
                c["committee"] = {**cfg["committee"], "enabled": True, "size": size, "train_frequency": 100}
                w = root / f"{specimen}_committee_{size}"
                compare(f"{specimen}: committee size {size}", w, brute, run(w, c, materials))
                report_trusted(w, brute, c)


def report_trusted(workdir: Path, brute: Path, cfg: dict) -> None:
    """Where the committee was trusted: its stress against the brute-force MD stress of that qp.

    The two runs share the strain path up to the first trusted step, so the first step with
    committee answers compares like with like; later steps drift apart (both are reported).
    """
    for t in range(1, cfg["run"]["steps"] + 1):
        with xr.open_dataset(workdir / f"results/step_{t:04d}/stress.nc") as s, \
                xr.open_dataset(brute / f"results/step_{t:04d}/stress.nc") as b:
            trusted = s["source"].values == 2
            if not trusted.any():
                continue
            err = np.abs(s["stress"].values[trusted] - b["stress"].values[trusted]).max(axis=1) / 1e6
            print(f"    step {t}: {int(trusted.sum())} qps answered by the committee; |committee - brute MD| "
                  f"max-component error: median {np.median(err):.0f} MPa, 90th pct {np.percentile(err, 90):.0f} MPa, "
                  f"asked accuracy {cfg['committee']['stress_accuracy_mpa']:.0f} MPa", flush=True)


if __name__ == "__main__":
    main()
