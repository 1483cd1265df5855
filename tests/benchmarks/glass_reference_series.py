"""The reference-stress series of one material replica, long, kept, and what the window rule makes of it.

material_init keeps only the reference, its blocking error and its drift; the block means
themselves live in a temporary file. To tell thermal noise from slow relaxation, and to say how
many steps the rule needs, this runs one replica exactly as rule material_replica does (same
seeds, same calls: the first windows reproduce the workflow's numbers bitwise) but measures
``--windows`` reference windows whatever their error, saving the series (Pa, one row per
block) after each window, with the LAMMPS steps, wall and CPU seconds of every stage.
``--from-state`` starts from a workflow run's replica state (written before its reference window,
timestep 3750 in its header when no jump was cut) and skips the preparation: same series.

    run:     python tests/benchmarks/glass_reference_series.py run --config config/examples/cuzr_glass_bar.yaml \
                 --replica 0 --windows 13 --out /tmp/glassref_series_r0.npz \
                 [--from-state RUN/results/materials/cuzr_glass/replica_0.data]
    analyse: python tests/benchmarks/glass_reference_series.py analyse /tmp/glassref_series_r*.npz

``analyse`` prints per window count k the blocking standard error of every component of the part
after the last cut jump, the window count at which the workflow's rule stops (first k with every
component <= the goal), the blocking curve at full length (the error against block length: a
plateau is thermal noise, a curve still rising is relaxation slower than the window), and the
half drift.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

from scema import seeds  # noqa: E402
from scema.config import validate_config  # noqa: E402
from scema.md import preparation  # noqa: E402
from scema.md.engine import Engine  # noqa: E402
from scema.md.material import MaterialSpec  # noqa: E402
from scema.md.reference import block_steps, blocking_standard_error, half_drift, stationary_start  # noqa: E402
from scema.voigt import COMPONENTS  # noqa: E402

MPA = 1e6


class TimedEngine(Engine):
    """Engine whose every ``run`` is recorded as (steps, wall s, CPU s): LAMMPS runs in this process."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.runs: list[tuple[int, float, float]] = []

    def run(self, steps: int) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        super().run(steps)
        self.runs.append((int(steps), time.perf_counter() - wall, time.process_time() - cpu))


def material_spec(config_path: Path, name: str, overrides: dict) -> tuple[MaterialSpec, int]:
    """The validated material of an example config (``preparation`` keys overridable) and its run seed."""
    config = yaml.safe_load(config_path.read_text())
    config["materials"][name].setdefault("preparation", {}).update(overrides)
    config = validate_config(config, search_dirs=[REPO])
    return MaterialSpec.from_config(name, config["materials"][name]), int(config["run"]["seed"])


def run(args: argparse.Namespace) -> None:
    overrides = {
        k: v
        for k, v in (("anneal_temperature", args.anneal_temperature), ("anneal_steps", args.anneal_steps))
        if v is not None
    }
    spec, seed = material_spec(args.config, args.material, overrides)
    block = block_steps(spec.sampling_steps)
    window = max(block, spec.reference_sampling_steps // block * block)
    out = Path(args.out)
    eng = TimedEngine(log=Path(args.lammps_log) if args.lammps_log else None)
    start = time.perf_counter()

    def save(series: np.ndarray) -> None:
        np.savez(
            out.with_suffix(".tmp.npz"),
            series=series,
            block_steps=block,
            window_steps=window,
            goal=spec.reference_standard_error,
            runs=np.array(eng.runs),
            replica=args.replica,
            seed=seed,
            overrides=repr(overrides),
            wall=time.perf_counter() - start,
        )
        out.with_suffix(".tmp.npz").replace(out)

    def long_window(engine: Engine, spec: MaterialSpec) -> preparation.ReferenceWindow:
        series = np.empty((0, 6))
        for _ in range(args.windows):
            series = np.concatenate([series, engine.stress_blocks(window, block)])
            save(series)
            print(f"{len(series) * block} reference steps, {time.perf_counter() - start:.0f} s", flush=True)
        cut, jumps = stationary_start(series, spec.reference_standard_error)
        return preparation.ReferenceWindow(series=series, start=cut, jumps=jumps)

    preparation.reference_series = long_window  # equilibrate_replica looks it up at call time
    try:
        if args.from_state:  # a workflow's replica_{r}.data (written before the window): as equilibrate_replica goes on
            eng.load(spec, Path(args.from_state))
            eng.nvt(spec, seed=seeds.lammps_seed(seed, "reference", args.replica))
            long_window(eng, spec)
        else:
            preparation.equilibrate_replica(spec, seed, args.replica, Path(args.state), engine=eng)
    finally:
        eng.close()


def zero_strain(args: argparse.Namespace) -> None:
    """``--runs`` zero-strain updates of one replica from its state file, as an update runs
    (load, Langevin NVT with its own seed, ramp of min_deform_steps to the same cell, sample
    sampling_steps): the stress each returns before the reference is subtracted. Their mean is
    what an update at zero strain sees; independent seeds from one start, so its error is the
    plain std / sqrt(runs)."""
    spec, seed = material_spec(args.config, args.material, {})
    eng = TimedEngine(log=Path(args.lammps_log) if args.lammps_log else None)
    stresses, start = [], time.perf_counter()
    try:
        for m in range(args.runs):
            eng.load(spec, Path(args.from_state))
            eng.nvt(spec, seed=seeds.lammps_seed(seed, "zero-strain check", args.replica, m))
            cell = eng.box_matrix()
            stresses.append(eng.deform_and_sample(spec, cell, cell, spec.sampling_steps, spec.sampling_stride)[0])
            if (m + 1) % 20 == 0:
                np.savez(args.out, stress=np.array(stresses), runs=np.array(eng.runs), replica=args.replica)
                print(f"{m + 1} zero-strain updates, {time.perf_counter() - start:.0f} s", flush=True)
    finally:
        eng.close()
    np.savez(args.out, stress=np.array(stresses), runs=np.array(eng.runs), replica=args.replica)


def blocking_curve(series: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(blocks, naive SE per column) at each pairing level down to 16 blocks."""
    x, levels = np.asarray(series), []
    while len(x) >= 16:
        levels.append((len(x), x.std(axis=0, ddof=1) / np.sqrt(len(x))))
        x = 0.5 * (x[: len(x) // 2 * 2 : 2] + x[1 : len(x) // 2 * 2 : 2])
    return levels


def fmt(values: np.ndarray) -> str:
    return " ".join(f"{v:6.1f}" for v in values)


def analyse(paths: list[str]) -> None:
    print("components:", " ".join(f"{c:>6}" for c in COMPONENTS))
    for path in paths:
        d = np.load(path)
        series, block, window, goal = d["series"], int(d["block_steps"]), int(d["window_steps"]), float(d["goal"])
        per_window = window // block
        runs = d["runs"]
        print(
            f"\n== {path}: replica {int(d['replica'])}, overrides {d['overrides']}, {len(series) * block} reference steps"
        )
        print(f"LAMMPS runs (steps, wall s, CPU s): {[tuple(round(float(v), 1) for v in r) for r in runs]}")
        stops = None
        for k in range(1, len(series) // per_window + 1):
            part = series[: k * per_window]
            cut, jumps = stationary_start(part, goal)
            tail = part[cut:]
            se = blocking_standard_error(tail)
            met = len(tail) >= per_window and se.max() <= goal
            stops = stops or (k if met else None)
            print(
                f"k={k:2d} {k * window:7d} steps, cut {cut * block:6d} ({len(jumps)} jumps): SE {fmt(se / MPA)} MPa, "
                f"max {se.max() / MPA:5.1f}{'  <= goal' if met else ''}"
            )
        print(f"the rule stops at k = {stops} (goal {goal / MPA:.1f} MPa)")
        cut, _ = stationary_start(series, goal)
        tail = series[cut:]
        print("blocking curve of the stationary part (block steps: naive SE MPa per component):")
        for level, (n, se) in enumerate(blocking_curve(tail)):
            print(f"  {block * 2**level:7d}: {fmt(se / MPA)}  ({n} blocks)")
        drift, error = half_drift(tail)
        print(f"half drift {fmt(drift / MPA)} +/- {fmt(error / MPA)} MPa")
        thirds = np.array_split(tail, 3)
        print("thirds' means MPa:", " | ".join(fmt(t.mean(axis=0) / MPA) for t in thirds))
        windows = tail[: len(tail) // 30 * 30].reshape(-1, 30, 6).mean(axis=1)
        print(
            f"300-step window std {fmt(windows.std(axis=0, ddof=1) / MPA)} MPa: white-noise SE at this length "
            f"{fmt(windows.std(axis=0, ddof=1) / np.sqrt(len(windows)) / MPA)}"
        )


def replica_parser(sub, name: str) -> argparse.ArgumentParser:
    """A sub-command that works on one replica of a material of a config."""
    parser = sub.add_parser(name)
    parser.add_argument("--config", type=Path, default=REPO / "config/examples/cuzr_glass_bar.yaml")
    parser.add_argument("--material", default="cuzr_glass")
    parser.add_argument("--replica", type=int, default=0)
    return parser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = replica_parser(sub, "run")
    r.add_argument("--windows", type=int, default=13)
    r.add_argument("--anneal-temperature", type=float)
    r.add_argument("--anneal-steps", type=int)
    r.add_argument("--state", default=None)
    r.add_argument("--from-state", help="skip the preparation: the replica's state file of an earlier run")
    r.add_argument("--lammps-log", default=None)
    r.add_argument("--out", required=True)
    z = replica_parser(sub, "zero")
    z.add_argument("--runs", type=int, default=200)
    z.add_argument("--from-state", required=True)
    z.add_argument("--lammps-log", default=None)
    z.add_argument("--out", required=True)
    a = sub.add_parser("analyse")
    a.add_argument("paths", nargs="+")
    args = parser.parse_args()
    if args.command == "run":
        args.state = args.state or str(Path(args.out).with_suffix(".data"))
        run(args)
    elif args.command == "zero":
        zero_strain(args)
    else:
        analyse(args.paths)


if __name__ == "__main__":
    main()
