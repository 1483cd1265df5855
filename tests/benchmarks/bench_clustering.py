"""Benchmark of the spline clustering of strain histories (not a pytest module).

    python tests/benchmarks/bench_clustering.py [--sizes 1000 10000 100000] [--alphas 0.003 0.01]
        [--metrics l1 l2] [--cases smooth uniform] [--no-memory]

Synthetic data: qps at random positions in a unit cube, 20 load steps, two materials (a
spherical inclusion of material 1). The strain history of a qp is a smooth spatial field
(strain amplitudes ~1e-2) times a load path whose shape also varies smoothly in space
(monotone ramp blending into load/partial-unload), plus 1e-5 noise per value; the "uniform"
case is one strain path for every qp (+1e-15 noise), where all qps of a material are
mutual neighbours. Wall times of the spline fit and of the clustering are measured
without tracing; the peak memory is the tracemalloc peak of a second, traced run
(numpy allocations included).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from scema.clustering import cluster, spline_signatures

N_STEPS = 20


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


def run(history, material, alpha, metric):
    t0 = time.perf_counter()
    signatures = spline_signatures(history)
    t1 = time.perf_counter()
    result = cluster(signatures, material, alpha, metric)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, result


def peak_mib(history, material, alpha, metric) -> float:
    tracemalloc.start()
    run(history, material, alpha, metric)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.003, 0.01], help="L1 thresholds (l2 uses alpha/3)")
    parser.add_argument("--metrics", nargs="+", default=["l1", "l2"])
    parser.add_argument("--cases", nargs="+", default=["smooth", "uniform"], choices=["smooth", "uniform"])
    parser.add_argument("--no-memory", action="store_true", help="skip the traced run")
    args = parser.parse_args()

    cases = []
    for n in args.sizes if "smooth" in args.cases else []:
        for alpha in args.alphas:
            for metric in args.metrics:
                cases.append(("smooth", n, alpha if metric == "l1" else alpha / 3, metric))
    if "uniform" in args.cases:
        cases.append(("uniform", max(args.sizes), 1e-4, "l1"))

    header = f"{'case':8} {'n_qp':>7} {'metric':>6} {'alpha':>7} {'spline s':>9} {'cluster s':>10} {'reps':>7} {'max size':>8} {'peak MiB':>9}"
    print(header)
    print("-" * len(header))
    for name, n, alpha, metric in cases:
        history, material = (smooth_histories if name == "smooth" else uniform_histories)(n)
        t_spline, t_cluster, result = run(history, material, alpha, metric)
        peak = float("nan") if args.no_memory else peak_mib(history, material, alpha, metric)
        print(
            f"{name:8} {n:>7} {metric:>6} {alpha:>7.4g} {t_spline:>9.3f} {t_cluster:>10.2f} "
            f"{result.n_clusters:>7} {int(result.cluster_size.max()):>8} {peak:>9.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
