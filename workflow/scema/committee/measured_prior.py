"""The physical prior's intercept and elastic scales from the material's own measurements, and the
version that is that prior alone (version 0), which answers before any MD sample exists.

With ``target: deviation`` a member learns sigma - C eps. At zero strain that is the error of the
reference stress the MD stresses are measured from; per unit strain, the error of the measured C.
``material_init`` measures both: each replica's reference standard error (blocking), and C from
central differences per replica whose scatter about the symmetry-projected C (and between
replicas) is its sampling error. The fixed guesses (``models.PRIOR_INTERCEPT``, ``PRIOR_ELASTIC``:
2e-4 c = 33 MPa and 4 % of c for copper) had to hold for every material; measured, the copper's are
2.5 MPa and 0.2 GPa. Before any training the committee's posterior is its prior: mean C eps, std
sqrt(SE_ref^2 + (SE_C eps)^2 + path and second-order terms), small enough at the first load step
to be trusted and checked by the audits like any later answer (500-atom copper bar, both
brute-force seeds: sigma - C eps at step 1 averages <= 4.3 MPa per component over 96 qps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from scema import seeds
from scema.committee.data import N_COMPONENTS, N_FEATURES, Scalers
from scema.committee.equivariance import equivariant_basis
from scema.committee.models import build_member
from scema.committee.settings import CommitteeSettings
from scema.committee.storage import save_member, save_target


def reference_error(standard_error: np.ndarray) -> float:
    """Pa: the largest component's standard error of the replica-mean reference stress, from each
    replica's (replica, component) standard error: an MD stress is the replica mean of stresses each
    measured from its own replica's reference, so its zero carries sqrt(sum_r SE_r^2) / R."""
    se = np.asarray(standard_error, dtype=float)
    return float(np.max(np.sqrt(np.sum(se**2, axis=0)) / se.shape[0]))


def stiffness_error(stiffness: np.ndarray, symmetry: str) -> float | None:
    """Pa per unit strain: the sampling error of the C the committee uses (replica mean, projected on
    ``symmetry``), from the raw (replica, 6, 6) central differences: the rms of every replica's
    symmetrised C about that projection (the entries a symmetry ties, and the replicas, measure
    the same constant), over sqrt(R) (each replica one measurement: conservative, the projection
    also averages the tied entries). None when nothing measures it twice (one replica, no symmetry)."""
    from scema.symmetry import project

    raw = np.asarray(stiffness, dtype=float)
    if raw.shape[0] < 2 and symmetry == "none":
        return None
    mean = project(raw.mean(axis=0), symmetry)
    residual = np.stack([0.5 * (c + c.T) - mean for c in raw])
    return float(np.sqrt(np.mean(residual**2)) / np.sqrt(raw.shape[0]))


def measured_scales(material: xr.Dataset, symmetry: str) -> tuple[float, float] | None:
    """(intercept Pa, elastic Pa per unit strain) for ``physical_prior_std``, from a ``material.nc``;
    None (keep the fixed guesses) when the file has no reference standard error or C is measured once."""
    if "reference_stress_standard_error" not in material:
        return None
    elastic = stiffness_error(material["stiffness"].values, symmetry)
    if elastic is None:
        return None
    standard_error = material["reference_stress_standard_error"].values
    if "window_reference_standard_error" in material:  # reference_estimator rest_updates
        # its error is about the mean over the rest states qps start from; a glass's states differ
        # by tens of MPa and boxes leave them, so the window's (long-time) error bounds the intercept too
        standard_error = np.maximum(standard_error, material["window_reference_standard_error"].values)
    return reference_error(standard_error), elastic


def prior_version(
    stiffness: np.ndarray,
    measured: tuple[float, float],
    settings: CommitteeSettings,
    out_dir,
    symmetric: bool = False,
) -> Path:
    """Write version 0 of a material's committee: ``settings.size`` ridge members, antithetic draws
    from the physical prior with the ``measured`` scales and no data (mean exactly C eps, plus the 0 K
    law when ``measured`` carries one (``models.second_order_mean``); ``Committee.predict``'s std the prior's own). Tied as a cubic crystal when ``symmetric``."""
    from scema.io.atomic import atomic_directory

    if settings.architecture != "ridge" or settings.target != "deviation":
        raise ValueError("a prior-only version needs ridge members learning the deviation from C eps")
    basis = equivariant_basis() if symmetric else None
    no_rows, no_labels = np.zeros((0, N_FEATURES)), np.zeros((0, N_COMPONENTS))
    out_dir = Path(out_dir).resolve()
    with atomic_directory(out_dir) as tmp:
        for i in range(settings.size):
            sign = 1.0 - 2.0 * (i % 2)
            rng = seeds.rng(seeds.torch_seed(settings.seed, "member", i - i % 2), "posterior")
            net = build_member("ridge", settings.width, settings.depth, scalers=Scalers.identity(), offset=False)
            net.fit_physical(
                no_rows, no_labels, np.ones(N_COMPONENTS), stiffness, rng, 1.0, sign, basis, measured=measured
            )
            seed = seeds.torch_seed(settings.seed, "member", i)
            info = {"epochs": 0, "best_epoch": 0, "best_val_loss": float("nan")}
            save_member(tmp / f"member_{i}", net, Scalers.identity(), settings, i, seed, info)
        save_target(tmp, settings.target, stiffness, paired=True)
    return out_dir
