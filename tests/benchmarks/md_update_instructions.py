"""Where an MD update's cost goes beyond plain MD, in instructions (callgrind), not seconds.

On a shared two-core machine wall and CPU times of one update move by a few per cent from run to
run, as much as what is left to remove; instruction counts do not move. This runs ``--updates``
updates in one Engine (as a worker does, ``run_update`` of ``--code``) and one plain ``lmp`` run
of the same steps (``bench_md_throughput.plain_input``), each under ``valgrind --tool=callgrind``,
and prints per LAMMPS phase the extra instructions per update and their share of one update's
plain MD. Instructions are not time (parsing and set-up code run at a lower IPC than the pair
loop), so the shares are lower bounds of the time shares.

    python tests/benchmarks/md_update_instructions.py --material-dir <run>/results/materials/copper
        [--updates 3] [--code <checkout>]   (~2 min; valgrind and callgrind_annotate on PATH)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# inclusive instruction counts of these LAMMPS functions (every call, summed)
PHASES = {
    "all LAMMPS commands": r"LAMMPS_NS::Input::(one|file)\(",
    "run: MD loop (Verlet::run)": r"LAMMPS_NS::Verlet::run\(",
    "  of which fix deform": r"LAMMPS_NS::FixDeform::end_of_step\(",
    "  of which fix ave/time": r"LAMMPS_NS::FixAveTime::end_of_step\(",
    "  of which the pair force": r"LAMMPS_NS::PairEAM::compute\(",
    "run: set-up (Verlet::setup)": r"LAMMPS_NS::Verlet::setup\(",
    "  of which neighbour lists": r"LAMMPS_NS::Neighbor::build\(",
    "system init (EAM re-splined)": r"LAMMPS_NS::LAMMPS::init\(\)",
    "read_data": r"LAMMPS_NS::ReadData::command\(",
    "write_data": r"LAMMPS_NS::WriteData::command\(",
    "pair_coeff (potential file read)": r"LAMMPS_NS::Input::pair_coeff\(",
    "delete_atoms": r"LAMMPS_NS::DeleteAtoms::command\(",
    "library: create_atoms (NetCDF states)": r"lammps_create_atoms\b",
    "library: extract_atom (NetCDF states)": r"lammps_extract_atom\b",
}


def batch(args: argparse.Namespace) -> None:
    """``--batch``: the updates, run in this process (under callgrind)."""
    sys.path.insert(0, str(Path(args.code) / "workflow"))
    import numpy as np

    from scema.md.engine import Engine
    from scema.md.update import Update, run_update

    spec = material_spec(args.material)
    try:  # the checkout's qp state format, as every step after the first reads and writes it
        from scema.md.state import StateExchange, read_state, state_suffix
    except ImportError:  # a checkout from before NetCDF qp states: data files
        StateExchange = None
    with Engine() as engine:
        engine.load(spec, args.state)
        cell = engine.box_matrix()
        state = args.state
        if StateExchange is not None and state_suffix(spec.atom_style) != state.suffix:
            state = engine.write_state(args.out / f"start{state_suffix(spec.atom_style)}")
            engine.exchange = StateExchange()  # as in a batch worker: its supervisor reads and writes the files
            handed = read_state(state)
        for q in range(args.updates):
            strain = args.increment * np.asarray(args.direction, dtype=float)
            if getattr(engine, "exchange", None) is not None:
                engine.exchange.incoming[state] = handed
                engine.exchange.outgoing.clear()
            run_update(
                engine,
                spec,
                Update(args.material, q, 0, state, strain, cell, np.zeros(6), args.out / f"q{q}{state.suffix}", q + 1),
            )


def material_spec(material: str):
    import yaml

    from scema.config import validate_config
    from scema.md.material import MaterialSpec

    cfg = validate_config(yaml.safe_load(open(REPO / "config/config.yaml")), search_dirs=[REPO])
    return MaterialSpec.from_config(material, cfg["materials"][material])


def inclusive(profile: Path) -> dict[str, int]:
    """Inclusive instructions of each phase from a callgrind profile."""
    text = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(profile)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    counts = {}
    for name, pattern in PHASES.items():
        hits = [int(m.group(1).replace(",", "")) for m in re.finditer(rf"^\s*([\d,]+) .*{pattern}", text, re.M)]
        counts[name] = max(hits, default=0)  # Input::one holds the Input::file of an include
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--material-dir", type=Path, help="results/materials/<name> of a finished run")
    parser.add_argument("--material", default="copper")
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--increment", type=float, default=2e-3)
    parser.add_argument(
        "--direction",
        type=float,
        nargs=6,
        default=None,
        help="Voigt direction of the increment (default: bench_md_throughput's DIRECTION, all six box parameters move)",
    )
    parser.add_argument("--code", type=Path, default=REPO, help="checkout whose run_update is counted")
    parser.add_argument("--batch", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batch:
        batch(args)
        return
    if args.material_dir is None:
        parser.error("--material-dir is required")
    sys.path.insert(0, str(REPO / "workflow"))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_md_throughput import DIRECTION, plain_input

    args.direction = args.direction or list(DIRECTION)

    spec = material_spec(args.material)
    work = Path(tempfile.mkdtemp(prefix="scema_instructions_"))
    state = args.material_dir / "replica_0.data"
    steps = spec.deform_steps(args.increment * max(abs(d) for d in args.direction)) + spec.sampling_steps
    (work / "plain.in").write_text(plain_input(spec, state, steps * args.updates))
    from scema.parallel import SINGLETON_MPI

    env = {**SINGLETON_MPI, **os.environ, "OPENBLAS_NUM_THREADS": "1"}  # as a worker runs
    grind = ["valgrind", "--tool=callgrind", "--callgrind-out-file={}"]
    runs = {
        "plain": ["lmp", "-in", str(work / "plain.in"), "-log", "none", "-screen", "none"],
        "batch": [sys.executable, __file__, "--batch", "--state", str(state), "--out", str(work)]
        + ["--material", args.material, "--updates", str(args.updates), "--increment", repr(args.increment)]
        + ["--direction", *map(repr, args.direction)]
        + ["--code", str(args.code)],
    }
    counts = {}
    for name, command in runs.items():
        profile = work / f"{name}.callgrind"
        subprocess.run(
            [grind[0], grind[1], grind[2].format(profile)] + command, env=env, check=True, capture_output=True
        )
        counts[name] = inclusive(profile)
    per_update = counts["plain"]["run: MD loop (Verlet::run)"] / args.updates
    print(
        f"{args.updates} updates of {steps} steps ({args.code}) against one plain lmp run of {steps * args.updates} steps;"
    )
    print(f"plain MD per update's steps: {per_update / 1e6:.1f} M instructions")
    print(f"{'phase':36s} {'plain M':>9s} {'batch M':>9s} {'extra M/update':>15s} {'share':>7s}")
    for phase in PHASES:
        plain, ours = counts["plain"][phase], counts["batch"][phase]
        extra = (ours - plain) / args.updates
        print(f"{phase:36s} {plain / 1e6:9.1f} {ours / 1e6:9.1f} {extra / 1e6:15.2f} {extra / per_update:7.2%}")


if __name__ == "__main__":
    main()
