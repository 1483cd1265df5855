"""The committee record ``committee.nc``: the state the committee stages hand each other.

Per material the current version, whether it is accepted (held-out error net of the MD noise
below the accuracy) and suspended (audits failed), sample counts, and the step's audit errors.
The query stage reads the previous step's record; the update stage writes this step's.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from scema.io.netcdf import read_dataset, write_dataset

STATISTICS = ("median", "p90", "max")
UNIT = {"units": "1"}


def material_coord(names: list[str]) -> dict:
    return {
        "material": (
            "material",
            np.arange(len(names), dtype=np.int64),
            {
                "long_name": "material index",
                "units": "1",
                "flag_values": np.arange(len(names), dtype=np.int64),
                "flag_meanings": " ".join(names),
            },
        )
    }


def record_dataset(
    step: int,
    names: list[str],
    version,
    directory,
    n_samples,
    n_at_training,
    accepted,
    suspended,
    counts: dict | None = None,
    audit: dict | None = None,
) -> xr.Dataset:
    """Per-material committee record of a step (see module doc)."""
    n = len(names)
    counts = counts or {k: np.zeros(n, np.int64) for k in ("queried", "trusted", "audited")}
    audit = audit or {
        "error": np.full((n, 3), np.nan),
        "net_error": np.full((n, 3), np.nan),
        "failed_fraction": np.full(n, np.nan),
    }
    dims = ("material",)
    stat = ("material", "statistic")
    ds = xr.Dataset(
        {
            "version": (
                dims,
                np.asarray(version, np.int64),
                {"long_name": "current committee version (0: none trained)", **UNIT},
            ),
            "directory": (
                dims,
                np.asarray(directory, dtype=object),
                {"long_name": "directory of the current version", **UNIT},
            ),
            "n_samples": (dims, np.asarray(n_samples, np.int64), {"long_name": "MD training samples so far", **UNIT}),
            "n_samples_at_training": (
                dims,
                np.asarray(n_at_training, np.int64),
                {"long_name": "training samples when the current version was trained", **UNIT},
            ),
            "accepted": (
                dims,
                np.asarray(accepted, np.int8),
                {
                    "long_name": "1 if the current version's held-out error net of MD noise is below the accuracy",
                    **UNIT,
                },
            ),
            "suspended": (
                dims,
                np.asarray(suspended, np.int8),
                {"long_name": "1 if audits failed: everything goes to MD until a new version is accepted", **UNIT},
            ),
            "n_queried": (
                dims,
                counts["queried"],
                {"long_name": "representatives the committee was asked for this step", **UNIT},
            ),
            "n_trusted": (
                dims,
                counts["trusted"],
                {"long_name": "representatives answered by the committee this step (audits included)", **UNIT},
            ),
            "n_audited": (
                dims,
                counts["audited"],
                {"long_name": "trusted representatives also run by MD this step", **UNIT},
            ),
            "audit_error": (
                stat,
                audit["error"],
                {"long_name": "max-component |committee - MD| over audited qps", "units": "Pa"},
            ),
            "audit_net_error": (
                stat,
                audit["net_error"],
                {"long_name": "max-component |committee - MD| net of the MD noise over audited qps", "units": "Pa"},
            ),
            "audit_failed_fraction": (
                dims,
                audit["failed_fraction"],
                {"long_name": "share of audited qps whose net error exceeds the accuracy", **UNIT},
            ),
        },
        coords={
            **material_coord(names),
            "statistic": ("statistic", np.array(STATISTICS), {"long_name": "statistic over audited qps", **UNIT}),
        },
        attrs={"step": int(step)},
    )
    return ds


def write_initial_record(material_names: list[str], out_record: str) -> None:
    """Step 0: no committee yet, no samples."""
    n = len(material_names)
    z = np.zeros(n, np.int64)
    write_dataset(record_dataset(0, material_names, z, [""] * n, z, z, z, z), out_record, "committee record, step 0")


def load_committees(record_path: str) -> dict[int, tuple[object, int, bool, bool]]:
    """material -> (Committee, version, accepted, suspended) for every material with a trained version."""
    from scema.committee import Committee

    rec = read_dataset(record_path)
    out = {}
    for m in range(rec.sizes["material"]):
        if int(rec["version"].values[m]) > 0:
            out[m] = (
                Committee.load(str(rec["directory"].values[m])),
                int(rec["version"].values[m]),
                bool(rec["accepted"].values[m]),
                bool(rec["suspended"].values[m]),
            )
    return out


def audit_statistics(values: np.ndarray) -> np.ndarray:
    """(median, p90, max) of per-qp audit errors, in the order of ``STATISTICS``."""
    return np.array([np.median(values), np.percentile(values, 90), np.max(values)])
