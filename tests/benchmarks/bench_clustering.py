"""Benchmark of the spline clustering of strain histories, side by side (not a pytest module).

    python tests/benchmarks/bench_clustering.py [--sizes 1000 10000 100000]
        [--regimes sparse middle dense] [--metrics l1 l2] [--timeout 300] [--previous REV]

For every size, metric and regime, on the same signatures, each in its own process (CPU
and wall time of the clustering only, peak resident memory of the process, a wall timeout;
ratios are of CPU time, which a shared machine distorts far less than wall time):

* ``new``: :func:`scema.clustering.cluster` of this tree;
* ``previous``: the same function at commit ``--previous`` (default 1bc9121: the bound heap
  alone, before stored lists for sparse fields; df4eb5e: the exact neighbour graph built in
  dense blocks), loaded from git history (``git show``), not shipped in the package;
* ``all-pairs``: SCEMa's path: all pairwise distances, then the greedy recounting every
  degree among the remaining qps at every choice (only where its N x N matrices fit).

and whether the representatives are identical to ``new``'s.

Regimes (20-step histories, 2 materials): ``sparse`` and ``middle`` are a smooth strain
field over a unit cube (amplitudes ~1e-2, load paths blending ramp and load/unload, 1e-5
noise) at l1 alpha 3e-3 / 1e-2 (l2: alpha / 3): tens and ~1,000 (l1) or ~3,400 (l2)
neighbours per qp; ``dense`` is one strain path for every qp (+1e-15 noise) at alpha 1e-4:
every qp of a material is a neighbour of every other.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

from scema.clustering import cluster, spline_signatures

REPO = Path(__file__).resolve().parents[2]
N_STEPS = 20
ALPHA = {"sparse": 3e-3, "middle": 1e-2, "dense": 1e-4}  # l1; l2 uses alpha / 3 on the smooth field
ALL_PAIRS_MAX = 20000  # N x N bool adjacency (400 MB) and distance chunks


def smooth_histories(n_qp: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n_qp, 3))
    material = (np.linalg.norm(x - 0.5, axis=1) < 0.25).astype(np.int64)
    amplitude = 1e-2 * np.stack(
        [
            1.0 + 0.5 * np.sin(2 * x[:, 0] + x[:, 1]),
            -0.3 + 0.4 * np.cos(3 * x[:, 1]),
            -0.3 + 0.5 * x[:, 2] ** 2,
            0.3 * np.sin(4 * x[:, 0] * x[:, 2]),
            0.2 * x[:, 1],
            0.1 * np.cos(5 * x[:, 0]),
        ],
        axis=1,
    )
    amplitude[material == 1] *= 0.6  # stiffer inclusion strains less
    t = np.linspace(0.0, 1.0, N_STEPS)[:, None, None]
    unload = x[None, :, 0:1]  # 0: monotone ramp, 1: load to the peak then partial unload
    path = (1 - unload) * t + unload * np.where(t < 0.7, t / 0.7, 1.0 - (t - 0.7))
    history = path * amplitude[None] + 1e-5 * rng.standard_normal((N_STEPS, n_qp, 6))
    return history, material


def uniform_histories(n_qp: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, N_STEPS)[:, None, None]
    history = t * np.array([1e-2, -3e-3, -3e-3, 0.0, 0.0, 2e-3])[None, None, :]
    history = np.broadcast_to(history, (N_STEPS, n_qp, 6)) + 1e-15 * rng.standard_normal((N_STEPS, n_qp, 6))
    return history, (np.arange(n_qp) % 2).astype(np.int64)


def case(regime: str, n: int, metric: str) -> tuple[np.ndarray, np.ndarray, float]:
    history, material = (uniform_histories if regime == "dense" else smooth_histories)(n)
    alpha = ALPHA[regime] / (3.0 if metric == "l2" and regime != "dense" else 1.0)
    return spline_signatures(history), material, alpha


def all_pairs(signatures: np.ndarray, material: np.ndarray, alpha: float, metric: str) -> np.ndarray:
    """SCEMa's path: every pair compared, every degree recounted among the remaining qps at every choice."""
    n = len(signatures)
    adjacent = np.zeros((n, n), dtype=bool)
    for start in range(0, n, 1000):
        d = cdist(signatures[start : start + 1000], signatures, "cityblock" if metric == "l1" else "euclidean")
        adjacent[start : start + 1000] = (d < alpha) & (material[start : start + 1000, None] == material[None, :])
    np.fill_diagonal(adjacent, False)
    representative = np.arange(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        degree = adjacent[:, active].sum(axis=1)
        degree[~active] = -1
        node = int(np.argmax(degree))  # first maximum: lowest index
        members = np.flatnonzero(adjacent[node] & active)
        representative[members] = node
        active[members] = False
        active[node] = False
    return representative


def previous_cluster(rev: str):
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{rev}:workflow/scema/clustering.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="previous_clustering_")) / "previous_clustering.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("previous_clustering", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cluster


def one(args) -> None:
    """Child process: run one method on one case, save the representatives, print a JSON line."""
    signatures, material, alpha = case(args.regime, args.n, args.metric)
    t0, c0 = time.perf_counter(), time.process_time()
    if args.method == "new":
        rep = cluster(signatures, material, alpha, args.metric).representative
    elif args.method == "previous":
        rep = previous_cluster(args.previous)(signatures, material, alpha, args.metric).representative
    else:
        rep = all_pairs(signatures, material, alpha, args.metric)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    np.save(args.out, rep)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu, "peak_mib": usage.ru_maxrss / 1024, "reps": int(np.unique(rep).size)}
        )
    )


def run_one(regime, n, metric, method, args, out, timeout=None) -> dict | None:
    cmd = [sys.executable, __file__, "--one", "--regime", regime, "--n", str(n), "--metric", metric]
    cmd += ["--method", method, "--out", str(out), "--previous", args.previous]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout or args.timeout)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        raise RuntimeError(f"{method} {regime} {n} {metric} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--regimes", nargs="+", default=["sparse", "middle", "dense"], choices=list(ALPHA))
    parser.add_argument("--metrics", nargs="+", default=["l1", "l2"])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per method and case")
    parser.add_argument("--all-pairs-timeout", type=float, default=60.0, help="seconds for SCEMa's all-pairs path")
    parser.add_argument("--previous", default="1bc9121", help="git revision of the previous implementation")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--regime", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--metric", help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args)
        return

    work = Path(tempfile.mkdtemp(prefix="bench_clustering_"))
    fmt = "{:7} {:>6} {:>3} {:>7} | {:>7} {:>7} {:>6} {:>5} | {:>8} {:>7} {:>4} {:>6} | {:>9} {:>7} {:>4} {:>6}"
    print("CPU seconds of each method's process, one after the other on the same signatures (ratio = other / new);")
    print("new's wall seconds too (on a loaded machine far above its CPU time); peak resident MiB of each process;")
    print("timeouts are on wall time")
    print(
        fmt.format(
            "regime",
            "n_qp",
            "m",
            "alpha",
            "new cpu",
            "wall",
            "MiB",
            "reps",
            "prev cpu",
            "ratio",
            "same",
            "MiB",
            "allpair",
            "ratio",
            "same",
            "MiB",
        )
    )
    print("-" * 126)
    for n in args.sizes:
        for regime in args.regimes:
            for metric in args.metrics:
                alpha = ALPHA[regime] / (3.0 if metric == "l2" and regime != "dense" else 1.0)
                new = run_one(regime, n, metric, "new", args, work / "new.npy")
                cells = []
                for method in ("previous", "all-pairs"):
                    if method == "all-pairs" and n > ALL_PAIRS_MAX:
                        cells += ["-", "-", "-", "-"]
                        continue
                    limit = args.all_pairs_timeout if method == "all-pairs" else args.timeout
                    result = run_one(regime, n, metric, method, args, work / f"{method}.npy", limit)
                    if result is None:
                        cells += [f">{limit:.0f}", "-", "-", "-"]
                        continue
                    same = new is not None and np.array_equal(
                        np.load(work / "new.npy"), np.load(work / f"{method}.npy")
                    )
                    ratio = f"{result['cpu'] / max(new['cpu'], 1e-3):.1f}x" if new else "-"
                    cells += [f"{result['cpu']:.2f}", ratio, "yes" if same else "NO", f"{result['peak_mib']:.0f}"]
                new_cells = (
                    [f"{new['cpu']:.2f}", f"{new['seconds']:.2f}", f"{new['peak_mib']:.0f}", str(new["reps"])]
                    if new
                    else [f">{args.timeout:.0f}", "-", "-", "-"]
                )
                print(fmt.format(regime, n, metric, f"{alpha:.2g}", *new_cells, *cells), flush=True)


if __name__ == "__main__":
    main()
