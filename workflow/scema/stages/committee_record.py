"""The committee record ``committee.nc``: the state the committee stages hand each other.

Per material the current version, whether it is accepted (held-out error net of the MD noise
below the accuracy) and suspended (audits failed), sample counts, and the step's audit errors.
The query stage reads the previous step's record; the update stage writes this step's.
"""

from __future__ import annotations

import numpy as np

from scema.io.datasets import committee_record_dataset
from scema.io.netcdf import read_dataset, write_dataset


def write_initial_record(material_names: list[str], out_record: str, prior_versions: dict[int, str] = None) -> None:
    """Step 0: no samples; per material either no committee, or (``prior_versions``: material index
    -> directory) version 0, the physical prior alone (``scema.committee.measured_prior``): accepted,
    as nothing held out can judge it; its audits do."""
    n = len(material_names)
    z = np.zeros(n, np.int64)
    prior_versions = prior_versions or {}
    directory = [prior_versions.get(m, "") for m in range(n)]
    accepted = np.array([int(m in prior_versions) for m in range(n)], np.int64)
    write_dataset(
        committee_record_dataset(0, material_names, z, directory, z, z, accepted, z),
        out_record,
        "committee record, step 0",
    )


def load_committees(record_path: str) -> dict[int, tuple[object, int, bool, bool]]:
    """material -> (Committee, version, accepted, suspended) for every material with a version (a
    directory: trained, or version 0, the prior alone)."""
    from scema.committee import Committee

    rec = read_dataset(record_path)
    out = {}
    for m in range(rec.sizes["material"]):
        if str(rec["directory"].values[m]):
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
