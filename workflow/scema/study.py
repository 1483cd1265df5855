"""The table of a parameter study: per point, what it cost, what it saved and how accurate it was.

Why on top of the comparison: a study point is an accelerated mode like any other, judged the
same way (MD updates and reaction-force difference against brute force and its seed band,
``scema.comparison.compare``). The study adds the parameter values and what the committee
learnt from: the training-set size (the MD data used) and how often it was accepted and trusted,
read from each run's last ``committee.nc`` records.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from scema.comparison import BAND, REFERENCE, compare
from scema.io.atomic import atomic_path
from scema.io.datasets import study_dataset
from scema.io.netcdf import read_dataset, write_dataset

COMPARED = (
    "md_updates",
    "speedup",
    "reaction_max_difference",
    "reaction_rms_difference",
    "reaction_max_difference_over_band",
    "stress_rms_difference",
    "not_md_fraction",
    "wall_time",
)


def committee_usage(run: Path, steps: np.ndarray) -> tuple[float, float, float]:
    """(training samples at the last step, share of step records accepted, trusted / queried).

    Over all materials; NaN where the run has no committee records (committee off) or the
    committee was never queried.
    """
    records = [run / "results" / f"step_{int(s):04d}" / "committee.nc" for s in steps]
    if not all(p.is_file() for p in records):
        return np.nan, np.nan, np.nan
    recs = [read_dataset(p) for p in records]
    samples = float(recs[-1]["n_samples"].sum())
    accepted = float(np.mean(np.concatenate([r["accepted"].values for r in recs])))
    queried = sum(float(r["n_queried"].sum()) for r in recs)
    trusted = sum(float(r["n_trusted"].sum()) for r in recs)
    return samples, accepted, (trusted / queried if queried else np.nan)


def study_table(runs: Mapping[str, str | Path], points: Mapping[str, Mapping[str, object]]) -> xr.Dataset:
    """One row per study point (``points``: name -> {dotted parameter: value}).

    ``runs`` maps ``brute_force``, ``brute_force_seed2`` and every point name to its finished run
    directory.
    """
    names = list(points)
    comp = compare({REFERENCE: runs[REFERENCE], BAND: runs[BAND], **{p: runs[p] for p in names}})
    modes = [m.decode() if isinstance(m, bytes) else str(m) for m in comp["mode"].values]
    rows = [modes.index(p) for p in names]
    steps = comp["step"].values
    compared = {c: (comp[c].values[rows], comp[c].attrs) for c in COMPARED}
    brute_force_updates = float(comp["md_updates"].values[modes.index(REFERENCE)])
    saved = 1.0 - comp["md_updates"].values[rows] / max(brute_force_updates, 1.0)
    usage = np.array([committee_usage(Path(runs[p]), steps) for p in names]).reshape(len(names), 3)
    parameters = {
        parameter: np.array([points[p][parameter] for p in names], dtype=float)
        for parameter in next(iter(points.values()))
    }
    carried = {k: v for k, v in comp.attrs.items() if k.startswith("band_") or k == "loaded_component"}
    return study_dataset(names, compared, saved, usage, parameters, carried, brute_force_updates)


def write_study(ds: xr.Dataset, out_nc: str | Path, out_csv: str | Path) -> None:
    """The study as NetCDF (CF metadata) and as a CSV table, one row per point."""
    write_dataset(ds, out_nc, "parameter study of the accelerated runs against brute force")
    columns = [p.replace(".", "_") for p in ds.attrs["parameters"].split()]
    columns += [v for v in ds.data_vars if v not in columns]
    with atomic_path(out_csv) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["point", *columns])
        for i, point in enumerate(ds["point"].values):
            name = point.decode() if isinstance(point, bytes) else str(point)
            writer.writerow([name, *(f"{float(ds[c].values[i]):.6g}" for c in columns)])
