"""A step's hand-over, from the end of one step's MD to the start of the next (not a pytest module).

    python tests/benchmarks/bench_handover.py RUN_DIR [--step 2] [--repeats 5]

In a finished default run (clustering and committee off), times step t's aggregation and step
t+1's FE, each a fresh interpreter as a job is, two ways, alternating so both see the same load:

* ``sequential`` (before): aggregate_stress, then fe_step reading its stress.nc and md_state.nc;
* ``parallel`` (now): fe_step aggregating step t's MD results itself, aggregate_stress beside it;
* ``fe alone``: that fe_step without aggregate_stress beside it: the hand-over of ``parallel``
  when the other core is free (an otherwise idle machine: the MD has just ended);
* ``fe, teardown``: ``fe alone`` ending through the interpreter's teardown instead of
  ``scema.job_exit.exit_job`` (as every rule script ends; the others here end so too).

Prints the median wall seconds of the hand-over and the CPU seconds of its processes. Outputs go
to a scratch directory; the run is not changed. Snakemake's own part (script preamble, job
bookkeeping) is not included: it is the same both ways.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))
from scema.config import validate_config  # noqa: E402
from scema.parallel import SINGLETON_MPI  # noqa: E402

CALL = "import json, sys; from {module} import {function}; {function}(**json.loads(sys.argv[1]))"
EXIT_JOB = "; from scema.job_exit import exit_job; exit_job()"  # as every rule script ends


def process(module: str, function: str, kwargs: dict, cwd: Path, teardown: bool = False) -> subprocess.Popen:
    """A fresh interpreter running ``module.function(**kwargs)``; ends as a rule script does
    (``exit_job``) or, with ``teardown``, through the interpreter's teardown, as before."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow"), **SINGLETON_MPI}
    code = CALL.format(module=module, function=function) + ("" if teardown else EXIT_JOB)
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(kwargs)], cwd=cwd, env=env)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--step", type=int, default=2, help="the step whose MD just ended")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run, t = args.run.resolve(), args.step
    cfg = validate_config(yaml.safe_load((REPO / "config/config.yaml").read_text()), search_dirs=[REPO])
    scratch = Path(tempfile.mkdtemp(prefix="bench_handover_"))
    here, prev, nxt = (f"results/step_{s:04d}" for s in (t, t - 1, t + 1))
    results = {
        "strain_path": f"{here}/strain.nc",
        "prev_md_state": f"{prev}/md_state.nc",
        "batch_files": sorted(str(p.relative_to(run)) for p in (run / here / "md").glob("batch_*.nc")),
    }
    aggregate = {"step": t, **results, "out_stress": str(scratch / "stress.nc"), "out_md_state": str(scratch / "md.nc")}
    fe = {
        "model_settings": cfg,
        "fe": {
            "integrator": cfg["fe"]["integrator"],
            "time_step": cfg["fe"]["time_step"],
            "petsc_options": cfg["fe"]["petsc_options"].get(cfg["fe"]["solver"], {}),
        },
        "boundary_conditions": cfg["specimen"]["boundary_conditions"],
        "step": t + 1,
        "material_files": {m: f"results/materials/{m}/material.nc" for m in cfg["materials"]},
        "prev_fe_state": f"{here}/fe_state.nc",
        "out_fe_state": str(scratch / "fe_state.nc"),
        "out_strain": str(scratch / "strain.nc"),
        "out_displacement": str(scratch / "displacement.xdmf"),
    }
    settings = {"batches": cfg["md"]["batches"], "seed": cfg["run"]["seed"], "materials": list(cfg["materials"])}
    plan = {"settings": settings, "out_schedule": str(scratch / nxt.replace("/", "_") / "md_schedule.nc")}
    fe_from_files = {
        **fe,
        "prev_stress": f"{here}/stress.nc",
        "plan": {**plan, "prev_md_state": f"{here}/md_state.nc"},
    }
    fe_from_results = {**fe, "prev_md_results": results, "plan": {**plan, "prev_md_state": None}}
    times: dict[str, list[tuple[float, float]]] = {"sequential": [], "parallel": [], "fe alone": [], "fe, teardown": []}
    for _ in range(args.repeats):
        for name in times:
            cpu0, t0 = children_cpu(), time.perf_counter()
            if name == "sequential":
                process("scema.stages.aggregate", "run", aggregate, run).wait()
                process("scema.stages.fe_step", "run", fe_from_files, run).wait()
            elif name == "fe alone":
                process("scema.stages.fe_step", "run", fe_from_results, run).wait()
            elif name == "fe, teardown":
                process("scema.stages.fe_step", "run", fe_from_results, run, teardown=True).wait()
            else:
                jobs = [
                    process("scema.stages.fe_step", "run", fe_from_results, run),
                    process("scema.stages.aggregate", "run", aggregate, run),
                ]
                jobs[0].wait()
                t_fe = time.perf_counter() - t0  # the next MD can start here
                jobs[1].wait()
            wall = t_fe if name == "parallel" else time.perf_counter() - t0
            times[name].append((wall, children_cpu() - cpu0))
    print(f"hand-over after step {t}'s MD, {args.repeats} repeats alternating; load {os.getloadavg()[0]:.1f}")
    for name, rows in times.items():
        walls, cpus = sorted(r[0] for r in rows), sorted(r[1] for r in rows)
        print(f"{name:>10}: wall {walls[len(walls) // 2]:.2f} s (min {walls[0]:.2f}), cpu {cpus[len(cpus) // 2]:.2f} s")


if __name__ == "__main__":
    main()
