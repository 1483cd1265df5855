"""The committee record ``committee.nc``: the state the committee stages hand each other.

Per material the current version, whether it is accepted (held-out error net of the MD noise
below the accuracy) and suspended (audits failed), sample counts, and the step's audit errors.
The query stage reads the previous step's record; the update stage writes this step's.
"""

from __future__ import annotations

import numpy as np

from scema.io.datasets import committee_record_dataset
from scema.io.netcdf import read_dataset, write_dataset


def write_initial_record(material_names: list[str], out_record: str) -> None:
    """Step 0: no committee yet, no samples."""
    n = len(material_names)
    z = np.zeros(n, np.int64)
    write_dataset(
        committee_record_dataset(0, material_names, z, [""] * n, z, z, z, z), out_record, "committee record, step 0"
    )


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
