"""Scale benchmark: plan one step of SCEMa's size (10,000 cells x 8 qps x 5 replicas = 400,000
MD updates) and let Snakemake build its DAG.

Writes a synthetic run directory (step 0 state and a step-1 strain field of 80,000 qps), times
the MD planning (scema.stages.schedule, run by the last stage before the MD), then times
``snakemake -n results/step_0001/stress.nc`` and counts the MD jobs in the DAG, which must stay
at ``md.batches``. Prints time and peak memory.

    .venv/bin/python tests/benchmarks/bench_scale.py [--batches 500] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

from scema.config import validate_config  # noqa: E402
from scema.io.datasets import fe_state_dataset, md_state_dataset, strain_dataset, stress_dataset  # noqa: E402
from scema.io.netcdf import write_dataset  # noqa: E402
from scema.stages import schedule as schedule_stage  # noqa: E402

CELLS = (25, 20, 20)  # 10,000 hexahedra
REPLICAS = 5


def synthetic_run(workdir: Path, batches: int) -> dict:
    cfg = yaml.safe_load(open(REPO / "config/config.yaml"))
    cfg["run"]["steps"] = 1
    cfg["specimen"]["mesh"]["divisions"] = list(CELLS)
    cfg["md"].update(replicas=REPLICAS, batches=batches)
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    full = validate_config(cfg, search_dirs=[workdir, REPO])
    n_qp = 8 * int(np.prod(CELLS))
    res = workdir / "results"
    mat = res / "materials" / "copper"
    mat.mkdir(parents=True)
    states = [f"results/materials/copper/replica_{r}.data" for r in range(REPLICAS)]
    for s in states:
        (workdir / s).write_text("placeholder: the dry run never reads it\n")
    import xarray as xr

    material = xr.Dataset(
        {
            "stiffness": (("replica", "i", "j"), np.zeros((REPLICAS, 6, 6)), {"units": "Pa", "long_name": "C"}),
            "reference_stress": (
                ("replica", "component"),
                np.zeros((REPLICAS, 6)),
                {"units": "Pa", "long_name": "ref"},
            ),
            "density": ("replica", np.full(REPLICAS, 8900.0), {"units": "kg m-3", "long_name": "rho"}),
            "state_file": ("replica", np.array(states, dtype=object), {"units": "1", "long_name": "state"}),
        }
    )
    write_dataset(material, mat / "material.nc", "synthetic material")
    rng = np.random.default_rng(0)
    zeros = np.zeros((n_qp, 6))
    state_file = np.array([states] * n_qp, dtype=object)
    write_dataset(stress_dataset(0, zeros, zeros, np.zeros(n_qp), zeros), res / "step_0000/stress.nc", "s0")
    write_dataset(md_state_dataset(0, state_file, np.zeros((n_qp, REPLICAS, 6))), res / "step_0000/md_state.nc", "m0")
    nodes = np.zeros((26 * 21 * 21, 3))
    write_dataset(fe_state_dataset(0, 0.0, nodes, nodes, nodes), res / "step_0000/fe_state.nc", "f0")
    time.sleep(0.05)
    strain = 1e-3 * rng.normal(size=(n_qp, 6))
    coords = rng.uniform(size=(n_qp, 3))
    cells = np.repeat(np.arange(n_qp // 8), 8)
    write_dataset(
        strain_dataset(1, strain, strain, coords, cells, np.zeros(n_qp, int), ["copper"]),
        res / "step_0001/strain.nc",
        "e1",
    )
    write_dataset(fe_state_dataset(1, 1e-9, nodes, nodes, nodes), res / "step_0001/fe_state.nc", "f1")
    for name in ("displacement.xdmf", "displacement.h5"):
        (res / "step_0001" / name).write_text("placeholder\n")
    time.sleep(0.05)
    return full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=500)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="scema_scale_"))
    workdir.mkdir(parents=True, exist_ok=True)
    full = synthetic_run(workdir, args.batches)

    start = time.perf_counter()
    schedule_stage.write_schedule(
        {"batches": full["md"]["batches"], "seed": full["run"]["seed"], "materials": list(full["materials"])},
        1,
        str(workdir / "results/step_0001/strain.nc"),
        str(workdir / "results/step_0000/md_state.nc"),
        str(workdir / "results/step_0001/md_schedule.nc"),
    )
    plan_seconds = time.perf_counter() - start
    plan_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    command = [
        str(Path(sys.executable).parent / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--cores",
        "2",
        "-n",
        "results/step_0001/stress.nc",
    ]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    dag_seconds = time.perf_counter() - start
    dag_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode != 0:
        sys.exit(proc.stdout[-3000:] + proc.stderr[-3000:])
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout, flags=re.M))
    print(f"qps {8 * int(np.prod(CELLS))}, replicas {REPLICAS}, updates {8 * int(np.prod(CELLS)) * REPLICAS}")
    print(
        f"MD planning (plan + write schedule): {plan_seconds:.1f} s, peak RSS {plan_rss:.0f} MiB, "
        f"schedule file {(workdir / 'results/step_0001/md_schedule.nc').stat().st_size / 2**20:.0f} MiB"
    )
    print(f"snakemake -n (one step): {dag_seconds:.1f} s, peak RSS {dag_rss:.0f} MiB")
    print("jobs in the DAG:", {k: int(v) for k, v in counts.items()})
    if int(counts.get("md_batch", 0)) > args.batches:
        sys.exit(f"more MD jobs than md.batches = {args.batches}")


if __name__ == "__main__":
    main()
