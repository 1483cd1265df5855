"""What ParaView shows of a step: qp data of the NetCDF files turned into per-cell fields.

ParaView reads nodal and cell data, not quadrature points, so every qp quantity becomes one
value per cell (the qp values themselves stay in the NetCDF files):

- ``stress``: the cell average of the qp stress, a symmetric 3x3 tensor (Pa);
- ``von_mises``: the von Mises stress of that cell-average stress (Pa);
- ``source``: the most frequent provenance among the cell's qps (0 md, 1 cluster, 2 committee;
  a tie goes to the lower code);
- ``committee_spread``: the largest committee standard deviation over the cell's qps and the
  six components (Pa; NaN where the committee was not asked);
- ``cluster_id``: the representative qp id of the most frequent cluster among the cell's qps
  (-1 when clustering is off).
"""

from __future__ import annotations

import warnings

import numpy as np

from scema.io.datasets import SOURCE_FLAGS
from scema.voigt import INDEX_PAIRS

NO_CLUSTERING = -1

INFORMATION = {
    "displacement": "total displacement, m (nodal, P1)",
    "stress": "cell average of the qp Cauchy stress (replica mean), Pa, symmetric 3x3 tensor",
    "von_mises": "von Mises stress of the cell-average stress, Pa",
    "source": "most frequent provenance of the cell's qp stresses (ties: lower code); "
    + ", ".join(f"{code} {name}" for name, code in SOURCE_FLAGS.items()),
    "committee_spread": "largest committee std over the cell's qps and components, Pa (NaN: committee not asked)",
    "cluster_id": f"representative qp id of the cell's most frequent cluster ({NO_CLUSTERING}: clustering off)",
}


def von_mises(stress: np.ndarray) -> np.ndarray:
    """Von Mises stress of plain Voigt stresses (..., 6), xx yy zz yz xz xy."""
    s = np.asarray(stress, dtype=float)
    normal = (s[..., 0] - s[..., 1]) ** 2 + (s[..., 1] - s[..., 2]) ** 2 + (s[..., 2] - s[..., 0]) ** 2
    shear = s[..., 3] ** 2 + s[..., 4] ** 2 + s[..., 5] ** 2
    return np.sqrt(0.5 * normal + 3.0 * shear)


def per_cell(qp_values: np.ndarray, points_per_cell: int) -> np.ndarray:
    """(n_qp, ...) -> (n_cells, points_per_cell, ...): qp id = cell * points_per_cell + point."""
    values = np.asarray(qp_values)
    return values.reshape((values.shape[0] // points_per_cell, points_per_cell) + values.shape[1:])


def cell_mode(qp_codes: np.ndarray, points_per_cell: int) -> np.ndarray:
    """Most frequent integer per cell; among equally frequent ones the smallest."""
    codes = per_cell(np.asarray(qp_codes, dtype=np.int64), points_per_cell)
    out = np.empty(codes.shape[0], dtype=np.int64)
    for c, row in enumerate(codes):
        values, counts = np.unique(row, return_counts=True)  # sorted: argmax picks the smallest
        out[c] = values[np.argmax(counts)]
    return out


def voigt_to_tensor(stress: np.ndarray) -> np.ndarray:
    """(n, 6) plain Voigt stress -> (n, 3, 3) symmetric tensor."""
    s = np.asarray(stress, dtype=float)
    out = np.zeros(s.shape[:-1] + (3, 3))
    for k, (i, j) in enumerate(INDEX_PAIRS):
        out[..., i, j] = out[..., j, i] = s[..., k]
    return out


def cell_fields(stress_ds, points_per_cell: int, representative: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-cell fields of one step from its ``stress.nc`` (and ``clusters.nc`` representatives)."""
    stress = per_cell(stress_ds["stress"].values, points_per_cell).mean(axis=1)
    spread = per_cell(stress_ds["stress_committee_std"].values, points_per_cell)
    with warnings.catch_warnings():  # an all-NaN cell (committee not asked) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.nanmax(spread.reshape(spread.shape[0], -1), axis=1)
    n_cells = stress.shape[0]
    cluster = np.full(n_cells, NO_CLUSTERING) if representative is None else cell_mode(representative, points_per_cell)
    return {
        "stress": voigt_to_tensor(stress),
        "von_mises": von_mises(stress),
        "source": cell_mode(stress_ds["source"].values, points_per_cell).astype(float),
        "committee_spread": spread,
        "cluster_id": cluster.astype(float),
    }
