"""The reference stress of a material replica as the mean of zero-strain updates from its rest
states (``reference_estimator: rest_updates``): its standard error against the number of updates,
and its CPU cost against the window estimator's, side by side in one process (issue 9, item 5).

``run`` takes a workflow run's material (its rest states and reference cell) and runs
``--updates`` zero-strain updates exactly as material_replica does with ``rest_updates``
(``scema.md.rest_updates.zero_strain_updates``: update i from rest state i mod rest_states, seed
(run seed, "reference update", replica, i), so the first n are the workflow's own for
reference_updates = n), timing their CPU; then ``--window-steps`` steps of the window estimator
from the replica's state (NVT, block means) in the same process, for CPU per MD step.

    run:     python tests/benchmarks/rest_update_reference.py run --config config/examples/cuzr_glass_bar.yaml \
                 --material-dir RUN/results/materials/cuzr_glass --replica 0 --updates 512 --out /tmp/ru_r0.npz
    analyse: python tests/benchmarks/rest_update_reference.py analyse /tmp/ru_r*.npz

``analyse`` prints per count n (multiples of rest_states) the largest component's standard error
std / sqrt(n) (what material.nc stores), the stratified error (within-state scatter over
sqrt(n): the error about the mean over THESE rest states, which qps start from), the error from
the spread of the rest states' means (the states as a sample of the material: larger when each
state keeps its own stress through an update), and the mean minus the window's reference in
units of their combined error; then the updates needed for the goal and their CPU against the
window steps the blocking rule needs for it. It also reads a workflow's material.nc made with
``reference_estimator: rest_updates`` (every replica; no CPU figures there).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

from scema import seeds  # noqa: E402
from scema.config import validate_config  # noqa: E402
from scema.md.engine import Engine  # noqa: E402
from scema.md.material import MaterialSpec  # noqa: E402
from scema.md.reference import block_steps  # noqa: E402
from scema.md.rest_updates import mean_and_standard_error, zero_strain_updates  # noqa: E402
from scema.voigt import COMPONENTS  # noqa: E402

MPA = 1e6


def run(args: argparse.Namespace) -> None:
    config = validate_config(yaml.safe_load(args.config.read_text()), search_dirs=[REPO])
    material = xr.open_dataset(args.material_dir / "material.nc")
    name = material.attrs["material"]
    root = args.material_dir.resolve().parents[2]  # paths in material.nc are relative to the run directory
    rest = [root / str(p) for p in material["rest_state_file"].values[args.replica]]
    spec = MaterialSpec.from_config(name, config["materials"][name]).replace(
        reference_estimator="rest_updates", reference_updates=args.updates, rest_states=len(rest)
    )
    cell = material["reference_cell"].values[args.replica]
    run_seed = int(config["run"]["seed"])
    with Engine() as eng, tempfile.TemporaryDirectory(prefix="scema-ru-") as tmp:
        cpu = time.process_time()
        stress = zero_strain_updates(eng, spec, rest, run_seed, args.replica, cell, Path(tmp))
        update_cpu = time.process_time() - cpu
        eng.load(spec, root / str(material["state_file"].values[args.replica]))
        eng.nvt(spec, seed=seeds.lammps_seed(run_seed, "window cost", args.replica))
        cpu = time.process_time()
        eng.stress_blocks(args.window_steps, block_steps(spec.sampling_steps))
        window_cpu = time.process_time() - cpu
    update_steps = spec.reference_updates * (spec.deform_steps(0.0) + spec.sampling_steps)
    np.savez(
        args.out,
        stress=stress,
        rest_states=len(rest),
        update_cpu=update_cpu,
        update_steps=update_steps,
        window_cpu=window_cpu,
        window_steps=args.window_steps,
        window_reference=material["reference_stress"].values[args.replica],
        window_standard_error=material["reference_stress_standard_error"].values[args.replica],
        window_measured_steps=int(material["reference_measured_steps"].values[args.replica]),
        replica=args.replica,
    )
    print(
        f"{name} replica {args.replica}: {args.updates} updates ({update_steps} steps) {update_cpu:.0f} CPU s; "
        f"window {args.window_steps} steps {window_cpu:.1f} CPU s"
    )


def measurements(path: str) -> list[dict]:
    """One dict per replica: from an npz of ``run``, or from a material.nc (rest_updates)."""
    if not path.endswith(".nc"):
        return [dict(np.load(path))]
    ds = xr.open_dataset(path)
    return [
        {
            "stress": ds["reference_update_stress"].values[r],
            "rest_states": int(ds["reference_update_rest_state"].values.max()) + 1,
            "window_reference": ds["window_reference_stress"].values[r],
            "window_standard_error": ds["window_reference_standard_error"].values[r],
            "window_measured_steps": int(ds["reference_measured_steps"].values[r]),
            "replica": r,
        }
        for r in range(ds.sizes["replica"])
    ]


def analyse(args: argparse.Namespace) -> None:
    goal = args.goal * MPA
    for path, d in ((p, d) for p in args.paths for d in measurements(p)):
        stress, states = d["stress"], int(d["rest_states"])
        timed = "update_cpu" in d
        per_update = float(d["update_cpu"]) / len(stress) if timed else float("nan")
        print(f"\n{path}: replica {int(d['replica'])}, {len(stress)} updates from {states} rest states")
        if timed:
            per_step_update = float(d["update_cpu"]) / float(d["update_steps"])
            per_step_window = float(d["window_cpu"]) / float(d["window_steps"])
            print(
                f"CPU per update {per_update:.3f} s ({per_step_update * 1e3:.3f} ms/step; "
                f"window {per_step_window * 1e3:.3f} ms/step)"
            )
        print(
            f"window reference (the run's material.nc, {int(d['window_measured_steps'])} steps): "
            + " ".join(f"{c} {v / MPA:+.1f}" for c, v in zip(COMPONENTS, d["window_reference"]))
            + " +- "
            + " ".join(f"{v / MPA:.1f}" for v in d["window_standard_error"])
            + " MPa"
        )
        print("     n    CPU s  SE per component (MPa)                       max  stratified  states  max|z| vs window")
        for n in range(states, len(stress) + 1, states):
            mean, se = mean_and_standard_error(stress[:n])
            by_state = stress[:n].reshape(n // states, states, 6)  # update i from state i mod states
            groups = by_state.mean(axis=0)
            states_se = groups.std(axis=0, ddof=1).max() / np.sqrt(states) / MPA if states > 1 else float("nan")
            within = np.sqrt(((by_state - groups) ** 2).sum(axis=(0, 1)) / max(n - states, 1)) / np.sqrt(n)
            stratified = within.max() / MPA if n > states else float("nan")
            z = (mean - d["window_reference"]) / np.hypot(se, d["window_standard_error"])
            print(
                f"{n:6d} {n * per_update:8.1f}  "
                + " ".join(f"{v / MPA:5.1f}" for v in se)
                + f"  {se.max() / MPA:5.1f}  {stratified:10.1f}  {states_se:6.1f}  {np.abs(z).max():5.2f}"
            )
        mean, se = mean_and_standard_error(stress)
        print(
            "mean of all: "
            + " ".join(f"{c} {v / MPA:+.1f}" for c, v in zip(COMPONENTS, mean))
            + " MPa; per-update std "
            + " ".join(f"{v / MPA:.1f}" for v in stress.std(axis=0, ddof=1))
            + " MPa"
        )
        need = int(np.ceil(len(stress) * (se.max() / goal) ** 2 / states) * states)
        print(f"updates for {args.goal:g} MPa (std / sqrt(n)) on every component: {need}", end="")
        if timed:
            print(
                f" ({need * per_update:.0f} CPU s, {need * float(d['update_steps']) / len(stress):.0f} steps); "
                f"the window's {args.window_need} steps cost {args.window_need * per_step_window:.0f} CPU s",
                end="",
            )
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--config", type=Path, default=REPO / "config/examples/cuzr_glass_bar.yaml")
    r.add_argument("--material-dir", type=Path, required=True, help="results/materials/NAME of a run")
    r.add_argument("--replica", type=int, default=0)
    r.add_argument("--updates", type=int, default=512)
    r.add_argument("--window-steps", type=int, default=5000)
    r.add_argument("--out", type=Path, required=True)
    a = sub.add_parser("analyse")
    a.add_argument("paths", nargs="+")
    a.add_argument("--goal", type=float, default=5.0, help="MPa")
    a.add_argument("--window-need", type=int, default=720_000, help="window steps for the goal (measured: 720k)")
    args = parser.parse_args()
    run(args) if args.command == "run" else analyse(args)


if __name__ == "__main__":
    main()
