"""Open loop: a law-centred committee run retrained with its second-order evidence factor floored (issue 8).

Per step t: the run's own samples of steps 1..t-1 train a committee about the 0 K law (``--law``)
as ``committee.zero_kelvin_law`` does, the evidence's second-order factor raised to at least each
``--floors`` value (1 = the 4 c guess; 0.125 = 0.5 c, the 0 K law's miss of 300 K MD along the
bar's path, ``zero_kelvin_law_path.py``); asked from the run's states at the run's strain (trusted of
96: what it would refuse) and at brute force's strain (error of the trusted answers, net of brute
force's noise). Closed loop differs: refused qps refresh their states. Runs no MD.

    .venv/bin/python tests/benchmarks/second_order_floor_replay.py RUN BRUTE --law LAW.nc --steps 3,4,...,30
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "workflow"))
sys.path.insert(0, str(HERE))

from bench_committee import run_material  # noqa: E402
from replay_audit_suspension import with_pooled_noise  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("brute", type=Path)
    ap.add_argument("--law", type=Path, required=True)
    ap.add_argument("--steps", default=",".join(str(t) for t in range(3, 31)))
    ap.add_argument("--floors", default="0,0.125,0.25")
    args = ap.parse_args()

    import xarray as xr
    import yaml

    import scema.committee.train as train
    from scema.committee import CommitteeSettings, train_committee
    from scema.committee.measured_prior import measured_scales
    from scema.committee.pass_fraction import estimate_pass_fraction
    from scema.committee.predict import Committee, decide
    from scema.committee.settings import schema_defaults
    from scema.io.netcdf import read_dataset
    from scema.stages.committee_query import query_inputs

    res = args.run / "results"
    committee = {**schema_defaults(), **yaml.safe_load((args.run / "config.yaml").read_text())["committee"]}
    settings, accuracy = CommitteeSettings.from_config(committee), committee["stress_accuracy_mpa"] * 1e6
    cfg, symmetry, stiffness = run_material(args.run)
    scales = measured_scales(read_dataset(res / "materials" / next(iter(cfg["materials"])) / "material.nc"), symmetry)
    measured = (*scales, None, read_dataset(args.law)["second_order"].values)
    samples = [ds for ds in with_pooled_noise(args.run) if ds.sizes["sample"]]
    evidence = train.moment_evidence_factors
    floors = [float(f) for f in args.floors.split(",")]
    totals = {f: ([], [], 0) for f in floors}
    steps = [int(s) for s in args.steps.split(",")]
    for t in steps:
        own = query_inputs(str(res / f"step_{t:04d}/strain.nc"), str(res / f"step_{t - 1:04d}/md_state.nc"))
        at_brute = query_inputs(
            str(args.brute / f"results/step_{t:04d}/strain.nc"), str(res / f"step_{t - 1:04d}/md_state.nc")
        )
        ref = read_dataset(args.brute / f"results/step_{t:04d}/stress.nc")
        noise = ref["stress_replica_std"].values / np.sqrt(cfg["md"]["replicas"])
        data = xr.concat([ds for ds in samples if int(ds["step_id"].values[0]) < t], dim="sample")
        line = f"step {t:2d}:"
        for f in floors:

            def floored(*a, f=f, **k):
                out = np.array(evidence(*a, **k), dtype=float)
                out[3] = max(out[3], f)
                return out

            train.moment_evidence_factors = floored
            with tempfile.TemporaryDirectory() as tmp:
                train_committee(
                    data["inputs"].values,
                    data["stress"].values,
                    settings,
                    Path(tmp) / "v",
                    noise=data["pooled_noise"].values,
                    stiffness=stiffness,
                    symmetric=True,
                    measured=measured,
                )
                model = Committee.load(Path(tmp) / "v")
                std = model.predict(own)[1]
                mean = model.predict(at_brute)[0]
            train.moment_evidence_factors = evidence
            trusted = decide(std, accuracy, model.trust_factor(committee["audit_tolerance"]))
            err, nz = (mean - ref["stress"].values)[trusted], noise[trusted]
            errs, noises, n = totals[f]
            totals[f] = (errs + [err], noises + [nz], n + int(trusted.sum()))
            net = np.sqrt(np.maximum(0.0, np.mean(err**2 - nz**2, axis=0))).max() / 1e6 if trusted.any() else np.nan
            line += f"   floor {f:g}: {trusted.sum():2d} trusted, net {net:4.1f}"
        print(line, flush=True)
    for f, (errs, noises, n) in totals.items():
        fit = estimate_pass_fraction(np.concatenate(errs), np.concatenate(noises), accuracy, noise_dof=96)
        print(
            f"floor {f:g}: trusted {n} of {96 * len(steps)} qp-steps; within {accuracy / 1e6:g} MPa {fit.estimate:.3f} (lower 95 % {fit.lower:.3f})"
        )


if __name__ == "__main__":
    main()
