"""Where does a default run's time go that is not MD? (not a pytest module)

    python tests/benchmarks/bench_orchestration.py [--compare-commit REV] [--repeats N]
        [--workdir DIR] [--analyse DIR ...]

Runs ``snakemake --cores 2`` with config/config.yaml in a fresh scratch directory (this
checkout, and with ``--compare-commit`` the Snakefile of an earlier commit, alternating, so
both see the same machine load) and breaks the run down from its own records:

* per rule: jobs, summed wall seconds (benchmark ``s``) and CPU seconds (``cpu_time``);
* Snakemake's own CPU seconds (its main process, read from /proc while it runs: parsing,
  DAG building, checkpoint re-evaluation, scheduling);
* non-MD wall share: the part of the run's wall time during which no MD job (material_init,
  md_batch) was running; job intervals come from each benchmark file's mtime (job end) minus
  its ``s``. On a shared machine CPU seconds are the steadier figure, so both are printed;
* non-MD CPU share: 1 - (MD jobs' CPU) / (CPU of Snakemake and all its jobs, from rusage).
  Each job's CPU is exact: the benchmark files' ``cpu_time`` is sampled (every 0.5 s, then every
  30 s), so it misses the end of every job, tens of seconds of a long MD batch. Instead the
  increase of Snakemake's reaped-children CPU (/proc stat cutime + cstime) is attributed to
  the child that ended, whose rule is read from its script's name (``tmp*.RULE.py``: every
  rule's script here is ``scripts/RULE.py``).

``--materials DIR`` copies initialised materials (``results/materials`` of an earlier run), so
material_init (MD, once per material) does not run and the per-step workflow is what is timed.

``--imports`` times each rule's start-up and end: a fresh interpreter importing Snakemake's script
module and the rule's stage module, then exiting three ways: the interpreter's teardown, no
teardown (``os._exit``), and ``scema.job_exit.exit_job`` (atexit handlers, PETSc/MPI finalize,
flushes, no teardown), median CPU seconds of 3.
The run breakdown also prints the seconds with no job running (Snakemake's start, its gaps
between jobs, its exit).
``--analyse DIR`` prints the breakdown of finished run directories (Snakemake CPU unknown).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_steps import old_snakefile  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "workflow"))
from scema.parallel import SINGLETON_MPI  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
MD_RULES = {"material_replica", "material_init", "md_batch"}  # material_init: the MD job before it was split


def run(snakefile: Path, workdir: Path, materials: Path | None = None) -> tuple[float, float, float, dict]:
    """A default run in ``workdir``: wall seconds, Snakemake's own CPU seconds, CPU seconds of all,
    CPU seconds per rule (:class:`JobCpu`).

    All = Snakemake and every job (rusage of the whole waited-for process tree: exact, unlike
    the benchmark files' sampled ``cpu_time``, which misses the end of every job).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if materials is not None:  # initialised materials of an earlier run: material_init does not run
        shutil.copytree(materials, workdir / "results" / "materials")
        now = time.time()
        for path in (workdir / "results" / "materials").rglob("*"):
            os.utime(path, (now, now))  # newer than the templates: up to date; none newer than another
    config = snakefile.parent / "config" / "config.yaml"
    cmd = [str(SNAKEMAKE), "--snakefile", str(snakefile), "--directory", str(workdir)]
    cmd += ["--configfile", str(config), "--cores", "2", "--quiet"]
    started, t0 = time.time(), time.perf_counter()
    with open(workdir / "snakemake.stderr", "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=workdir)
        tracker = JobCpu(proc.pid)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tracker.poll()
            time.sleep(0.1)
    wall = time.perf_counter() - t0
    (workdir / "bench_span.txt").write_text(f"{started} {started + wall}\n")  # epoch s: run start, end
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"snakemake failed in {workdir}: see {workdir / 'snakemake.stderr'}")
    return wall, tracker.own, usage.ru_utime + usage.ru_stime, dict(tracker.per_rule)


SCRIPT = re.compile(r"\.snakemake/scripts/tmp\w+\.(\w+)\.py")


def _proc_stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU s, CPU s of its reaped children) of a live process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


class JobCpu:
    """Exact CPU seconds per rule of a running Snakemake (``poll`` it often, e.g. every 0.1 s).

    A job's processes end as one child of Snakemake's main process; when it is reaped, its whole
    CPU (it waited for its own children) is added to Snakemake's cutime + cstime. The increase
    seen between two polls goes to the children that ended in between (split by their last seen
    CPU if several did); their rule is the script name of a descendant seen while they ran.
    Increases with no known child (Snakemake's own short helpers) count as Snakemake's.
    """

    def __init__(self, pid: int):
        self.pid = pid
        self.main = 0.0  # Snakemake's main process
        self.helpers = 0.0  # reaped children never seen running
        self.per_rule: dict[str, float] = defaultdict(float)
        self.children: dict[int, list] = {}  # pid -> [rule or None, last seen CPU of its tree]
        self.reaped = 0.0

    def poll(self) -> None:
        stats = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = _proc_stat(int(entry.name))
                if stat is not None:
                    stats[int(entry.name)] = stat
        main = stats.get(self.pid)
        if main is None:
            return
        self.main = max(self.main, main[1])
        live = {pid for pid, (ppid, _cpu, _c) in stats.items() if ppid == self.pid}
        for child in live:
            self.children.setdefault(child, [None, 0.0])
        tree = defaultdict(list)
        for pid, (ppid, _cpu, _c) in stats.items():
            tree[ppid].append(pid)
        for child in live:
            record, stack = self.children[child], [child]
            total = 0.0
            while stack:
                pid = stack.pop()
                total += stats[pid][1] + stats[pid][2]
                stack.extend(tree.get(pid, []))
                if record[0] is None:
                    match = _script_rule(pid)
                    record[0] = match or record[0]
            record[1] = max(record[1], total)
        gained, self.reaped = main[2] - self.reaped, main[2]
        ended = [c for c in self.children if c not in live]
        weight = sum(self.children[c][1] for c in ended)
        for child in ended:
            rule, last = self.children.pop(child)
            share = gained * (last / weight if weight > 0 else 1.0 / len(ended))
            if rule is not None or share >= 0.05:  # below that: a helper's rounding, not a job
                self.per_rule[rule or "(unknown child)"] += share
        if not ended:
            self.helpers += gained

    @property
    def own(self) -> float:
        """Snakemake's own CPU seconds: its main process and the helpers it ran itself."""
        return self.main + self.helpers


def _script_rule(pid: int) -> str | None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    match = SCRIPT.search(cmdline)
    return match.group(1) if match else None


def jobs(workdir: Path) -> list[tuple[str, float, float, float]]:
    """(rule, start, end, cpu seconds) of every job, from its benchmark file."""
    rows = []
    for tsv in sorted((workdir / "benchmarks").rglob("*.tsv")):
        with open(tsv) as fh:
            record = next(csv.DictReader(fh, delimiter="\t"))
        end = tsv.stat().st_mtime
        rows.append((tsv.parent.name, end - float(record["s"]), end, float(record["cpu_time"])))
    return rows


def covered(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def breakdown(
    workdir: Path,
    wall: float | None,
    smk_cpu: float | None,
    all_cpu: float | None = None,
    exact: dict[str, float] | None = None,
) -> dict:
    """``exact``: CPU seconds per rule from :class:`JobCpu` (else the sampled benchmark files')."""
    rows = jobs(workdir)
    first = min(r[1] for r in rows)
    last = max(r[2] for r in rows)
    span = wall if wall is not None else last - first
    per_rule: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for rule, start, end, cpu in rows:
        per_rule[rule][0] += 1
        per_rule[rule][1] += end - start
        per_rule[rule][2] += cpu if exact is None else 0.0
    for rule, cpu in (exact or {}).items():
        per_rule[rule][2] += cpu
    md_intervals = [(s, e) for rule, s, e, _ in rows if rule in MD_RULES]
    md_wall = covered(md_intervals)
    any_job = covered([(s, e) for _rule, s, e, _cpu in rows])
    span_file = workdir / "bench_span.txt"
    run_start, run_end = map(float, span_file.read_text().split()) if span_file.exists() else (first, last)
    # where the non-MD wall time lies: before the first MD job (Snakemake's start-up, the first
    # FE), between MD jobs (each step's hand-over), after the last (last aggregation, summary)
    before = min(s for s, _e in md_intervals) - run_start
    after = run_end - max(e for _s, e in md_intervals)
    md_cpu = sum(cpu for rule, (_n, _w, cpu) in per_rule.items() if rule in MD_RULES)
    if all_cpu is None:
        other_cpu = sum(cpu for rule, (_n, _w, cpu) in per_rule.items() if rule not in MD_RULES) + (smk_cpu or 0.0)
    else:  # exact total minus the MD jobs
        other_cpu = all_cpu - md_cpu
    return {
        "rules": dict(per_rule),
        "wall": span,
        "smk_cpu": smk_cpu,
        "non_md_wall_share": 1.0 - md_wall / span,
        "non_md_before": before,
        "non_md_between": span - md_wall - before - after,
        "non_md_after": after,
        "no_job": span - any_job,
        "non_md_cpu_share": other_cpu / (other_cpu + md_cpu),
        "md_cpu": md_cpu,
        "other_cpu": other_cpu,
        "all_cpu": all_cpu,
    }


def report(results: dict[str, list[dict]]) -> None:
    names = list(results)
    rules = sorted({rule for runs in results.values() for r in runs for rule in r["rules"]})

    def med(values):
        values = sorted(v for v in values if v is not None)
        return values[len(values) // 2] if values else float("nan")

    print(f"{'':28}" + "".join(f"{name:>26}" for name in names))
    print(
        f"{'rule (jobs): wall s / cpu s':28}"
        + "".join(f"{'(median of ' + str(len(results[n])) + ')':>26}" for n in names)
    )
    for rule in rules:
        cells = []
        for name in names:
            runs = [r["rules"].get(rule, [0, 0.0, 0.0]) for r in results[name]]
            jobs_n = runs[0][0]
            cells.append(f"({jobs_n:>3}) {med([x[1] for x in runs]):>8.1f} / {med([x[2] for x in runs]):>7.1f}")
        print(f"{rule:28}" + "".join(f"{c:>26}" for c in cells))
    for key, label, fmt in [
        ("smk_cpu", "snakemake own cpu s", "{:>26.1f}"),
        ("wall", "run wall s", "{:>26.1f}"),
        ("all_cpu", "all cpu s (rusage)", "{:>26.1f}"),
        ("md_cpu", "MD jobs cpu s", "{:>26.1f}"),
        ("other_cpu", "non-MD cpu s (+snakemake)", "{:>26.1f}"),
        ("non_md_cpu_share", "non-MD share of CPU", "{:>26.1%}"),
        ("non_md_wall_share", "non-MD share of wall", "{:>26.1%}"),
        ("non_md_before", "  non-MD s before 1st MD", "{:>26.1f}"),
        ("non_md_between", "  non-MD s between MD jobs", "{:>26.1f}"),
        ("non_md_after", "  non-MD s after last MD", "{:>26.1f}"),
        ("no_job", "s with no job running", "{:>26.1f}"),
    ]:
        print(f"{label:28}" + "".join(fmt.format(med([r[key] for r in results[n]])) for n in names))


# what each rule's script imports before its stage runs (Snakemake's script preamble, then the stage)
STAGE_MODULES = {
    "initial_state": "scema.stages.initial_state, scema.fe.dolfinx_backend",
    "fe_step": "scema.stages.fe_step, scema.stages.schedule, scema.fe.dolfinx_backend",
    "md_batch": "scema.stages.md_batch",
    "aggregate_stress": "scema.stages.aggregate, scema.stages.reaction",
    "summary": "scema.stages.summary, scema.plots",
    "paraview_fields": "scema.stages.fields, scema.fe.dolfinx_backend",
    "cluster": "scema.stages.cluster",
}


JOB_EXIT = "from scema.job_exit import exit_job; exit_job()"


def import_seconds(module: str, repeats: int = 3, end: str = "") -> float:
    """Median CPU seconds of a fresh interpreter importing Snakemake's script module and ``module``,
    then running ``end`` (e.g. ``import os; os._exit(0)``: no teardown)."""
    code = f"import snakemake.script, {module}\n{end}"
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow"), **SINGLETON_MPI}
    times = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-commit", help="also run the Snakefile of this commit, alternating")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="keep run directories here (default: a temporary one)")
    parser.add_argument("--materials", type=Path, help="copy these initialised materials (results/materials)")
    parser.add_argument("--imports", action="store_true", help="only time each rule's start-up and imports")
    parser.add_argument("--analyse", type=Path, nargs="*", help="only analyse these finished run directories")
    args = parser.parse_args()
    if args.imports:
        quick = "import os; os._exit(0)"
        print("CPU s of a fresh interpreter importing snakemake.script and a rule's modules, then exiting")
        print(f"{'':36} {'teardown':>9} {'os._exit':>9} {'exit_job':>9}")
        bare = import_seconds("sys")
        print(f"{'bare interpreter + snakemake.script':36} {bare:9.2f} {import_seconds('sys', end=quick):9.2f}")
        for rule, module in STAGE_MODULES.items():
            cells = [import_seconds(module, end=end) for end in ("", quick, JOB_EXIT)]
            print(f"{rule:36}" + "".join(f"{c:9.2f}" for c in cells), flush=True)
        return
    if args.analyse:
        report({str(d): [breakdown(d, None, None)] for d in args.analyse})
        return
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench_orchestration_"))
    snakefiles = {"this": REPO / "Snakefile"}
    if args.compare_commit:
        snakefiles = {args.compare_commit: old_snakefile(args.compare_commit, root), **snakefiles}
    results: dict[str, list[dict]] = {name: [] for name in snakefiles}
    for repeat in range(args.repeats):
        for name, snakefile in snakefiles.items():
            workdir = root / f"run_{name}_{repeat}"
            wall, cpu, all_cpu, exact = run(snakefile, workdir, args.materials)
            results[name].append(breakdown(workdir, wall, cpu, all_cpu, exact))
            print(f"{name} repeat {repeat}: wall {wall:.1f} s, snakemake cpu {cpu:.1f} s ({workdir})", flush=True)
    report(results)


if __name__ == "__main__":
    main()
