"""Which prior group refuses, and what evidence-fitted group scales change (issue 8). Runs no MD.

Open-loop replay of a committee run (or a brute-force run, every qp at every step): per step t, a committee is trained on
the run's MD samples of steps 1..t-1 (as committee_update trains it, pooled noise recomputed when
the run predates it), once with the fixed physical prior and once per evidence margin
(``scema.committee.evidence``), and asked at step t for every qp's inputs (the strain of step t
from the state saved at step t-1). For the qps that ran MD at step t (a committee run: the ones it
refused or audited; brute force: all), the trusted answers are compared with that MD, net of the
pooled noise: sqrt(max(0, mean(err^2 - noise^2))) per component, the largest; the gate promises
|error| < accuracy for 90 % of trusted answers, i.e. a net rms below accuracy / 1.64 for Gaussian
errors. ``--groups``: the share of the posterior variance each group's diagonal block carries
(with the fixed prior; cross terms make the shares sum to more than 1) and the std left when that
group's prior is divided by 10 (what the group costs).

    .venv/bin/python tests/benchmarks/evidence_replay.py RUN --steps 3,5,6 [--margins fixed,0,0.5,1.92] [--groups]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_committee import run_material, step_samples  # noqa: E402
from replay_audit_suspension import with_pooled_noise  # noqa: E402

Z = 1.6448536269514722  # the gate's factor at audit_tolerance 0.1


def train(data, settings, stiffness, margin, tmp: Path, divide: tuple[int, float] | None = None):
    """A committee on ``data`` with the fixed prior (margin None) or evidence at ``margin``; ``divide``
    (group, factor): that group's fixed prior divided by the factor."""
    import scema.committee.evidence as evidence
    import scema.committee.train as train_module
    from scema.committee import train_committee
    from scema.committee.predict import Committee

    def fitted(*args, **kwargs):
        if divide is not None:
            factors = np.ones(4)
            factors[divide[0]] = 1.0 / divide[1]
            return factors
        gram_args = evidence.moment_group_equations(*args, **kwargs)
        return evidence.fit_group_factors(*gram_args, margin=margin)

    saved = train_module.moment_evidence_factors
    train_module.moment_evidence_factors = fitted
    try:
        settings = type(settings)(**{**settings.__dict__, "prior_evidence": margin is not None or divide is not None})
        info = train_committee(
            data["inputs"].values,
            data["stress"].values,
            settings,
            tmp / "v",
            noise=data["pooled_noise"].values,
            stiffness=stiffness,
            symmetric=True,
        )
    finally:
        train_module.moment_evidence_factors = saved
    return Committee.load(tmp / "v"), info["prior_factors"]


def brute_samples(run: Path) -> list:
    """Per step, every qp of a brute-force run as a training-samples dataset (inputs from the step
    before's saved state, as committee_query builds them; pooled noise: the step's rms)."""
    import xarray as xr

    data = step_samples(run)
    out = []
    for t in np.unique(data["step"]):
        s = data["step"] == t
        pooled = np.broadcast_to(np.sqrt(np.mean(data["noise"][s] ** 2, axis=0)), data["y"][s].shape)
        out.append(
            xr.Dataset(
                {
                    "inputs": (("sample", "feature"), data["x"][s]),
                    "stress": (("sample", "component"), data["y"][s]),
                    "pooled_noise": (("sample", "component"), pooled),
                }
            )
        )
    return out


def group_shares(model, x) -> np.ndarray:
    """(4,) median over qps of the largest component's share of the posterior variance carried by
    each group's diagonal block."""
    import torch

    from scema.committee.models import physical_regressors, regressor_groups

    net = model.members[0].net
    r = physical_regressors(torch.as_tensor(x), net.stiffness).numpy()
    cov = net.physical_cov.numpy()
    total = np.einsum("ni,cij,nj->nc", r, cov, r)
    worst = np.argmax(total, axis=1)
    out = []
    for g in range(4):
        s = regressor_groups() == g
        part = np.einsum("ni,cij,nj->nc", r[:, s], cov[:, s][:, :, s], r[:, s])
        out.append(np.median(part[np.arange(len(x)), worst] / total[np.arange(len(x)), worst]))
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--steps", default="3,5,6")
    ap.add_argument("--margins", default="fixed,0,0.5,1.92", help="fixed: today's prior; a number: evidence")
    ap.add_argument("--groups", action="store_true", help="variance shares and the cost of each group")
    args = ap.parse_args()

    from scema.committee import CommitteeSettings
    from scema.committee.predict import decide
    from scema.committee.settings import schema_defaults
    from scema.stages.committee_query import query_inputs

    with open(args.run / "config.yaml") as fh:
        committee = {**schema_defaults(), **yaml.safe_load(fh)["committee"]}
    settings = CommitteeSettings.from_config(committee)
    accuracy = float(committee["stress_accuracy_mpa"]) * 1e6
    stiffness = run_material(args.run)[2]
    brute = not any((args.run / "results").glob("step_*/training_samples.nc"))
    samples = brute_samples(args.run) if brute else with_pooled_noise(args.run)
    results = args.run / "results"
    margins = [None if m == "fixed" else float(m) for m in args.margins.split(",")]
    pooled = {m: ([], []) for m in margins}
    print(
        f"# {args.run}: accuracy {accuracy / 1e6:.0f} MPa, gate {Z:.2f} std; net: trusted answers vs MD, largest comp"
    )
    print("#  t  prior        factors (int, el, path, 2nd)   trusted/96   MD-asked: trusted  net MPa  std MPa")
    import xarray as xr

    for t in [int(s) for s in args.steps.split(",")]:
        data = xr.concat(samples[: t - 1], dim="sample")
        x_all = query_inputs(str(results / f"step_{t:04d}/strain.nc"), str(results / f"step_{t - 1:04d}/md_state.nc"))
        asked = samples[t - 1]
        x, y = asked["inputs"].values, asked["stress"].values
        noise = asked["pooled_noise"].values
        for margin in margins:
            with tempfile.TemporaryDirectory() as tmp:
                model, factors = train(data, settings, stiffness, margin, Path(tmp))
                factor = model.trust_factor(float(committee["audit_tolerance"]))
                _, std_all = model.predict(x_all)
                mean, std = model.predict(x)
                shares = group_shares(model, x) if args.groups and margin is None else None
            trusted = decide(std, accuracy, factor)
            err, nz = (mean - y)[trusted], noise[trusted]
            pooled[margin][0].append(err)
            pooled[margin][1].append(nz)
            net = np.sqrt(np.maximum(0.0, np.mean(err**2 - nz**2, axis=0))).max() / 1e6 if trusted.any() else np.nan
            rms_std = np.sqrt(np.mean(std[trusted] ** 2, axis=0)).max() / 1e6 if trusted.any() else np.nan
            name = "fixed" if margin is None else f"ev {margin:g}"
            fac = "-" if factors is None else " ".join(f"{f:5.3f}" for f in factors)
            print(
                f"{t:4d}  {name:8s} {fac:>28s}   {decide(std_all, accuracy, factor).sum():4d}/96"
                f"   {trusted.sum():4d}/{len(trusted):<4d} {net:7.1f}  {rms_std:7.1f}",
                flush=True,
            )
            if shares is not None:
                print(f"      variance share of the worst component (int, el, path, 2nd): {np.round(shares, 2)}")
                for g, label in enumerate(("intercept", "elastic", "path", "second")):
                    with tempfile.TemporaryDirectory() as tmp:
                        c, _ = train(data, settings, stiffness, None, Path(tmp), divide=(g, 10.0))
                        _, s = c.predict(x)
                    print(
                        f"      {label:9s} prior / 10: trusted {decide(s, accuracy, factor).sum():3d}/{len(x)}, "
                        f"median largest std {np.median(s.max(axis=1)) / 1e6:5.1f} MPa (fixed "
                        f"{np.median(std.max(axis=1)) / 1e6:5.1f})"
                    )
    print("# pooled over the steps: trusted answers of MD-asked qps, net rms per component (MPa)")
    for margin, (errs, nzs) in pooled.items():
        err, nz = np.concatenate(errs), np.concatenate(nzs)
        net = np.sqrt(np.maximum(0.0, np.mean(err**2 - nz**2, axis=0))) / 1e6 if len(err) else np.full(6, np.nan)
        print(f"#   {'fixed' if margin is None else f'ev {margin:g}':8s} n={len(err):4d}  {np.round(net, 1)}")


if __name__ == "__main__":
    main()
