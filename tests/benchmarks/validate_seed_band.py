"""What sets the seed band of a brute-force run: split its MD noise into a part common to every qp
(each replica's reference-stress error, subtracted from all its updates) and a per-qp part (the
sampling noise of one update window), then predict how far apart two runs that differ only in
`run.seed` land, and what a longer reference window, longer sampling or more replicas buy.

Reads one finished brute-force run (no MD is run): per step, the difference between the two
replicas' stress at each qp (same strain, different boxes) has a per-qp scatter (sampling noise)
and a mean (reference errors + scatter / sqrt(n)); the reference standard errors come from
material.nc. The model: per run and step, error of the reaction's stress = mean of the
replicas' reference errors (constant over steps) + per-qp noise / sqrt(replicas x face qps) (new
each step); the gap of two runs is the largest |difference| over the steps, as a share of the
peak. How many qps the reaction averages over depends on its estimator (reaction.nc's
``reaction_estimator``): with weights a_q (what a unit stress at qp q adds to the reaction), iid
noise averages as over n_eff = (sum a)^2 / sum a^2 qps. The face sum (estimator "face", all runs
before the lifted reaction) reads the one layer of cells touching the face: on the default bar
a third of the 96 qps, its sampling noise sqrt(3) larger than that of the mean over all qps
(checked to 1e-13 N at every step). The lifted reaction weights the qps by eps(W), W the FE's
elastic lifting: on a bar nearly uniform, n_eff close to 96. The model prints both; a run's
internal_force.nc gives n_eff, older runs fall back to those two box-bar rules. The model
counts only the loaded component's noise: the lifted reaction's lateral weights also cancel
most of the pressure noise and of the reference errors, so for it the model is conservative.
``--pair OTHER_RUN``: also the measured gap of the two runs' reaction forces.

    .venv/bin/python tests/benchmarks/validate_seed_band.py RUN_DIR [--material copper] [--pair RUN2]

Measured 2026-11-28 on the default copper bar (96 qps, 2 replicas of 500 atoms, seed 777):
replica difference per qp 52-65 MPa (zz; 41 MPa per replica and window), its mean over qps
-8 to +1 MPa (no coherent part beyond the reference errors); reference SE zz 4.2 / 4.7 MPa;
peak mean stress 724 MPa. Model (face sum, 32 qps): median gap 1.75 % of peak; lifted (96
qps, pressure cancellation ignored): 1.16 %. Measured pairs (seeds 12345/777,
``reaction_seed_gap.py``): face sum 2.39 / 1.97 % (24,000 reference steps, two code versions)
and 2.56 % (96,000); elastic lifting 0.46 / 0.44 % and 0.86 %; see CHANGELOG "Reaction read
through an elastic lifting".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

from scema.io.netcdf import read_dataset  # noqa: E402

MPA = 1e6


def replica_differences(run: Path, component: int) -> list[np.ndarray]:
    """Per step: stress(replica 0) - stress(replica 1) at each qp (MPa), from the MD batch files."""
    out = []
    for step_dir in sorted(run.glob("results/step_*")):
        files = sorted(step_dir.glob("md/batch_*.nc"))
        if not files:
            continue
        rows = [read_dataset(f) for f in files]
        qp = np.concatenate([d["qp_id"].values for d in rows])
        replica = np.concatenate([d["replica_id"].values for d in rows])
        stress = np.concatenate([d["stress"].values[:, component] for d in rows]) / MPA
        table = np.full((qp.max() + 1, replica.max() + 1), np.nan)
        table[qp, replica] = stress
        out.append(table[:, 0] - table[:, 1])
    return out


def box_face_qps(run: Path, qps: int) -> int:
    """qps the face sum reads on a box mesh without internal_force.nc: one layer of cells."""
    with open(run / "config.yaml") as fh:
        specimen = yaml.safe_load(fh)["specimen"]
    face, mesh = str(specimen.get("reaction_face", "")), specimen["mesh"]
    if mesh.get("type") == "box" and face in {f"{a}{e}" for a in "xyz" for e in ("min", "max")}:
        return qps // int(mesh["divisions"]["xyz".index(face[0])])
    return qps


def effective_qps(run: Path, qps: int, component: int) -> dict[str, float]:
    """n_eff = (sum a)^2 / sum a^2 of each estimator's weights a on the loaded stress component
    (see above); the lifted one's lateral weights, which cancel pressure noise, are left out."""
    path = run / "results/internal_force.nc"
    ops = read_dataset(path) if path.exists() else None
    if ops is None or "lifting_displacement" not in ops:
        return {"face": box_face_qps(run, qps), "lifted": qps}
    with open(run / "config.yaml") as fh:
        face = yaml.safe_load(fh)["specimen"]["reaction_face"]
    g = ops["shape_gradient"].values[..., component]  # the loaded (normal) component's axis
    cell_nodes = ops["cell_nodes"].values
    nodes = cell_nodes[np.arange(len(g)) // (len(g) // len(cell_nodes))]
    weights = {
        "face": ops["boundary_nodes"].sel(boundary=face).values.astype(float),
        "lifted": ops["lifting_displacement"].sel(boundary=face).values[component, :, component],
    }
    out = {}
    for name, w in weights.items():
        a = (w[nodes] * g).sum(axis=1)
        out[name] = float(a.sum() ** 2 / (a**2).sum())
    return out


def measured_gap(run: Path, other: Path, component: int) -> None:
    """The largest reaction-force difference of two runs, % of the larger peak."""
    a, b = (read_dataset(r / "results/summary.nc")["reaction_force"].values[:, component] for r in (run, other))
    peak = max(np.nanmax(np.abs(a)), np.nanmax(np.abs(b)))
    gaps = np.abs(a - b) / peak * 100
    print(f"reaction {run}: {np.round(a, 1).tolist()} N")
    print(f"reaction {other}: {np.round(b, 1).tolist()} N")
    print(
        f"measured: difference per step {np.round(gaps, 2).tolist()} % of peak {peak:.1f} N; "
        f"largest {np.max(gaps):.2f} % (step {int(np.argmax(gaps)) + 1})"
    )


def gap_model(common: float, per_step: float, peak: float, steps: int, n: int = 200_000) -> np.ndarray:
    """Samples of the largest |difference| over ``steps`` between two runs, % of ``peak``."""
    rng = np.random.default_rng(0)
    c = rng.normal(0.0, common * np.sqrt(2), (n, 1))
    s = rng.normal(0.0, per_step * np.sqrt(2), (n, steps))
    return np.abs(c + s).max(axis=1) / peak * 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--material", default="copper")
    parser.add_argument("--component", type=int, default=2, help="Voigt index of the loaded component")
    parser.add_argument("--pair", type=Path, default=None, help="a run that differs only in run.seed")
    args = parser.parse_args()

    material = read_dataset(args.run / f"results/materials/{args.material}/material.nc")
    se = material["reference_stress_standard_error"].values[:, args.component] / MPA
    replicas = len(se)
    diffs = replica_differences(args.run, args.component)
    qps = len(diffs[0])
    for k, d in enumerate(diffs, start=1):
        print(f"step {k}: replica difference per qp {np.nanstd(d, ddof=1):.1f} MPa, mean {np.nanmean(d):+.1f} MPa")
    per_qp = float(np.mean([np.nanstd(d, ddof=1) for d in diffs])) / np.sqrt(2)  # one replica, one window
    common = float(np.sqrt(np.sum(se**2))) / replicas
    n_eff = effective_qps(args.run, qps, args.component)
    peak = max(
        abs(float(read_dataset(p)["stress"].values[:, args.component].mean())) / MPA
        for p in args.run.glob("results/step_*/stress.nc")
    )
    steps = len(diffs)
    print(
        f"per replica and window {per_qp:.1f} MPa; per run: reference {common:.2f} MPa; peak mean stress {peak:.0f} MPa"
    )
    for estimator, n in n_eff.items():
        per_step = per_qp / np.sqrt(replicas * n)
        print(
            f"reaction estimator {estimator}: averages over {n:.1f} of {qps} qps, sampling {per_step:.2f} MPa per run"
        )
        options = {
            "as run": (common, per_step),
            "reference window x4": (common / 2, per_step),
            "sampling window x2": (common, per_step / np.sqrt(2)),
            "replicas x2": (common / np.sqrt(2), per_step / np.sqrt(2)),
            "sampling window x4": (common, per_step / 2),
            "replicas x4": (common / 2, per_step / 2),
        }
        for name, (c, s) in options.items():
            g = gap_model(c, s, peak, steps)
            print(
                f"  {name:22s} median gap {np.median(g):.2f} %, 90th percentile {np.percentile(g, 90):.2f} %, "
                f"P(< 1.5 %) {np.mean(g < 1.5):.2f}"
            )
    if args.pair is not None:
        measured_gap(args.run, args.pair, args.component)


if __name__ == "__main__":
    main()
