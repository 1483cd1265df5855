"""Per-step account of the committee on the Cu-Zr glass bar (bench_acceleration.py --base-config
docs/results/cuzr_glass_committee_run_config.yaml): what each committee answered, how far its
answers were from MD, and whether a wrong answer was ever trusted.

Two checks of every trusted answer: the audits (the same state, fresh MD, in the run), and the
brute-force run of the same seed (same qp, same step, but its own box history): a trusted answer
further from brute force than the two brute-force seeds are from each other at that qp and step
(max over components, per qp) is flagged. Writes cuzr_glass_committee_steps.csv, the figure
cuzr_glass_committee.png and cuzr_glass_correction.csv (the correction target per brute-force
step: zero in the elastic range, not beyond yield) beside this file.

    PYTHONPATH=workflow .venv/bin/python docs/results/cuzr_glass_committee_report.py /tmp/glasscomm_bench
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
import yaml

HERE = Path(__file__).resolve().parent


def step_dirs(run: Path) -> list[Path]:
    return sorted(p for p in (run / "results").glob("step_*") if p.name != "step_0000" and (p / "reaction.nc").exists())


def reaction(step: Path, face: str) -> float:
    with xr.open_dataset(step / "reaction.nc") as ds:
        return float(ds["reaction_force"].sel(xyz="z", boundary=face))


def stress(step: Path) -> np.ndarray:
    with xr.open_dataset(step / "stress.nc") as ds:
        return ds["stress"].values


def committee_rows(run: Path, brute: list[Path], accuracy: float, face: str) -> list[dict]:
    from scema.io.datasets import DECISIONS

    rows = []
    for step in step_dirs(run):
        t = int(step.name.split("_")[1])
        b0, b1 = (b / "results" / step.name for b in (brute + brute)[:2])
        with xr.open_dataset(step / "committee_query.nc") as q, xr.open_dataset(step / "committee.nc") as rec:
            decision, spread = q["decision"].values, q["std"].values.max(axis=1) / 1e6
            version, accepted = int(rec["version"].max()), int(rec["accepted"].max())
            suspended = int(rec["suspended"].max())
        with xr.open_dataset(step / "training_samples.nc") as s:
            audited = s["audited"].values == 1
            err = np.abs(s["committee_stress"].values - s["stress"].values)[audited]
            noise = s["comparison_noise"].values[audited]
        net = np.sqrt(np.maximum(0.0, err**2 - noise**2)).max(axis=1) / 1e6 if err.size else np.array([])
        trusted = decision == DECISIONS["committee"]
        own, ref = stress(step), stress(b0)
        other = stress(b1) if len(brute) > 1 and (b1 / "reaction.nc").exists() else None
        to_brute = np.abs(own - ref).max(axis=1) / 1e6
        band = np.abs(other - ref).max(axis=1) / 1e6 if other is not None else np.full(own.shape[0], np.nan)
        rows.append(
            {
                "run": run.name,
                "step": t,
                "reaction_z_n": round(reaction(step, face), 1),
                "brute_reaction_z_n": round(reaction(b0, face), 1),
                "version": version,
                "accepted": accepted,
                "suspended_after": suspended,
                "md_qps": int((decision == DECISIONS["md"]).sum()),
                "trusted_qps": int(trusted.sum()),
                "audited_qps": int((decision == DECISIONS["audit"]).sum()),
                "spread_median_mpa": round(float(np.nanmedian(spread)), 1) if np.isfinite(spread).any() else "",
                "audit_error_max_mpa": round(float(err.max() / 1e6), 1) if err.size else "",
                "audit_noise_max_mpa": round(float(noise.max() / 1e6), 1) if err.size else "",
                "audit_net_error_max_mpa": round(float(net.max()), 1) if net.size else "",
                "audits_over_accuracy": int((net > accuracy).sum()),
                "trusted_to_brute_max_mpa": round(float(to_brute[trusted].max()), 1) if trusted.any() else "",
                "seed_band_median_mpa": round(float(np.nanmedian(band)), 1),
                "trusted_outside_band": int((to_brute[trusted] > band[trusted]).sum()) if trusted.any() else 0,
            }
        )
    return rows


def correction_rows(brute: Path) -> list[dict]:
    """What the ``correction`` target is on this material: per brute-force step (every box saved
    at the previous step), median over qps of sigma_t - sigma_{t-1} - C (eps_t - eps_{t-1}) (zz
    and largest component), beside C d eps and the MD noise of the replica mean (zz)."""
    from scema.symmetry import project

    with xr.open_dataset(brute / "results/materials/cuzr_glass/material.nc") as m:
        c = project(m["stiffness"].mean("replica").values, "isotropic")
    rows, prev_strain, prev_stress = [], None, None
    for step in step_dirs(brute):
        with xr.open_dataset(step / "stress.nc") as ds:
            strain, sigma = ds["strain"].values, ds["stress"].values
            noise = ds["stress_replica_std"].values[:, 2] / np.sqrt(2)
        if prev_strain is None:
            prev_strain, prev_stress = np.zeros_like(strain), np.zeros_like(sigma)
        elastic = (strain - prev_strain) @ c.T
        corr = sigma - prev_stress - elastic
        rows.append(
            {
                "step": int(step.name.split("_")[1]),
                "strain_zz_percent": round(float(np.median(strain[:, 2])) * 100, 3),
                "elastic_zz_mpa": round(float(np.median(elastic[:, 2])) / 1e6, 1),
                "stress_change_zz_mpa": round(float(np.median((sigma - prev_stress)[:, 2])) / 1e6, 1),
                "correction_zz_mpa": round(float(np.median(corr[:, 2])) / 1e6, 1),
                "correction_max_component_mpa": round(float(np.median(np.abs(corr).max(axis=1))) / 1e6, 1),
                "md_noise_zz_mpa": round(float(np.median(noise)) / 1e6, 1),
            }
        )
        prev_strain, prev_stress = strain, sigma
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main(root: Path) -> None:
    sys.path.insert(0, str(HERE.parents[1] / "workflow"))
    brute = sorted(root.glob("brute_seed*"))
    with open(brute[0] / "config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    face, accuracy = cfg["specimen"]["reaction_face"], 30.0
    runs = sorted(root.glob("committee_*"))
    rows = [r for run in runs for r in committee_rows(run, brute, accuracy, face)]
    write_csv(rows, HERE / "cuzr_glass_committee_steps.csv")
    write_csv(correction_rows(brute[0]), HERE / "cuzr_glass_correction.csv")
    length = cfg["specimen"]["mesh"]["size"][2]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = [*["k-", "k--"][: len(brute)], *["C0o-", "C1s-", "C2^-", "C3v-"][: len(runs)]]
    for run, style in zip(brute + runs, styles):
        steps = step_dirs(run)
        strain = [0.0] + [
            float(xr.open_dataset(s / "reaction.nc")["applied_displacement"].sel(xyz="z", boundary=face)) / length * 100
            for s in steps
        ]
        ax.plot(strain, [0.0] + [reaction(s, face) for s in steps], style, ms=4, label=run.name)
        if run.name.startswith("committee"):
            mine = [r for r in rows if r["run"] == run.name]
            bx.plot(
                [r["step"] for r in mine], [r["md_qps"] + r["audited_qps"] for r in mine], style, ms=4, label=run.name
            )
    ax.set_xlabel("applied strain zz (%)")
    ax.set_ylabel("reaction force z (N)")
    ax.set_title("Cu64Zr36 glass bar (256-atom boxes, 2 replicas)")
    ax.legend(fontsize=8)
    bx.axhline(16, color="k", lw=0.8, ls=":")
    bx.set_ylim(0, 17)
    bx.set_xlabel("step (1-16 loading by 0.5 %, 17-20 unloading by 2 %)")
    bx.set_ylabel("qps run by MD (of 16)")
    bx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(HERE / "cuzr_glass_committee.png", dpi=110)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
