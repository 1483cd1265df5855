"""Benchmark of the committee surrogate: mlp vs tann, training-set size, committee size.

Run as a script (not collected by pytest)::

    .venv/bin/python tests/benchmarks/bench_committee.py            # full (~10-20 min on 2 cores)
    .venv/bin/python tests/benchmarks/bench_committee.py --quick    # smoke run (~1-2 min)
    # the targets on the training samples of a finished committee run (real MD; ~1 min)
    .venv/bin/python tests/benchmarks/bench_committee.py --saved RUN_DIR --train-steps 6

Two synthetic path-independent laws (test data, not MD), cubic copper-like C (GPa 165/120/72):

* ``linear``:    sigma(eps) = C eps
* ``nonlinear``: sigma(eps) = C eps + K3 eps**3 (componentwise, K3 = 6.4e14 Pa: ~+10 % at eps=5e-3)

Samples: eps_{t-1} uniform in +-5e-3, d_eps in +-2e-3, sigma_{t-1} = sigma(eps_{t-1}), target
sigma(eps_{t-1} + d_eps). Held-out test set of 2000 samples from the same box, and an
out-of-distribution set with 10x larger strains. A committee of size k with seed s is exactly
the first k members of a larger one with the same seed (members depend on (s, i) only), so
committee sizes 2/4/8 are evaluated from one size-8 training.

Columns: rmse = committee-mean RMSE over all components and test samples (MPa); max_rmse =
worst component; std50 = median over samples of the largest component std (MPa); trust =
fraction with all component std < 30 MPa (``decide``); bad_trust = fraction trusted yet wrong
by more than 30 MPa in some component; ood_trust = trusted fraction out of distribution;
t/member = wall time per member (s).

``--saved RUN_DIR``: every target (deviation, correction, stress) trained on the MD samples of
steps <= ``--train-steps`` of a finished run (``results/step_*/training_samples.nc``, C from
``results/materials``), judged on the later steps' samples: RMSE against the MD labels and
their noise (MPa), the members' spread, the trusted fraction, and the trusted fraction when
the strain increments are made 5x larger (out of distribution).

``--next-step BRUTE_DIR``: the ridge committee trained on every qp of steps <= t of a
brute-force run and asked for step t+1 (the first extrapolation at t = 1): trusted share,
spread, error against the MD net of its noise, bias (issue 8: why step 2 ran all MD)::

    .venv/bin/python tests/benchmarks/bench_committee.py --next-step BRUTE_DIR --steps 1,2,3

``--next-step BRUTE_DIR --prior-sizes 4,8``: the same question per prior (coefficients independent
or tied as a cubic crystal ties them) and per spread (the std of 4 or 8 members, or the exact
posterior std), optionally trained on the MD samples a committee run really had (``--train-run
RUN_DIR``); see ``prior_study``::

    .venv/bin/python tests/benchmarks/bench_committee.py --next-step BRUTE_DIR --prior-sizes 4,8 \
        --steps 2,7 --train-run COMMITTEE_RUN_DIR

``--saved RUN_DIR --symmetry-cost``: what ``committee.symmetry`` (the cube's 24 images of every
sample) costs one member's training on that run's MD samples (all steps, or steps <=
``--train-steps``): CPU seconds, epochs and held-out RMSE against the MD labels, without images,
with all 24 in every epoch (how networks trained before), and with one random image of each
sample per epoch (how they train now; the ridge always fits all), per architecture (``--architectures``), on the member-0 recipe of ``train_committee``::

    flock /work/locks/short.lock .venv/bin/python tests/benchmarks/bench_committee.py \
        --saved RUN_DIR --symmetry-cost --architectures ridge mlp tann
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from scema.committee import Committee, decide, default_settings, features, train_committee
from scema.voigt import cubic_stiffness

ACCURACY = 30e6
K3 = 6.4e14


def cubic(c11=165e9, c12=120e9, c44=72e9) -> np.ndarray:
    return cubic_stiffness(c11, c12, c44)


C = cubic()
LAWS = {
    "linear": lambda e: e @ C.T,
    "nonlinear": lambda e: e @ C.T + K3 * e**3,
}


def dataset(law: str, n: int, seed: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    eps = rng.uniform(-5e-3, 5e-3, (n, 6)) * scale
    deps = rng.uniform(-2e-3, 2e-3, (n, 6)) * scale
    f = LAWS[law]
    return features(eps, f(eps), deps), f(eps + deps)


def evaluate(committee: Committee, x, y, x_ood) -> dict:
    mean, std = committee.predict(x)
    err = np.abs(mean - y)
    trusted = decide(std, ACCURACY)
    _, std_ood = committee.predict(x_ood)
    return {
        "rmse": np.sqrt(np.mean(err**2)) / 1e6,
        "max_rmse": np.sqrt(np.mean(err**2, axis=0)).max() / 1e6,
        "std50": np.median(std.max(axis=1)) / 1e6,
        "trust": trusted.mean(),
        "bad_trust": np.mean(trusted & (err.max(axis=1) > ACCURACY)),
        "ood_trust": decide(std_ood, ACCURACY).mean(),
    }


def saved_run(run_dir: Path, train_steps: int, size: int) -> None:
    """The three targets on one run's own MD samples (see the module doc)."""
    import xarray as xr
    import yaml

    from scema.stages.committee_update import material_data

    results = run_dir / "results"
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    names = list(cfg["materials"])
    files = {n: str(results / "materials" / n / "material.nc") for n in names}
    symmetries = {n: cfg["materials"][n].get("stiffness_symmetry", "none") for n in names}
    stiffness, _ = material_data(files, names, symmetries)
    paths = sorted(results.glob("step_*/training_samples.nc"))
    data = xr.concat([xr.open_dataset(p).load() for p in paths], dim="sample")
    data = data.isel(sample=np.flatnonzero(data["material"].values == 0))  # the first material
    step = data["step_id"].values
    x, y, label_noise = data["inputs"].values, data["stress"].values, data["noise"].values
    train, test = step <= train_steps, step > train_steps
    ood = x[test].copy()
    ood[:, 12:18] *= 5.0
    print(f"{run_dir}: {train.sum()} samples of steps <= {train_steps}, {test.sum()} later ones; material {names[0]}")
    print(f"label noise rms (MPa) {np.round(np.sqrt(np.mean(label_noise[test] ** 2, axis=0)) / 1e6, 1)}")
    print("target      rmse vs MD per component (MPa)           spread50  trusted  ood_trusted  best_epochs")
    with tempfile.TemporaryDirectory(prefix="bench_committee_saved_") as tmp:
        for target in ("deviation", "correction", "stress"):
            settings = default_settings(**{**cfg.get("committee", {}), "size": size, "target": target})
            summary = train_committee(
                x[train], y[train], settings, Path(tmp) / target, data["comparison_noise"].values[train], stiffness[0]
            )
            committee = Committee.load(Path(tmp) / target)
            mean, std = committee.predict(x[test])
            rmse = np.sqrt(np.mean((mean - y[test]) ** 2, axis=0)) / 1e6
            print(
                f"{target:<11} {np.array2string(np.round(rmse, 1)):<40} {np.median(std.max(axis=1)) / 1e6:8.1f}"
                f" {decide(std, ACCURACY).mean():8.3f} {decide(committee.predict(ood)[1], ACCURACY).mean():12.3f}"
                f"  {summary['best_epoch']}",
                flush=True,
            )


def saved_samples(run_dir: Path):
    """A finished run's config, its first material's stiffness (as the committee sees it) and all
    its training samples."""
    import xarray as xr
    import yaml

    from scema.stages.committee_update import material_data

    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    names = list(cfg["materials"])
    files = {n: str(run_dir / "results" / "materials" / n / "material.nc") for n in names}
    symmetries = {n: cfg["materials"][n].get("stiffness_symmetry", "none") for n in names}
    stiffness = material_data(files, names, symmetries)[0][0]
    paths = sorted((run_dir / "results").glob("step_*/training_samples.nc"))
    return cfg, stiffness, xr.concat([xr.open_dataset(p).load() for p in paths], dim="sample")


def symmetry_cost(run_dir: Path, architectures: list[str], train_steps: int | None) -> list[dict]:
    """CPU seconds of member 0's fit with and without the cubic images (see the module doc)."""

    from scema import seeds
    from scema.committee.data import learned_target, stress_from_learned
    from scema.committee.fit import fit_member, quiet_and_deterministic
    from scema.committee.predict import member_predict
    from scema.committee.symmetry import CUBIC, augment
    from scema.committee.train import member_seed, split_indices

    cfg, stiffness, data = saved_samples(run_dir)
    names = list(cfg["materials"])
    keep = data["material"].values == 0
    if train_steps is not None:
        keep &= data["step_id"].values <= train_steps
    x, y = data["inputs"].values[keep], data["stress"].values[keep]
    rows = []
    print(
        f"{run_dir}: {x.shape[0]} MD samples of material {names[0]}; one member, images off / all each epoch / one random image per sample each epoch (the default)"
    )
    print("architecture  images  train_samples  cpu_s   epochs  held-out rmse vs MD, largest component (MPa)")
    with tempfile.TemporaryDirectory(prefix="bench_committee_symmetry_") as tmp:
        for arch in architectures:
            settings = default_settings(**{**cfg.get("committee", {}), "architecture": arch})
            learned = learned_target(x, y, settings.target, stiffness)
            tr, val = split_indices(x.shape[0], settings.validation_fraction, settings.seed)
            seed = member_seed(settings.seed, 0)
            boot = tr[seeds.rng(seed, "bootstrap").integers(0, tr.size, size=tr.size)]
            for images in ("off", "all", "one"):
                x_b, l_b = augment(x[boot], learned[boot]) if images != "off" else (x[boot], learned[boot])
                with quiet_and_deterministic():  # imports Lightning before the clock starts
                    start = time.process_time()
                    net, scalers, info = fit_member(
                        x_b, l_b, x[val], learned[val], settings, seed, Path(tmp), len(CUBIC) if images == "one" else 1
                    )
                    cpu = time.process_time() - start
                pred = stress_from_learned(x[val], member_predict(net, scalers, x[val]), settings.target, stiffness)
                rmse = float(np.sqrt(np.mean((pred - y[val]) ** 2, axis=0)).max() / 1e6)
                rows.append({"arch": arch, "images": images, "n": x_b.shape[0], "cpu": cpu, "epochs": info["epochs"]})
                print(
                    f"{arch:<12}  {images:<6}  {x_b.shape[0]:13d}  {cpu:6.1f}  {info['epochs']:6d}  {rmse:6.1f}",
                    flush=True,
                )
    return rows


def step_samples(run_dir: Path) -> dict[str, np.ndarray]:
    """(inputs, stress, noise, step) of every qp at every step of a brute-force run, from its step
    files (inputs from the previous step's md_state.nc, as committee_query builds them)."""
    import xarray as xr

    from scema.stages.committee_query import box_inputs

    out = {"x": [], "y": [], "noise": [], "step": []}
    states = sorted((run_dir / "results").glob("step_*/md_state.nc"))
    for prev, now in zip(states[:-1], states[1:], strict=True):
        with xr.open_dataset(prev) as st, xr.open_dataset(now.parent / "strain.nc") as e:
            x = box_inputs(e["strain"].values, st["state_strain"].values, st["state_stress"].values)
        with xr.open_dataset(now.parent / "stress.nc") as s, xr.open_dataset(now) as st:
            replicas = st.sizes["replica"]
            out["x"].append(x)
            out["y"].append(s["stress"].values)
            out["noise"].append(s["stress_replica_std"].values / np.sqrt(replicas))
            out["step"].append(np.full(x.shape[0], int(s.attrs["step"])))
    return {k: np.concatenate(v) for k, v in out.items()}


def rolling(run_dir: Path, test_dir: Path, architectures: list[str], size: int, every: int, symmetric: bool) -> None:
    """Every ``every``-th step t: train on the run's samples of steps < t (what the committee had
    then), ask it for every qp of step t of the brute-force run ``test_dir`` (the next load step:
    strains it has not seen). Pooled over the steps: the trusted share, and for the trusted qps
    the mean error (bias) and sqrt(mean(err^2 - noise^2)) (own error net of the MD noise) per
    component, MPa."""

    cfg, stiffness, data = saved_samples(run_dir)
    step, x, y = data["step_id"].values, data["inputs"].values, data["stress"].values
    test = step_samples(test_dir)
    print(
        f"train: {run_dir} ({step.size} MD samples{', cubic images' if symmetric else ''}); test: every qp of "
        f"{test_dir}, every {every}th step"
    )
    print("architecture  trusted  bias of trusted (MPa)              net error of trusted (MPa)        spread50")
    with tempfile.TemporaryDirectory(prefix="bench_committee_rolling_") as tmp:
        for arch in architectures:
            settings = default_settings(**{**cfg.get("committee", {}), "size": size, "architecture": arch})
            err, noise, spread = [], [], []
            for t in range(3, int(step.max()) + 1, every):
                train = step < t
                out = Path(tmp) / f"{arch}_{t}"
                train_committee(
                    x[train], y[train], settings, out, data["comparison_noise"].values[train], stiffness, symmetric
                )
                q = test["step"] == t
                mean, std = Committee.load(out).predict(test["x"][q])
                err.append(mean - test["y"][q])
                noise.append(test["noise"][q])
                spread.append(std.max(axis=1))
            err, noise, spread = np.concatenate(err), np.concatenate(noise), np.concatenate(spread)
            ok = spread < ACCURACY
            net = np.sqrt(np.maximum(0.0, np.mean(err[ok] ** 2 - noise[ok] ** 2, axis=0))) / 1e6
            print(
                f"{arch:<12} {ok.mean():8.3f}  {np.array2string(np.round(err[ok].mean(axis=0) / 1e6, 0)):<34}"
                f" {np.array2string(np.round(net, 0)):<33} {np.median(spread) / 1e6:8.1f}",
                flush=True,
            )


def next_step(brute_dir: Path, steps: list[int], size: int, target: str) -> None:
    """Train on every qp of steps <= t of a brute-force run, ask for step t+1 (the next load
    level, each box's own history): per t the trusted share, the spread (median of the largest
    component), the committee mean's error against the MD net of its noise, sqrt(max(0,
    mean(err^2 - noise^2))), over all qps and over the trusted ones (largest component), and its
    bias (mean error, largest component), MPa."""
    cfg, symmetry, stiffness = run_material(brute_dir)
    data = step_samples(brute_dir)
    settings = default_settings(**{**cfg.get("committee", {}), "size": size, "target": target, "architecture": "ridge"})
    print(f"{brute_dir}: ridge size {size}, target {target}, cubic images: {symmetry in ('cubic', 'isotropic')}")
    print(" t   trusted  spread50  net_error_all  net_error_trusted  bias")
    with tempfile.TemporaryDirectory(prefix="bench_committee_next_") as tmp:
        for t in steps:
            train, q = data["step"] <= t, data["step"] == t + 1
            out = Path(tmp) / f"v{t}"
            symmetric = symmetry in ("cubic", "isotropic")
            train_committee(
                data["x"][train], data["y"][train], settings, out, data["noise"][train], stiffness, symmetric
            )
            mean, std = Committee.load(out).predict(data["x"][q])
            err, noise = mean - data["y"][q], data["noise"][q]
            ok = decide(std, ACCURACY)

            print(
                f"{t:2d}  {ok.mean():8.2f}  {np.median(std.max(axis=1)) / 1e6:8.1f}  {pooled_net(err, noise):13.1f}"
                f"  {pooled_net(err[ok], noise[ok]) if ok.any() else np.nan:17.1f}  {np.abs(err.mean(axis=0)).max() / 1e6:5.1f}",
                flush=True,
            )


def prior_study(brute_dir: Path, steps: list[int], sizes: list[int], target: str, run_dir: Path | None) -> None:
    """Why a step refuses, and what the cubic-tied prior and the exact posterior std change (issue
    8): per t, a committee trained on steps <= t is asked for every qp of step t + 1 of the
    brute-force run. Per prior (``indep``: every coefficient independent, as before; ``cubic``:
    tied as a cubic crystal ties them, ``equivariance``) and per spread: the std of the first k
    members (k in ``sizes``; members depend on (seed, i) only, so that is the committee of size
    k: k/2 antithetic pairs, k/2 degrees of freedom) and the exact posterior std (``exact``, what
    ``Committee.predict`` now gives): the trusted share and the error of the trusted answers
    against the MD net of its noise (pooled, largest component, MPa); last, the exact std's
    median per component. Training data: every qp of the brute-force run, or with ``run_dir``
    the MD samples a committee run really had (its training_samples.nc: the first step's qps,
    then audits and refusals)."""
    import scema.committee.train as train_module

    cfg, symmetry, stiffness = run_material(brute_dir)
    data = step_samples(brute_dir)
    train_data = data
    if run_dir is not None:
        saved = saved_samples(run_dir)[2]
        train_data = {
            "x": saved["inputs"].values,
            "y": saved["stress"].values,
            "noise": saved["comparison_noise"].values,
            "step": saved["step_id"].values,
        }
    settings = default_settings(
        **{**cfg.get("committee", {}), "size": max(sizes), "target": target, "architecture": "ridge"}
    )
    tied = train_module.equivariant_basis
    print(f"{brute_dir}: ridge, target {target}, trained on {run_dir or 'every qp'}")
    spreads = [f"k={k}" for k in sizes] + ["exact"]
    print(" t  prior  n_train  " + "  ".join(f"{s:>7} trust/net" for s in spreads) + "  exact std per component (MPa)")
    with tempfile.TemporaryDirectory(prefix="bench_committee_prior_") as tmp:
        for t in steps:
            train, q = train_data["step"] <= t, data["step"] == t + 1
            for prior in ("indep", "cubic"):
                train_module.equivariant_basis = tied if prior == "cubic" else (lambda: None)
                out = Path(tmp) / f"v{t}_{prior}"
                try:
                    args = (train_data[k][train] for k in ("x", "y"))
                    train_committee(*args, settings, out, train_data["noise"][train], stiffness, True)
                finally:
                    train_module.equivariant_basis = tied
                committee = Committee.load(out)
                mean, exact = committee.predict(data["x"][q])
                preds = committee.member_predictions(data["x"][q])
                err, noise = mean - data["y"][q], data["noise"][q]
                cells = []
                for std in [preds[:k].std(axis=0) for k in sizes] + [exact]:  # antithetic pairs: ddof 0
                    ok = decide(std, ACCURACY)
                    net = pooled_net(err[ok], noise[ok]) if ok.any() else np.nan
                    cells.append(f"{ok.mean():10.2f} {net:6.1f}")
                print(
                    f"{t:2d}  {prior:<5}  {int(train.sum()):7d}  " + "  ".join(cells) + "  "
                    f"{np.array2string(np.round(np.median(exact, axis=0) / 1e6, 1))}",
                    flush=True,
                )


def pooled_net(err: np.ndarray, noise: np.ndarray) -> float:
    """sqrt(max(0, mean(err^2 - noise^2))) per component, largest, MPa."""
    return float(np.sqrt(np.maximum(0.0, np.mean(err**2 - noise**2, axis=0))).max() / 1e6)


def run_material(run_dir: Path) -> tuple[dict, str, np.ndarray]:
    """A run's config, its (first) material's stiffness symmetry and homogenised stiffness."""
    from scema.stages.committee_update import material_data

    cfg = yaml_config(run_dir)
    name = next(iter(cfg["materials"]))
    symmetry = cfg["materials"][name].get("stiffness_symmetry", "none")
    material = str(run_dir / "results" / "materials" / name / "material.nc")
    return cfg, symmetry, material_data({name: material}, [name], {name: symmetry})[0][0]


def yaml_config(run_dir: Path) -> dict:
    import yaml

    return yaml.safe_load((run_dir / "config.yaml").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--saved", type=Path, default=None, help="a finished committee run directory")
    ap.add_argument(
        "--train-steps", type=int, default=None, help="--saved: train on steps <= this (6; all with --symmetry-cost)"
    )
    ap.add_argument("--size", type=int, default=4, help="--saved: committee size")
    ap.add_argument("--symmetry-cost", action="store_true", help="--saved: one member's fit, cubic images off/on")
    ap.add_argument("--rolling", type=Path, default=None, help="--saved: test each step on this brute-force run")
    ap.add_argument("--symmetric", action="store_true", help="--rolling: train on the cubic images too")
    ap.add_argument("--every", type=int, default=3, help="--rolling: every how many steps")
    ap.add_argument(
        "--next-step", type=Path, default=None, help="a brute-force run: train on steps <= t, ask for step t+1"
    )
    ap.add_argument("--steps", default="1,2,3,5,10,15,20,25,29", help="--next-step: the t's")
    ap.add_argument("--target", default="deviation", help="--next-step: committee target")
    ap.add_argument(
        "--prior-sizes",
        default=None,
        help="--next-step: the independent and the cubic-tied prior, spread of these many members and exact, e.g. 4,8",
    )
    ap.add_argument("--train-run", type=Path, default=None, help="--prior-sizes: train on this run's MD samples")
    ap.add_argument("--quick", action="store_true", help="tiny smoke run")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000], help="training-set sizes")
    ap.add_argument("--committee", type=int, nargs="+", default=[2, 4, 8], help="committee sizes (at the largest n)")
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--patience", type=int, default=20)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--laws", nargs="+", default=list(LAWS))
    ap.add_argument("--architectures", nargs="+", default=["mlp", "tann"])
    args = ap.parse_args()
    if args.next_step is not None and args.prior_sizes:
        steps = [int(t) for t in args.steps.split(",")]
        prior_study(args.next_step, steps, [int(k) for k in args.prior_sizes.split(",")], args.target, args.train_run)
        return
    if args.next_step is not None:
        next_step(args.next_step, [int(t) for t in args.steps.split(",")], args.size, args.target)
        return
    if args.saved is not None and args.rolling is not None:
        rolling(args.saved, args.rolling, args.architectures, args.size, args.every, args.symmetric)
        return
    if args.saved is not None and args.symmetry_cost:
        symmetry_cost(args.saved, args.architectures, args.train_steps)
        return
    if args.saved is not None:
        saved_run(args.saved, args.train_steps or 6, args.size)
        return
    if args.quick:
        args.sizes, args.committee, args.epochs = [100, 300], [2, 4], 30

    n_test = 2000
    big = max(args.committee)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_committee_") as tmp:
        for law in args.laws:
            x_test, y_test = dataset(law, n_test, seed=1000)
            x_ood, _ = dataset(law, 500, seed=2000, scale=10.0)
            for arch in args.architectures:
                for n in args.sizes:
                    x, y = dataset(law, n, seed=n)
                    size = big if n == max(args.sizes) else 4
                    settings = default_settings(
                        size=size,
                        architecture=arch,
                        width=args.width,
                        depth=args.depth,
                        target="stress",
                        max_epochs=args.epochs,
                        patience=args.patience,
                        learning_rate=args.lr,
                        seed=0,
                    )
                    out = Path(tmp) / f"{law}_{arch}_{n}"
                    t0 = time.perf_counter()
                    summary = train_committee(x, y, settings, out)
                    seconds = time.perf_counter() - t0
                    full = Committee.load(out)
                    ks = sorted({4, *args.committee}) if n == max(args.sizes) else [4]
                    for k in ks:
                        if k > full.size:
                            continue
                        sub = Committee(full.members[:k], full.architecture)
                        rows.append(
                            {
                                "law": law,
                                "arch": arch,
                                "n": n,
                                "k": k,
                                "epochs": float(np.mean(summary["epochs"][:k])),
                                "t/member": seconds / size,
                                **evaluate(sub, x_test, y_test, x_ood),
                            }
                        )
                        print(_fmt(rows[-1]) if len(rows) > 1 else _header() + "\n" + _fmt(rows[-1]), flush=True)

    print("\nSummary (committee size 4 vs training-set size):")
    print(_header())
    for r in rows:
        if r["k"] == 4:
            print(_fmt(r))
    print(f"\nSummary (committee size at n={max(args.sizes)}):")
    print(_header())
    for r in rows:
        if r["n"] == max(args.sizes):
            print(_fmt(r))


COLS = [
    ("law", "<", 9, "{}"),
    ("arch", "<", 5, "{}"),
    ("n", ">", 5, "{}"),
    ("k", ">", 2, "{}"),
    ("epochs", ">", 6, "{:.0f}"),
    ("rmse", ">", 7, "{:.2f}"),
    ("max_rmse", ">", 8, "{:.2f}"),
    ("std50", ">", 6, "{:.2f}"),
    ("trust", ">", 6, "{:.3f}"),
    ("bad_trust", ">", 9, "{:.3f}"),
    ("ood_trust", ">", 9, "{:.3f}"),
    ("t/member", ">", 8, "{:.1f}"),
]


def _header() -> str:
    return " ".join(f"{name:{align}{width}}" for name, align, width, _ in COLS)


def _fmt(r: dict) -> str:
    return " ".join(f"{fmt.format(r[name]):{align}{width}}" for name, align, width, fmt in COLS)


if __name__ == "__main__":
    main()
