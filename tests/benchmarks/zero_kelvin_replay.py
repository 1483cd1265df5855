"""Open loop: would a committee run have trusted more with its prior centred on the 0 K law? (issue 8)

Per step t asked: the run's own samples of steps 1..t-1 train a committee (version 0, the prior
alone, where the run still had no trained version) once centred on zero (as the run was, unless
it ran with ``zero_kelvin_law``) and once on the law of ``--law`` (a material_zero_kelvin file),
same scales; asked for every qp at step t's strain from the run's own states of step t-1 and
compared with brute force of the same seed: qps trusted, and the trusted answers' net rms error
(the worst component, net of the brute-force noise). Runs no MD. Closed loop differs: the states
the next steps start from follow the decisions.

    .venv/bin/python tests/benchmarks/zero_kelvin_replay.py RUN BRUTE --law LAW.nc --steps 2,4,6
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

from bench_committee import run_material  # noqa: E402
from replay_audit_suspension import with_pooled_noise  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("brute", type=Path)
    ap.add_argument("--law", type=Path, required=True)
    ap.add_argument("--steps", default="2,4,6")
    args = ap.parse_args()

    import xarray as xr

    from scema.committee import CommitteeSettings, train_committee
    from scema.committee.measured_prior import measured_scales, prior_version
    from scema.committee.predict import Committee, decide
    from scema.committee.settings import schema_defaults
    from scema.io.netcdf import read_dataset
    from scema.stages.committee_query import query_inputs

    results = args.run / "results"
    committee = {**schema_defaults(), **yaml.safe_load((args.run / "config.yaml").read_text())["committee"]}
    settings = CommitteeSettings.from_config(committee)
    accuracy = committee["stress_accuracy_mpa"] * 1e6
    cfg, symmetry, stiffness = run_material(args.run)
    name = next(iter(cfg["materials"]))
    scales = measured_scales(read_dataset(results / "materials" / name / "material.nc"), symmetry)
    law = read_dataset(args.law)["second_order"].values
    samples = [ds for ds in with_pooled_noise(args.run) if ds.sizes["sample"]]
    print(f"# {args.run.name} against {args.brute.name}: trusted of 96, net rms of the trusted answers (MPa)")
    for t in [int(s) for s in args.steps.split(",")]:
        version = int(read_dataset(results / f"step_{t:04d}/committee_query.nc")["version"].values[0])
        x = query_inputs(str(results / f"step_{t:04d}/strain.nc"), str(results / f"step_{t - 1:04d}/md_state.nc"))
        ref = read_dataset(args.brute / "results" / f"step_{t:04d}/stress.nc")
        noise = ref["stress_replica_std"].values / np.sqrt(cfg["md"]["replicas"])
        line = f"step {t:2d} (run used v{version}):"
        for label, measured in (("zero", scales), ("0 K law", (*scales, None, law))):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "v"
                if version == 0:
                    prior_version(stiffness, measured, settings, out, symmetric=True)
                else:
                    data = xr.concat([ds for ds in samples if int(ds["step_id"].values[0]) < t], dim="sample")
                    train_committee(
                        data["inputs"].values,
                        data["stress"].values,
                        settings,
                        out,
                        noise=data["pooled_noise"].values,
                        stiffness=stiffness,
                        symmetric=True,
                        measured=measured,
                    )
                model = Committee.load(out)
                mean, std = model.predict(x)
            trusted = decide(std, accuracy, model.trust_factor(committee["audit_tolerance"]))
            err, nz = (mean - ref["stress"].values)[trusted], noise[trusted]
            net = np.sqrt(np.maximum(0.0, np.mean(err**2 - nz**2, axis=0))).max() / 1e6 if trusted.any() else np.nan
            line += f"   {label}: {trusted.sum():3d} trusted, net {net:5.1f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
