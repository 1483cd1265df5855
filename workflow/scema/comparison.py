"""Side-by-side comparison of accelerated runs with brute force, judged against MD noise.

Why a band and not a tolerance: MD is noisy, so two brute-force runs that differ only in
``run.seed`` already disagree. An accelerated run is as good as brute force when its
difference from the reference run is inside that seed-to-seed band; the ratio
``difference / band`` says how far outside it is.

Inputs are finished run directories (each with ``results/summary.nc`` and the per-step
``stress.nc``): ``reference`` (brute force), ``band`` (brute force, another seed) and any
number of accelerated modes. Output: one NetCDF dataset over ``mode`` (and ``step``), also
written as CSV.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from scema.io.atomic import atomic_path
from scema.io.datasets import comparison_dataset
from scema.io.netcdf import read_dataset, write_dataset

REFERENCE, BAND = "brute_force", "brute_force_seed2"
SOURCE_MD = 0  # the CF flag value of an MD-computed qp stress (scema.io.datasets.SOURCE_FLAGS)


def loaded_component(reaction: np.ndarray) -> int:
    """The xyz component carrying the load: the largest peak reaction of the reference run."""
    return int(np.nanargmax(np.nanmax(np.abs(reaction), axis=0)))


def curve_difference(curve: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(max, RMS) of |curve - reference| over the common steps, relative to the reference peak."""
    n = min(curve.size, reference.size)
    diff = np.abs(curve[:n] - reference[:n])
    peak = float(np.max(np.abs(reference[:n])))
    return float(diff.max() / peak), float(np.sqrt(np.mean(diff**2)) / peak)


def stress_difference(run: Path, reference: Path, steps: np.ndarray) -> tuple[float, float]:
    """(RMS, max) over steps and qps of |sigma_run - sigma_reference| (largest component), Pa."""
    errors = []
    for step in steps:
        a = read_dataset(run / "results" / f"step_{int(step):04d}" / "stress.nc")["stress"].values
        b = read_dataset(reference / "results" / f"step_{int(step):04d}" / "stress.nc")["stress"].values
        errors.append(np.max(np.abs(a - b), axis=1))
    err = np.concatenate(errors)
    return float(np.sqrt(np.mean(err**2))), float(err.max())


def not_md_fraction(run: Path, steps: np.ndarray) -> float:
    """Share of qp stresses over all steps that did not come from the qp's own MD."""
    sources = [read_dataset(run / "results" / f"step_{int(s):04d}" / "stress.nc")["source"].values for s in steps]
    return float(np.mean(np.concatenate(sources) != SOURCE_MD))


def compare(runs: Mapping[str, str | Path]) -> xr.Dataset:
    """Compare every run in ``runs`` (mode -> run directory) with ``runs['brute_force']``.

    ``runs['brute_force_seed2']`` (brute force with another ``run.seed``) gives the noise band.
    """
    for needed in (REFERENCE, BAND):
        if needed not in runs:
            raise KeyError(f"comparison needs a '{needed}' run (got {sorted(runs)})")
    dirs = {mode: Path(path) for mode, path in runs.items()}
    summaries = {mode: read_dataset(d / "results" / "summary.nc") for mode, d in dirs.items()}
    ref = summaries[REFERENCE]
    comp = loaded_component(ref["reaction_force"].values)
    ref_curve = ref["reaction_force"].values[:, comp]
    steps = ref["step"].values
    band_max, band_rms = curve_difference(summaries[BAND]["reaction_force"].values[:, comp], ref_curve)
    band_stress_rms, band_stress_max = stress_difference(dirs[BAND], dirs[REFERENCE], steps)
    modes = list(runs)
    n_ref = float(ref["md_updates"].sum())
    rows = {
        key: [] for key in ("updates", "ratio", "curve_max", "curve_rms", "stress_rms", "stress_max", "not_md", "wall")
    }
    per_step = np.full((len(modes), steps.size), np.nan)
    stages = ref["stage"].values
    wall_stage = np.full((len(modes), stages.size), np.nan)
    for i, mode in enumerate(modes):
        s = summaries[mode]
        n = min(s.sizes["step"], steps.size)
        updates = s["md_updates"].values[:n]
        per_step[i, :n] = updates
        rows["updates"].append(float(updates.sum()))
        rows["ratio"].append(n_ref / max(float(updates.sum()), 1.0))
        cmax, crms = curve_difference(s["reaction_force"].values[:, comp], ref_curve)
        rows["curve_max"].append(cmax)
        rows["curve_rms"].append(crms)
        srms, smax = stress_difference(dirs[mode], dirs[REFERENCE], steps[:n])
        rows["stress_rms"].append(srms)
        rows["stress_max"].append(smax)
        rows["not_md"].append(not_md_fraction(dirs[mode], steps[:n]))
        stage_names = list(s["stage"].values)
        wall_stage[i] = [float(s["wall_time"].sel(stage=st).sum()) if st in stage_names else np.nan for st in stages]
        rows["wall"].append(float(s["wall_time"].sum()))
    rows["curve_max_over_band"] = np.array(rows["curve_max"]) / max(band_max, 1e-300)
    band = {
        "reaction_max": band_max,
        "reaction_rms": band_rms,
        "stress_rms": band_stress_rms,
        "stress_max": band_stress_max,
    }
    return comparison_dataset(REFERENCE, modes, steps, stages, rows, per_step, wall_stage, comp, band)


CSV_COLUMNS = (
    "md_updates",
    "speedup",
    "reaction_max_difference",
    "reaction_rms_difference",
    "reaction_max_difference_over_band",
    "stress_rms_difference",
    "stress_max_difference",
    "not_md_fraction",
    "wall_time",
)


def write_comparison(ds: xr.Dataset, out_nc: str | Path, out_csv: str | Path) -> None:
    """The comparison as NetCDF (CF metadata) and as a CSV table, one row per mode."""
    write_dataset(ds, out_nc, "comparison of accelerated runs with brute force")
    with atomic_path(out_csv) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["mode", *CSV_COLUMNS])
        for i, mode in enumerate(ds["mode"].values):
            writer.writerow(
                [
                    mode.decode() if isinstance(mode, bytes) else str(mode),
                    *(f"{float(ds[c].values[i]):.6g}" for c in CSV_COLUMNS),
                ]
            )
