"""Could any committee target be trusted on the glass bar? A replay on brute-force MD, no new MD.

For each target (deviation, correction, stress) and step t >= 2: a committee (main's defaults:
ridge, size 4, accuracy 30 MPa) is trained on every qp's MD sample of steps 1..t-1 of a
brute-force run (inputs from each box's own saved state, as in a run), then asked at step t.
Reported per step: the share of qps its spread would trust, the median spread, and its error
against that step's MD, raw and net of the MD noise (replica std / sqrt(2), with the anchor's for
correction). This is the committee's best case (a real run loses the samples of trusted qps).

    PYTHONPATH=workflow .venv/bin/python docs/results/cuzr_glass_committee_replay.py /tmp/glasscomm_bench/brute_seed2026
Writes cuzr_glass_committee_replay.csv beside this file.
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

HERE = Path(__file__).resolve().parent


def samples(run: Path, t: int):
    """(inputs, stress, label noise, anchor noise) of every qp at step t of a brute-force run."""
    from scema.stages.committee_query import query_inputs

    step, prev = run / f"results/step_{t:04d}", run / f"results/step_{t - 1:04d}"
    with xr.open_dataset(step / "stress.nc") as s, xr.open_dataset(prev / "md_state.nc") as st:
        stress, label = s["stress"].values, s["stress_replica_std"].values / np.sqrt(2)
        state = st["state_stress"].values
    anchor = state.std(axis=1, ddof=1) / np.sqrt(state.shape[1])
    return query_inputs(str(step / "strain.nc"), str(prev / "md_state.nc")), stress, label, anchor


def main(run: Path) -> None:
    sys.path.insert(0, str(HERE.parents[1] / "workflow"))
    from scema.committee import Committee, default_settings, net_error, train_committee
    from scema.committee.noise import comparison_noise
    from scema.symmetry import project

    with xr.open_dataset(run / "results/materials/cuzr_glass/material.nc") as m:
        c = project(m["stiffness"].mean("replica").values, "isotropic")
    steps = len(list((run / "results").glob("step_*/reaction.nc")))
    data = {t: samples(run, t) for t in range(1, steps + 1)}
    rows = []
    for target in ("deviation", "correction", "stress"):
        settings = default_settings(size=4, target=target)
        for t in range(2, steps + 1):
            x = np.concatenate([data[k][0] for k in range(1, t)])
            y = np.concatenate([data[k][1] for k in range(1, t)])
            noise = np.concatenate([comparison_noise(data[k][2], data[k][3], target) for k in range(1, t)])
            with tempfile.TemporaryDirectory() as tmp:
                train_committee(x, y, settings, Path(tmp) / "v", noise=noise, stiffness=c)
                mean, std = Committee.load(Path(tmp) / "v").predict(data[t][0])
            spread = std.max(axis=1)
            err = np.abs(mean - data[t][1])
            net = net_error(err, comparison_noise(data[t][2], data[t][3], target)).max(axis=1)
            rows.append(
                {
                    "target": target,
                    "step": t,
                    "trusted_share": round(float(np.mean(spread < 30e6)), 3),
                    "spread_median_mpa": round(float(np.median(spread)) / 1e6, 1),
                    "error_median_mpa": round(float(np.median(err.max(axis=1))) / 1e6, 1),
                    "error_zz_median_mpa": round(float(np.median(err[:, 2])) / 1e6, 1),
                    "net_error_median_mpa": round(float(np.median(net)) / 1e6, 1),
                    "noise_zz_median_mpa": round(
                        float(np.median(comparison_noise(data[t][2], data[t][3], target)[:, 2])) / 1e6, 1
                    ),
                }
            )
            print(rows[-1], flush=True)
    with open(HERE / "cuzr_glass_committee_replay.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
