"""What more rest states buy against a glass's long-time mean stress at rest (issue 9).

The rest-update reference is the mean over the rest states qps start from; its standard error
(std / sqrt(n)) is about THOSE states. Each state keeps its own configurational stress through
an update (the 32 states of the glass example differ by 26-72 MPa per component), so against
the glass's long-time mean the error is set by how many independent configurations the states
sample, i.e. by how far apart they are along the trajectory, not by the update count.

``window`` prepares one replica exactly as rule material_replica does (same seeds: the example's
glass) and runs ``--windows`` reference windows of reference_sampling_steps, writing a state
every ``--every`` steps into ``--states`` (kept) and saving the block series after each window.
``updates`` then runs ``--per-state`` zero-strain updates (``run_update``, the reference cell,
own seeds (run seed, "rest-state spacing", replica, state, j)) from every kept state, saving as it
goes (a rerun resumes). ``analyse`` prints the within/between-state split (one-way ANOVA), the
correlation of the states' conditional means against their distance in MD steps, and the
predicted error of a reference from n states spaced d steps apart against the long-time mean
with its cost in MD steps.

    window:  python tests/benchmarks/rest_state_spacing.py window --windows 4 --every 1250 \
                 --states /tmp/noise9/states_r0 --out /tmp/noise9/window_r0.npz
    updates: python tests/benchmarks/rest_state_spacing.py updates --states /tmp/noise9/states_r0 \
                 --window /tmp/noise9/window_r0.npz --per-state 2 --out /tmp/noise9/updates_r0.npz
    analyse: python tests/benchmarks/rest_state_spacing.py analyse /tmp/noise9/window_r0.npz /tmp/noise9/updates_r0.npz
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))

from glass_reference_series import TimedEngine, material_spec, replica_parser  # noqa: E402

from scema import seeds  # noqa: E402
from scema.md import preparation  # noqa: E402
from scema.md.reference import block_steps, blocking_standard_error, stationary_start  # noqa: E402
from scema.md.update import Update, run_update  # noqa: E402
from scema.voigt import COMPONENTS  # noqa: E402

MPA = 1e6
SEED_PURPOSE = "rest-state spacing"


def window(args: argparse.Namespace) -> None:
    spec, seed = material_spec(args.config, args.material, {})
    spec = spec.replace(reference_estimator="window")  # the updates are run by ``updates``
    block = block_steps(spec.sampling_steps)
    length = max(block, spec.reference_sampling_steps // block * block)
    states, out = Path(args.states), Path(args.out)
    states.mkdir(parents=True, exist_ok=True)
    eng, start = TimedEngine(), time.perf_counter()

    def save(series: np.ndarray, cell: np.ndarray) -> None:
        tmp = out.with_suffix(".tmp.npz")
        np.savez(tmp, series=series, block_steps=block, every=args.every, cell=cell, seed=seed, replica=args.replica)
        tmp.replace(out)

    def long_window(engine, spec, snapshot_dir=None, converge=True) -> preparation.ReferenceWindow:
        series = np.empty((0, 6))
        for w in range(args.windows):
            pattern = states / f"w{w:02d}_*.data"
            series = np.concatenate([series, engine.stress_blocks(length, block, snapshots=(args.every, str(pattern)))])
            save(series, engine.box_matrix())
            print(f"{len(series) * block} reference steps, {time.perf_counter() - start:.0f} s", flush=True)
        cut, jumps = stationary_start(series, spec.reference_standard_error)
        return preparation.ReferenceWindow(series=series, start=cut, jumps=jumps)

    preparation.reference_series = long_window  # equilibrate_replica looks it up at call time
    try:
        preparation.equilibrate_replica(spec, seed, args.replica, states / "replica.data", engine=eng)
    finally:
        eng.close()


def state_files(states: Path, per_window: int, windows: int, every: int) -> list[Path]:
    """The kept states in trajectory order (window w, step k * every within it)."""
    return [states / f"w{w:02d}_{k * every}.data" for w in range(windows) for k in range(1, per_window + 1)]


def updates(args: argparse.Namespace) -> None:
    spec, seed = material_spec(args.config, args.material, {})
    w = np.load(args.window)
    every, block = int(w["every"]), int(w["block_steps"])
    length = max(block, spec.reference_sampling_steps // block * block)
    windows = len(w["series"]) * block // length
    files = state_files(Path(args.states), length // every, windows, every)
    out = Path(args.out)
    stress = np.full((len(files), args.per_state, 6), np.nan)
    if out.is_file():  # resume
        done = np.load(out)["stress"]
        stress[:, : done.shape[1]] = done[:, : args.per_state]
    eng, start = TimedEngine(), time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="noise9-") as tmp:
            for j in range(args.per_state):  # one update from every state first: useful if stopped
                for k, path in enumerate(files):
                    if not np.isnan(stress[k, j, 0]):
                        continue
                    update = Update(
                        material=spec.name,
                        qp=k,
                        replica=args.replica,
                        state_in=path,
                        target_strain=np.zeros(6),
                        reference_cell=w["cell"],
                        reference_stress=np.zeros(6),
                        state_out=Path(tmp) / "out.data",
                        seed=seeds.lammps_seed(seed, SEED_PURPOSE, args.replica, k, j),
                    )
                    stress[k, j] = run_update(eng, spec, update)
                    if (k + 1) % 16 == 0 or k + 1 == len(files):
                        np.savez(out.with_suffix(".tmp.npz"), stress=stress, every=every, runs=np.array(eng.runs))
                        out.with_suffix(".tmp.npz").replace(out)
                        print(f"pass {j}: {k + 1} states, {time.perf_counter() - start:.0f} s", flush=True)
    finally:
        eng.close()


def fmt(values) -> str:
    return " ".join(f"{v:6.1f}" for v in np.atleast_1d(values))


def covariance(means: np.ndarray, lag: int) -> np.ndarray:
    """Covariance (6,) of the states' means ``lag`` states apart: for lag >= 1 that of their
    configurational stress alone (the updates' thermal noise is independent between states)."""
    x = means - means.mean(axis=0)
    return (x[:-lag] * x[lag:]).mean(axis=0)


def analyse(args: argparse.Namespace) -> None:
    w, u = np.load(args.window), np.load(args.updates)
    stress, every, block = u["stress"], int(u["every"]), int(w["block_steps"])
    stress = stress[:, ~np.isnan(stress).any(axis=(0, 2))]
    n_states, m = stress.shape[:2]
    runs = np.array(u["runs"])
    step_cpu = runs[:, 2].sum() / runs[:, 0].sum()
    print(
        f"{n_states} states {every} steps apart ({n_states * every} steps), {m} updates each; update CPU {step_cpu * 1e3:.2f} ms/step"
    )
    print("components:                      ", " ".join(f"{c:>6}" for c in COMPONENTS))
    means = stress.mean(axis=1)
    within2 = ((stress - means[:, None]) ** 2).sum(axis=(0, 1)) / (n_states * (m - 1))
    between2 = np.maximum(means.var(axis=0, ddof=1) - within2 / m, 0.0)
    print("within-state std  MPa            ", fmt(np.sqrt(within2) / MPA))
    print("between-state std MPa            ", fmt(np.sqrt(between2) / MPA))
    print("total std of one update MPa      ", fmt(stress[:, 0].std(axis=0, ddof=1) / MPA))
    print("correlation of the states' configurational stress (covariance / between^2; SE ~0.1):")
    for lag in (1, 2, 3, 4, 6, 8, 12):
        cov = covariance(means, lag)
        print(
            f"  {lag * every:6d} steps apart              ",
            fmt(cov / between2),
            f"  pooled {cov.sum() / between2.sum():+.2f}",
        )
    series = w["series"]
    print(f"the trajectory ({len(series) * block} steps): means over T steps, their std (MPa) and x sqrt(T / 40k)")
    for steps in (5000, 10000, 20000, 40000, 80000):
        k = steps // block
        parts = series[: len(series) // k * k].reshape(-1, k, 6).mean(axis=1)
        std = parts.std(axis=0, ddof=1)
        print(
            f"  T {steps:6d} ({len(parts):2d} means)   ", fmt(std / MPA), " |", fmt(std * np.sqrt(steps / 40000) / MPA)
        )
    print("  blocking SE of the whole mean  ", fmt(blocking_standard_error(series) / MPA))
    first = means[:32]  # the example's 32 rest states (the same trajectory, the same 1,250-step spacing)
    for q in (16, 24):
        offset = first[:q].mean(axis=0) - first.mean(axis=0)
        thermal = np.sqrt(within2 / m * (1 / q - 1 / 32))
        print(
            f"qps from states 0..{q - 1} only: their mean minus the 32 states' MPa",
            fmt(offset / MPA),
            "+-",
            fmt(thermal / MPA),
        )
    goal, sigma40 = args.goal * MPA, args.sigma40k * MPA
    print(
        f"for {args.goal:g} MPa against the long-time mean (configurational {args.config_share:.0%} of the variance, "
        f"{sigma40 / MPA:.0f} MPa at 40k steps; largest within-state std):"
    )
    steps = 40000 * sigma40**2 / (args.config_share * goal**2)
    updates = within2.max() / ((1 - args.config_share) * goal**2)
    print(f"  a trajectory of {steps:,.0f} steps with states along it, and {updates:,.0f} updates")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = replica_parser(sub, "window")
    r.add_argument("--windows", type=int, default=4)
    r.add_argument("--every", type=int, default=1250)
    r.add_argument("--states", type=Path, required=True)
    r.add_argument("--out", type=Path, required=True)
    p = replica_parser(sub, "updates")
    p.add_argument("--states", type=Path, required=True)
    p.add_argument("--window", type=Path, required=True)
    p.add_argument("--per-state", type=int, default=2)
    p.add_argument("--out", type=Path, required=True)
    a = sub.add_parser("analyse")
    a.add_argument("window")
    a.add_argument("updates")
    a.add_argument("--goal", type=float, default=5.0, help="MPa")
    a.add_argument("--sigma40k", type=float, default=20.0, help="MPa: std of 40k-step means (the table above)")
    a.add_argument("--config-share", type=float, default=0.75, help="share of the goal's variance left to the states")
    args = parser.parse_args()
    {"window": window, "updates": updates, "analyse": analyse}[args.command](args)


if __name__ == "__main__":
    main()
