"""MD throughput of a batch job against one long plain ``lmp`` run of the same box.

Both do the same MD (the material's box, force field, Langevin NVT, same timestep, same number
of steps) on the same machine; the batch pays for what an update needs on top (restore a state
file, set up fixes, one run that deforms to the target cell and samples, write the new state).
The updates read and write qp states in the format of the checkout under test, as every step
after the first does (NetCDF for atomic materials since issue 12; the supervisor does that I/O).
Reported in atom-steps per second, for 1 worker against 1 ``lmp`` and for 2 workers side by side
against 2 concurrent ``lmp`` runs. Each update goes from the reference state to the cell of
``--increment`` times ``--direction`` (as the first step of a run does; the default direction,
stretch along z with Poisson contraction and small shears, moves all six box parameters as a
qp of the default bar does; ``--direction 0 0 1 0 0 0`` is the zz-only update measured before
session 12). Two references: plain MD (the issue's
figure), and plain MD that also averages the pressure over the same steps as the updates (the
virial an update needs for its stress): the second ratio is what orchestration costs.

    .venv/bin/python tests/benchmarks/bench_md_throughput.py --material-dir results/materials/copper

On a shared machine other jobs take part of every core: each ratio is also given with both sides'
wall times minus their processes' waits for a CPU (``/proc/<pid>/schedstat``, see ``run_delay``):
what each would take alone, up to caches and clock speed.

``--fixed-cost``: a batch's once-only cost (workers' start-up and shut-down, no MD) beside an
empty ``lmp``.

``--compare /work/main``: also time that checkout's batches in the same repeats (each batch runs
in a fresh process with ``SCEMA_BENCH_CODE`` set to its checkout), so before and after are
measured side by side against the same plain runs.

``--breakdown``: instead, where one worker's wall time goes (start-up, each phase of an update,
the gaps between updates, shut-down), from timestamps the worker writes, beside the start-up of
an empty ``lmp``. The split inside LAMMPS (virial, deform, run set-up) is not timed here: count
instructions with ``valgrind --tool=callgrind lmp -in ...`` on the commands of an update. Counts miss
what costs cycles only: after each run's set-up (or any other work) PairEAM's loop ran its first
~100 steps ~15 % slower than a long run (the CPU relearns the branch of pairs beyond the cutoff;
the same slowdown followed a pure-Python pause between two continuing runs), most of the gap
measured with a 2 A neighbour skin (issue 12; fcc_eam now uses 1 A).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
# The default update's strain direction (Voigt, engineering shear): tension along z with Poisson
# contraction and small shears, so all six box parameters move, as at a qp of the default bar.
DIRECTION = (-0.35, -0.35, 1.0, 0.1, -0.1, 0.1)
# SCEMA_BENCH_CODE=<checkout>: measure that checkout's scema with this harness (an environment
# variable, not an option: spawned workers of older code re-import this file and must agree).
sys.path.insert(0, str(Path(os.environ.get("SCEMA_BENCH_CODE", REPO)) / "workflow"))

from scema.config import validate_config  # noqa: E402
from scema.md.engine import Engine, target_cell  # noqa: E402
from scema.md.material import MaterialSpec  # noqa: E402
from scema.md.supervisor import Workers, supervise  # noqa: E402
from scema.md.update import Update  # noqa: E402

PLAIN_INPUT = """units {units}
atom_style atomic
boundary p p p
read_data {state}
{forcefield}
timestep {dt}
fix integ all nve
fix thermo all langevin {T} {T} {damp} 4242 zero yes
thermo 0
{sampling}
run {steps}
"""


def plain_lmp_seconds(
    spec: MaterialSpec, state: Path, steps: int, copies: int, workdir: Path, window: tuple[int, int] | None = None
) -> tuple[float, float, float]:
    """Wall time of ``copies`` concurrent ``lmp`` runs of ``steps`` steps (process start included).

    Returns (wall s, CPU s, mean run-queue wait s of the copies, see :func:`run_delay`). ``window`` = (sampling, period): also average the pressure over the last ``sampling`` steps of
    every ``period``, as the updates do.
    """
    script = workdir / "plain.in"
    script.write_text(plain_input(spec, state, steps, window))
    start, cpu = time.perf_counter(), cpu_seconds()
    procs = [subprocess.Popen(["lmp", "-in", str(script), "-log", "none", "-screen", "none"]) for _ in range(copies)]
    delays = []
    for p in procs:  # read each one's scheduler statistics as a zombie, before reaping it
        os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
        delays.append(run_delay(p.pid))
        if p.wait() != 0:
            sys.exit("plain lmp failed")
    return time.perf_counter() - start, cpu_seconds() - cpu, float(np.mean(delays))


def plain_input(spec: MaterialSpec, state: Path, steps: int, window: tuple[int, int] | None = None) -> str:
    """The plain ``lmp`` input: the material's box, force field and thermostat, one run of ``steps``."""
    variables = "\n".join(f"variable {k} string {v}" for k, v in spec.variables.items())
    sampling = ""
    if window:
        sampling = f"fix avg all ave/time 1 {window[0]} {window[1]} " + " ".join(
            f"c_thermo_press[{i}]" for i in range(1, 7)
        )
    return PLAIN_INPUT.format(
        units=spec.units,
        state=state,
        forcefield=variables + "\n" + Path(spec.forcefield).read_text(),
        dt=spec.timestep_lammps,
        T=spec.temperature,
        damp=spec.thermostat_damping,
        steps=steps,
        sampling=sampling,
    )


def run_delay(pid: int) -> float:
    """Seconds the main thread of ``pid`` has waited, runnable, for a CPU (/proc/<pid>/schedstat).

    On a shared machine this is the part of a process's wall time that other jobs took; wall minus
    it is what the process would take alone (its own CPU time plus its own sleeps: MPI start-up,
    I/O), up to caches and clock speed. The benchmark reports both ratios.
    """
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) * 1e-9


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (workers, lmp): less sensitive than
    wall time to other jobs on a shared machine (not immune: caches, frequency)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_update(engine: Engine, spec: MaterialSpec, update: Update) -> np.ndarray:
    """``run_update``'s phases one by one, each end time appended to ``timeline.<pid>`` beside the output."""
    marks = [time.time()]
    engine.load(spec, update.state_in)
    marks.append(time.time())
    engine.nvt(spec, seed=update.seed)
    target = target_cell(update.reference_cell, update.target_strain)
    stress, _ = engine.deform_and_sample(
        spec, target, update.reference_cell, spec.sampling_steps, spec.sampling_stride
    )  # as run_update: the virial on every stride-th step only
    marks.append(time.time())
    engine.write_state(update.state_out, after_run=True, durable=False)  # as run_update
    marks.append(time.time())
    with open(update.state_out.parent / f"timeline.{os.getpid()}", "a") as fh:
        fh.write(" ".join(repr(m) for m in marks) + "\n")
    return stress - update.reference_stress


def breakdown(updates: list[Update], material: str, material_cfg: dict, work: Path) -> None:
    """One worker's wall time by phase (see the module docstring)."""
    from bench_md_throughput import timed_update as runner  # by module name: the worker imports it

    start = time.time()
    done: list[float] = []
    supervise(
        dict(enumerate(updates)),
        {material: material_cfg},
        1,
        work / "breakdown.lammps.log",
        0,
        lambda update, attempt: (update, 1),
        lambda *result: done.append(time.time()),
        runner,
    )
    end = time.time()
    rows = np.loadtxt(next(updates[0].state_out.parent.glob("timeline.*")), ndmin=2)
    phases = {
        "start-up (process, imports, LAMMPS + MPI init) to the first update": rows[0, 0] - start,
        "restore state (NetCDF: create_atoms; data file: read_data add merge)": np.sum(rows[:, 1] - rows[:, 0]),
        "thermostat + one run: deform and sample": np.sum(rows[:, 2] - rows[:, 1]),
        "write state (NetCDF: gathered, the supervisor writes it; data file: write_data)": np.sum(
            rows[:, 3] - rows[:, 2]
        ),
        "between updates (the worker waiting)": np.sum(rows[1:, 0] - rows[:-1, 3]),
        "last update to return (shut-down)": end - rows[-1, 3],
    }
    lmp_start = time.perf_counter()
    subprocess.run(["lmp", "-log", "none", "-screen", "none"], stdin=subprocess.DEVNULL, check=True)
    lmp_start = time.perf_counter() - lmp_start
    total = end - start
    print(f"{len(updates)} updates on 1 worker: {total:.2f} s wall")
    for name, seconds in phases.items():
        print(f"  {name:68s} {seconds:7.3f} s  {seconds / total:6.1%}")
    print(f"  (an empty plain lmp starts and stops in {lmp_start:.3f} s)")


def increment_of(args: argparse.Namespace) -> np.ndarray:
    """The strain of every update: ``--increment`` times ``--direction`` (Voigt, engineering shear)."""
    return args.increment * np.asarray(args.direction, dtype=float)


def batch_seconds(
    code: Path, args: argparse.Namespace, state: Path, workers: int, out: Path
) -> tuple[float, float, float]:
    """(wall s, CPU s, mean run-queue wait s of the workers) of ``workers`` workers running ``args.updates`` updates each with the scema of
    checkout ``code``, timed inside a fresh process (``--batch-only``) so that several checkouts are
    measured side by side in one run; that process's own start-up and imports are not timed."""
    command = [sys.executable, __file__, "--batch-only", "--state", str(state), "--workers", str(workers)]
    command += ["--out", str(out), "--material", args.material, "--updates", str(args.updates)]
    command += ["--increment", repr(args.increment), "--direction", *map(repr, args.direction)]
    if args.sampling_steps:
        command += ["--sampling-steps", str(args.sampling_steps)]
    env = {**os.environ, "SCEMA_BENCH_CODE": str(code)}
    result = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    wall, cpu, delay = (float(word) for word in result.stdout.split()[-3:])
    return wall, cpu, delay


def qp_state(spec: MaterialSpec, state: Path, out: Path) -> Path:
    """``state`` in the qp state format of the checkout under test, as every step after the first
    reads and writes it (NetCDF for atomic materials since issue 12, a LAMMPS data file before);
    converted once, before the timing."""
    try:
        from scema.md.state import state_suffix
    except ImportError:  # a checkout from before NetCDF qp states
        return state
    suffix = state_suffix(spec.atom_style)
    if state.suffix == suffix:
        return state
    converted = out / f"start{suffix}"
    with Engine() as engine:
        engine.load(spec, state)
        engine.write_state(converted)
    return converted


def run_batch(args: argparse.Namespace, spec: MaterialSpec, material_cfg: dict) -> None:
    """``--batch-only``: one timed batch (``supervise`` with workers started in the timed part);
    prints "wall cpu delay" (delay: the workers' mean :func:`run_delay`, read before they stop)."""
    with Engine() as engine:
        engine.load(spec, args.state)
        reference_cell = engine.box_matrix()
    args.out.mkdir(parents=True, exist_ok=True)
    state = qp_state(spec, args.state, args.out)
    updates = [
        Update(
            args.material,
            q,
            0,
            state,
            increment_of(args),
            reference_cell,
            np.zeros(6),
            args.out / f"q{q}{state.suffix}",
            seed=q + 1,
        )
        for q in range(args.updates * args.workers)
    ]
    start, cpu = time.perf_counter(), cpu_seconds()
    with Workers({args.material: material_cfg}, args.workers, args.out / "lammps.log") as workers:
        supervise(
            dict(enumerate(updates)),
            {args.material: material_cfg},
            args.workers,
            args.out / "lammps.log",
            0,
            lambda update, attempt: (update, 1),
            lambda *done: None,
            workers=workers,
        )
        delay = float(np.mean([run_delay(slot.process.pid) for slot in workers.slots]))
    print(time.perf_counter() - start, cpu_seconds() - cpu, delay)


def fixed_cost(material: str, material_cfg: dict, counts: list[int], work: Path, repeats: int) -> None:
    """``--fixed-cost``: what a batch pays once, without MD: k workers started together until each
    has answered one update, then closed; beside an empty plain ``lmp`` (k copies side by side).

    The update's runner is the builtin ``slice``: every worker fails it at once with a TypeError
    (an error reply), which costs no import in the worker and no LAMMPS command.
    """
    updates = {
        i: Update(material, i, 0, Path(os.devnull), np.zeros(6), np.eye(3), np.zeros(6), work / f"f{i}.data")
        for i in range(max(counts))
    }
    for _ in range(repeats):
        for k in counts:
            start = time.perf_counter()
            with Workers({material: material_cfg}, k, work / "fixed.log", slice) as workers:
                chosen = {i: updates[i] for i in range(k)}
                supervise(
                    chosen,
                    {material: material_cfg},
                    k,
                    work / "fixed.log",
                    0,
                    lambda u, a: (u, 1),
                    lambda *done: None,
                    slice,
                    workers,
                )
                answered = time.perf_counter()
            closed = time.perf_counter()
            start_lmp = time.perf_counter()
            empty = ["lmp", "-log", "none", "-screen", "none"]
            for p in [subprocess.Popen(empty, stdin=subprocess.DEVNULL) for _ in range(k)]:
                p.wait()
            lmp = time.perf_counter() - start_lmp
            print(
                f"{k} worker(s): start to every first answer {answered - start:.3f} s, close {closed - answered:.3f} s"
                f" | {k} empty lmp: {lmp:.3f} s",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--material-dir", type=Path, default=None, help="results/materials/<name> of a finished run")
    parser.add_argument(
        "--cells", type=int, default=None, help="equilibrate a fresh box of this many fcc cells instead"
    )
    parser.add_argument("--sampling-steps", type=int, default=None, help="override the material's sampling_steps")
    parser.add_argument("--material", default="copper")
    parser.add_argument(
        "--updates",
        type=int,
        default=96,
        help="updates per worker (default 96: a default run's batch, 96 qps x 2 replicas on 2 workers)",
    )
    parser.add_argument(
        "--increment", type=float, default=2e-3, help="strain increment per update: --direction is scaled by it"
    )
    parser.add_argument(
        "--direction",
        type=float,
        nargs=6,
        default=list(DIRECTION),
        help="Voigt direction of the increment, scaled by --increment (xx yy zz yz xz xy; default: tension along z, "
        "Poisson contraction, small shears: all six box parameters move)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="alternating batch / plain measurements")
    parser.add_argument(
        "--compare",
        type=Path,
        action="append",
        default=[],
        help="another checkout (e.g. /work/main) whose batches are timed in the same repeats, side by side",
    )
    parser.add_argument(
        "--worker-counts", type=int, nargs="+", default=[1, 2], help="worker counts to measure (default 1 2)"
    )
    parser.add_argument("--breakdown", action="store_true", help="where one worker's time goes, instead")
    parser.add_argument("--fixed-cost", action="store_true", help="workers' start-up and shut-down only, instead")
    parser.add_argument("--batch-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    cfg = validate_config(yaml.safe_load(open(REPO / "config/config.yaml")), search_dirs=[REPO])
    material_cfg = cfg["materials"][args.material]
    if args.cells:
        material_cfg["variables"]["cells"] = args.cells
    if args.sampling_steps:
        material_cfg["sampling_steps"] = args.sampling_steps
    spec = MaterialSpec.from_config(args.material, material_cfg)
    if args.batch_only:
        run_batch(args, spec, material_cfg)
        return
    work = Path(tempfile.mkdtemp(prefix="scema_throughput_"))
    if args.fixed_cost:
        fixed_cost(args.material, material_cfg, args.worker_counts, work, args.repeats)
        return
    if args.material_dir is not None:
        state = args.material_dir / "replica_0.data"
    else:
        from scema.md.preparation import equilibrate_replica

        state = work / "reference.data"
        equilibrate_replica(spec.replace(reference_sampling_steps=100), 12345, 0, state)
    natoms = int(next(line.split()[0] for line in state.read_text().splitlines() if line.strip().endswith("atoms")))
    steps_per_update = spec.deform_steps(float(np.max(np.abs(increment_of(args))))) + spec.sampling_steps
    if args.breakdown:
        with Engine() as engine:
            engine.load(spec, state)
            reference_cell = engine.box_matrix()
        increment = increment_of(args)
        (work / "b").mkdir()
        start = qp_state(spec, state, work)
        updates = [
            Update(
                args.material,
                q,
                0,
                start,
                increment,
                reference_cell,
                np.zeros(6),
                work / "b" / f"q{q}{start.suffix}",
                q + 1,
            )
            for q in range(args.updates)
        ]
        breakdown(updates, args.material, material_cfg, work)
        return
    print(f"work directory {work} (each checkout's state files under w<workers>/<checkout>)", flush=True)
    codes = {"this": Path(os.environ.get("SCEMA_BENCH_CODE", REPO))}
    codes.update({str(path): path for path in args.compare})
    counts = args.worker_counts
    ratios = {(label, w): [] for label in codes for w in counts}
    alone = {(label, w): [] for label in codes for w in counts}
    sampled = {(label, w): [] for label in codes for w in counts}
    cpu_ratios = {(label, w): [] for label in codes for w in counts}
    total_steps = args.updates * steps_per_update
    window = (spec.sampling_steps, steps_per_update)
    for rep in range(args.repeats):  # alternate batch and plain runs: a shared machine drifts
        for workers in counts:
            plain, plain_cpu, plain_delay = plain_lmp_seconds(spec, state, total_steps, workers, work)
            rate_plain = workers * total_steps * natoms / plain
            print(
                f"[{rep}] {workers} worker(s): {args.updates * workers} updates x {steps_per_update} steps x {natoms} "
                f"atoms | plain lmp {plain:.2f} s = {rate_plain / 1e6:.2f} M atom-steps/s, CPU {plain_cpu:.2f} s, "
                f"waiting for a CPU {plain_delay:.2f} s",
                flush=True,
            )
            for label, code in codes.items():
                out = work / f"w{workers}" / label.strip("/")
                batch, batch_cpu, batch_delay = batch_seconds(code, args, state, workers, out)
                ratios[label, workers].append(plain / batch)
                alone[label, workers].append((plain - plain_delay) / (batch - batch_delay))
                cpu_ratios[label, workers].append(plain_cpu / batch_cpu)
                print(
                    f"    {label}: batch {batch:.2f} s = {workers * total_steps * natoms / batch / 1e6:.2f} M "
                    f"atom-steps/s, batch/plain = {plain / batch:.1%}; waiting for a CPU {batch_delay:.2f} s, "
                    f"without the waits batch/plain = {alone[label, workers][-1]:.1%}; CPU {batch_cpu:.2f} s, "
                    f"plain/batch = {plain_cpu / batch_cpu:.1%}",
                    flush=True,
                )
            plain_sampled, _, _ = plain_lmp_seconds(spec, state, total_steps, workers, work, window)
            print(f"    plain lmp with the updates' pressure averaging {plain_sampled:.2f} s", flush=True)
            for label in codes:
                batch = plain / ratios[label, workers][-1]
                sampled[label, workers].append(plain_sampled / batch)
    for (label, workers), values in ratios.items():
        for name, series in (
            ("plain", values),
            ("plain, both without their waits for a CPU", alone[label, workers]),
            ("plain with pressure averaging", sampled[label, workers]),
            ("plain in CPU time", cpu_ratios[label, workers]),
        ):
            print(
                f"{label}, {workers} worker(s): batch/{name} median {np.median(series):.1%} over {len(series)} "
                f"repeats (range {min(series):.1%} .. {max(series):.1%})"
            )
    for label in list(codes)[1:]:  # paired: both batches of a repeat ran beside the same plain runs
        for workers in counts:
            paired = np.array(ratios["this", workers]) / np.array(ratios[label, workers])
            print(
                f"this against {label}, {workers} worker(s): batch time {label}/this median {np.median(paired):.3f} "
                f"over {len(paired)} paired repeats (range {paired.min():.3f} .. {paired.max():.3f})"
            )


if __name__ == "__main__":
    main()
