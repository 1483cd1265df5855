"""Does Snakemake's time per macroscale step stay flat as the run gets longer? (not a pytest module)

    python tests/benchmarks/bench_steps.py [--dry 10 100 500 1000] [--real 10 20]
        [--compare-commit REV] [--workdir DIR] [--committee]
    python tests/benchmarks/bench_steps.py --committee-history 100 [--at 10 25 50 100] [--qps 96]
        [--compare-commit REV] [--workdir DIR]

A deliberately cheap config (one hexahedron = 8 qps, 32-atom copper boxes, 1 replica,
1 batch, 50 sampling steps, clustering on; ``--committee``: committee on too) so that the
workflow's own overhead is visible:

* dry: ``snakemake -n`` in a run directory whose materials are initialised, for N steps: the
  DAG building and input-function work of a fresh start (or a restart) of an N-step run;
  Snakemake's CPU seconds, per step, and wall seconds. ``--compare-commit`` times the same on
  the Snakefile of an earlier commit (extracted with ``git archive``), side by side.
* real: the whole run for N steps (total strain 2 %, whatever N), per step: wall time,
  Snakemake's own CPU time (scheduling, DAG re-evaluation after each checkpoint) and the jobs'
  own time (sum of the ``s`` column of every benchmarks/*.tsv); and the summary job's time,
  which reads every step's files once (per step it must stay flat too).
* ``--audit-history N ...`` (instead, no MD): the summary's committee part on a synthetic run
  of N steps x 5 audits of one material, CPU seconds per step, side by side: reading each
  step's run-wide pass fraction from its committee.nc, and refitting the audits of steps 1..t at
  every step t (committee.nc written before the pair was recorded; the summary's old way).
* ``--committee-history N`` (instead, no MD, no Snakemake): committee_query and committee_update
  of the schema's default committee (ridge, deviation, retrained every step) for N steps on a
  synthetic bar (``tests/committee_history.py``: a copper-like law plus 20 MPa noise, ``--qps``
  qps), committee_update's CPU seconds per step against the step index (mean of the 5 steps up to
  each ``--at``); with ``--compare-commit`` the same history on that commit's stages, side by side
  in one run, and whether the two wrote the same samples, records and answers.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
TOTAL_STRAIN = 0.02


def cheap_config(steps: int, committee: bool = False) -> dict:
    with open(REPO / "config" / "config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    cfg["run"]["steps"] = steps
    cfg["specimen"]["mesh"]["divisions"] = [1, 1, 1]
    length = cfg["specimen"]["mesh"]["size"][2]
    for bc in cfg["specimen"]["boundary_conditions"]:
        if bc["type"] == "displacement":
            bc["increment"] = [None, None, TOTAL_STRAIN * length / steps]
    cfg["md"].update(replicas=1, batches=1)
    copper = cfg["materials"]["copper"]
    copper["variables"]["cells"] = 2  # 2x2x2 fcc cells = 32 atoms
    copper.update(equilibration_steps=200, sampling_steps=50, stiffness_sampling_steps=100, min_deform_steps=10)
    copper.update(thermostat_damping_steps=40, barostat_damping_steps=40)  # equilibration >= 5 damping times
    cfg["clustering"].update(enabled=True, alpha=1e-4)
    cfg["committee"]["enabled"] = committee  # its training-set inputs are the other growing list
    return cfg


def snakemake(snakefile: Path, workdir: Path, cfg: dict, *args: str) -> tuple[float, float]:
    """Run Snakemake; return its wall time and the CPU time of Snakemake's own process.

    The jobs run in child processes, so the main process's CPU time is Snakemake's own work
    (parsing, DAG building, input functions, checkpoint re-evaluation, scheduling); it is read
    from /proc while the process runs, as wall time on a shared machine is mostly waiting.
    """
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    cmd = [str(SNAKEMAKE), "--snakefile", str(snakefile), "--directory", str(workdir), "--configfile", str(config)]
    t0 = time.perf_counter()
    with open(workdir / "snakemake.stderr", "w") as err:
        proc = subprocess.Popen([*cmd, "--cores", "2", *args], stdout=subprocess.DEVNULL, stderr=err)
        cpu = 0.0
        while proc.poll() is None:
            cpu = max(cpu, _cpu_seconds(proc.pid))
            time.sleep(0.2)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake {' '.join(args)} failed in {workdir}: see {workdir / 'snakemake.stderr'}")
    return elapsed, cpu


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def job_seconds(workdir: Path, stage: str = "") -> float:
    """Sum of the ``s`` column of the run's benchmark files (of one stage's when given)."""
    total = 0.0
    for tsv in (workdir / "benchmarks" / stage).rglob("*.tsv"):
        with open(tsv) as fh:
            total += sum(float(row["s"]) for row in csv.DictReader(fh, delimiter="\t"))
    return total


def materials(snakefile: Path, root: Path) -> Path:
    """Initialise the cheap copper once; every run directory gets a copy."""
    cache = root / "materials_cache"
    cache.mkdir(parents=True, exist_ok=True)
    snakemake(snakefile, cache, cheap_config(1), "results/materials/copper/material.nc")
    return cache / "results" / "materials"


def run_dir(root: Path, name: str, cache: Path) -> Path:
    workdir = root / name
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(cache, workdir / "results" / "materials")
    return workdir


def old_snakefile(rev: str, root: Path) -> Path:
    target = root / f"snapshot_{rev}"
    if not target.exists():
        target.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "Snakefile"


def audit_history(steps: int, root: Path) -> tuple[float, float]:
    """CPU seconds of ``summary.committee_variables`` over ``steps`` steps of 5 audits each,
    (recorded pair, refitted): training-sample and committee.nc files as the stages write them."""
    import numpy as np
    import xarray as xr

    sys.path.insert(0, str(REPO / "workflow"))
    import scema.committee.pass_fraction  # noqa: F401  (its scipy import is not a per-step cost)
    from scema.io.datasets import committee_record_dataset
    from scema.io.netcdf import write_dataset
    from scema.stages.summary import committee_variables

    rng, per_step, noise = np.random.default_rng(1), 5, np.full(6, 29e6)
    directory = root / f"audit_history_{steps}"
    directory.mkdir(parents=True, exist_ok=True)
    samples, records = [], []
    for t in range(steps):
        error = noise * rng.standard_normal((per_step, 6))
        ds = xr.Dataset(
            {
                "audited": ("sample", np.ones(per_step, np.int8)),
                "material": ("sample", np.zeros(per_step, np.int64)),
                "stress": (("sample", "component"), -error),
                "committee_stress": (("sample", "component"), np.zeros((per_step, 6))),
                "pooled_noise": (("sample", "component"), np.tile(noise, (per_step, 1))),
            }
        )
        samples.append(str(directory / f"samples_{t}.nc"))
        ds.to_netcdf(samples[-1])
        records.append(str(directory / f"committee_{t}.nc"))
        audit = {"run_pass_fraction": 0.5, "run_pass_fraction_lower": 0.4}  # timing only: any values
        write_dataset(
            committee_record_dataset(t + 1, ["copper"], [1], ["v1"], [5], [5], [1], [0], audit=audit),
            records[-1],
            "record",
        )
    seconds = []
    for drop in (False, True):
        if drop:  # as written before the run-wide pair was recorded
            for path in records:
                old = xr.load_dataset(path).drop_vars(
                    ["run_audit_pass_fraction_estimated", "run_audit_pass_fraction_lower"]
                )
                write_dataset(old, path, "record")
        start = time.process_time()
        committee_variables(records, samples, 30e6)
        seconds.append(time.process_time() - start)
    return seconds[0], seconds[1]


def committee_history_worker(workdir: Path, steps: int, qps: int) -> None:
    """Run the history on the stages of SCEMA_BENCH_CODE (default this checkout); print per step
    committee_update's CPU seconds and those of its run-wide audit pass fractions (the bootstrap
    over every audit so far, ``pass_fractions``) as JSON (the last line of stdout)."""
    import json

    code = Path(os.environ.get("SCEMA_BENCH_CODE", REPO))
    sys.path.insert(0, str(code / "workflow"))
    sys.path.insert(0, str(REPO / "tests"))
    import scema.stages.committee_update as stage
    from committee_history import run_history
    from scema.committee.settings import schema_defaults

    fractions, plain = [], stage.pass_fractions

    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return plain(*args, **kwargs)
        finally:
            fractions.append(time.process_time() - start)

    stage.pass_fractions = timed
    shutil.rmtree(workdir, ignore_errors=True)
    seconds = run_history(workdir, steps, {**schema_defaults(), "enabled": True}, n_qps=qps)
    print(json.dumps([seconds, fractions]))


def same_history(a: Path, b: Path, steps: int) -> str:
    """Do two histories agree? Samples and records bitwise but for round-off, answers to round-off."""
    import numpy as np
    import xarray as xr

    worst, decisions = 0.0, True
    for t in range(1, steps + 1):
        for name in (f"samples{t}.nc", f"record{t}.nc", f"query{t}.nc"):
            x, y = xr.load_dataset(a / name), xr.load_dataset(b / name)
            for v in x.data_vars:
                p, q = x[v].values, y[v].values
                if p.dtype.kind == "f":
                    scale = np.nanmax(np.abs(p)) if np.isfinite(p).any() else 1.0
                    gap = np.abs(np.nan_to_num(p) - np.nan_to_num(q)).max(initial=0.0)
                    worst = max(worst, float(gap / max(scale, 1e-300)))
                    decisions &= bool(np.array_equal(np.isnan(p), np.isnan(q)))
                elif v != "directory":
                    decisions &= bool(np.array_equal(p, q))
    return f"every decision, count and version {'the same' if decisions else 'DIFFERENT'}; floats within {worst:.1e} of their scale"


def committee_history(args, root: Path) -> None:
    import json

    import numpy as np

    codes = {"this": REPO}
    if args.compare_commit:
        codes[args.compare_commit] = old_snakefile(args.compare_commit, root).parent
    seconds = {}
    for name, code in codes.items():
        out = subprocess.run(
            [sys.executable, __file__, "--committee-history-worker", str(root / f"history_{name}")]
            + ["--steps", str(args.committee_history), "--qps", str(args.qps)],
            env={**os.environ, "SCEMA_BENCH_CODE": str(code)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        seconds[name] = json.loads(out.strip().splitlines()[-1])
    print(
        f"committee_update CPU s per step ({args.qps} qps, default committee; mean of the 5 steps up to"
        " each): all, and (in brackets) its run-wide audit pass fractions, a bootstrap over every audit so far"
    )
    print(f"{'step':>6} " + " ".join(f"{name:>20}" for name in codes) + ("   ratio" if len(codes) > 1 else ""))
    for at in [a for a in args.at if a <= args.committee_history]:
        window = slice(max(0, at - 5), at)
        means = [(np.mean(total[window]), np.mean(audits[window])) for total, audits in seconds.values()]
        ratio = f"   {means[1][0] / means[0][0]:5.2f}x" if len(means) > 1 else ""
        print(f"{at:>6} " + " ".join(f"{a:>11.3f} ({b:>6.3f})" for a, b in means) + ratio, flush=True)
    if args.compare_commit:
        print(same_history(root / "history_this", root / f"history_{args.compare_commit}", args.committee_history))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry", type=int, nargs="*", default=[10, 100, 500, 1000])
    parser.add_argument("--real", type=int, nargs="*", default=[10, 20])
    parser.add_argument("--compare-commit", help="also time the dry runs on this commit's Snakefile")
    parser.add_argument("--workdir", type=Path, help="keep run directories here (default: a temporary one)")
    parser.add_argument(
        "--committee", action="store_true", help="committee on (its training-set inputs; its audits in the summary)"
    )
    parser.add_argument("--audit-history", type=int, nargs="*", help="instead: the summary's audits, N steps each")
    parser.add_argument("--committee-history", type=int, help="instead: committee_update's CPU per step, N steps")
    parser.add_argument("--at", type=int, nargs="*", default=[10, 25, 50, 100], help="step indices to report")
    parser.add_argument("--qps", type=int, default=96, help="qps of the synthetic bar (--committee-history)")
    parser.add_argument("--committee-history-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.committee_history_worker:
        committee_history_worker(args.committee_history_worker, args.steps, args.qps)
        return
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench_steps_"))
    if args.committee_history:
        committee_history(args, root)
        return
    if args.audit_history:
        print("summary's committee part, CPU s per step: pass fraction read from committee.nc | refitted per step")
        for steps in args.audit_history:
            read, refit = audit_history(steps, root)
            print(f"{steps:>6} steps {read / steps:>8.4f} {refit / steps:>8.4f}", flush=True)
        return
    snakefiles = {"this": REPO / "Snakefile"}
    if args.compare_commit:
        snakefiles[args.compare_commit] = old_snakefile(args.compare_commit, root)
    cache = materials(snakefiles["this"], root)

    print(f"dry runs (snakemake -n, fresh run directory with initialised materials); root {root}")
    print("Snakemake's own CPU seconds (and per step), wall seconds")
    print(
        f"{'steps':>6} " + " ".join(f"{name + ' cpu':>14} {'/step':>7} {'wall':>7}" for name in snakefiles), flush=True
    )
    for steps in args.dry:
        cells = []
        for name, snakefile in snakefiles.items():
            wall, cpu = snakemake(
                snakefile,
                run_dir(root, f"dry_{name}_{steps}", cache),
                cheap_config(steps, args.committee),
                "-n",
                "--quiet",
            )
            cells.append(f"{cpu:>14.2f} {cpu / steps:>7.3f} {wall:>7.1f}")
        print(f"{steps:>6} " + " ".join(cells), flush=True)

    if args.real:
        print("real runs (--cores 2), per step: wall; Snakemake's own CPU; the jobs' own time (benchmark tsv)")
        print(
            f"{'steps':>6} {'wall s':>8} {'wall/step':>9} {'smk cpu/step':>12} {'jobs/step':>9} {'summary/step':>12}",
            flush=True,
        )
    for steps in args.real:
        workdir = run_dir(root, f"real_{steps}", cache)
        wall, cpu = snakemake(snakefiles["this"], workdir, cheap_config(steps, args.committee))
        jobs = job_seconds(workdir)  # material init ran in the cache directory, not here
        summary = job_seconds(workdir, "summary")
        print(
            f"{steps:>6} {wall:>8.1f} {wall / steps:>9.2f} {cpu / steps:>12.3f} {jobs / steps:>9.2f}"
            f" {summary / steps:>12.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
