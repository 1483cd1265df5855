"""Train one committee version: split, bootstrap, fit each member, judge, store atomically.

Recipe (deterministic for a given ``CommitteeSettings.seed`` on CPU; streams from scema.seeds):

1. One split of the samples into a training part and a held-out part (``validation_fraction``,
   stream "split"), shared by all members so their held-out errors are comparable.
2. Member ``i`` gets its own seed ``member_seed(seed, i)``: weight initialisation, bootstrap
   resample of the training part (n draws with replacement) and shuffling. Ridge members of
   the deviation and correction targets instead take every training sample with its label
   redrawn with the MD noise (pooled rms per component) and a prior mean drawn from the
   physical prior: each is one draw from the posterior (``RidgeMember.fit_physical``). Members
   2j and 2j + 1 take opposite draws (antithetic pairs), so the committee mean is the posterior
   mean itself (even sizes) and does not carry the draws' own scatter; their spread is taken
   with ddof 0 (``Committee.predict``), an unbiased estimate of the posterior variance.
   With ``symmetric`` the resample is joined by its images under the cube's symmetry (a ridge
   member fits them all; a network sees one random image of each sample per epoch), and a
   posterior draw's coefficients are tied as a cubic crystal ties them (``equivariance``).
3. Each member is fitted (scema.committee.fit) to the learned target: the stress, or its
   difference to an elastic prediction, C eps_t (deviation) or sigma_s + C d eps (correction)
   (``settings.target``, scema.committee.data).
4. The held-out errors (RMSE, the samples' MD noise, the net error) go to ``metrics.nc``;
   the stage decides acceptance from them (scema.committee.acceptance).

The version directory is built by ``scema.io.atomic.atomic_directory``: it appears whole or
not at all, and an existing one is replaced.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from scema import seeds
from scema.committee.acceptance import held_out_errors
from scema.committee.data import (
    STRESS_SCALE_FLOOR_PA,
    check_inputs,
    check_targets,
    learned_target,
    stress_from_learned,
)
from scema.committee.equivariance import equivariant_basis
from scema.committee.evidence import moment_evidence_factors
from scema.committee.fit import fit_member, quiet_and_deterministic
from scema.committee.moments import Moments, cross, moments, regressors
from scema.committee.predict import member_predict
from scema.committee.settings import CommitteeSettings
from scema.committee.storage import METRICS_FILE, save_member, save_target
from scema.committee.symmetry import CUBIC, augment


def member_seed(seed: int, index: int) -> int:
    """Seed of member ``index`` derived from the committee seed (31-bit, for torch/numpy)."""
    return seeds.torch_seed(seed, "member", index)


def uses_physical_prior(settings: CommitteeSettings) -> bool:
    """Ridge members that learn a deviation from the elastic response are posterior draws under
    the physical prior (``RidgeMember.fit_physical``); the stress target has no elastic zero."""
    return settings.architecture == "ridge" and settings.target != "stress"


def enough_samples(n: int, validation_fraction: float) -> bool:
    """Can ``n`` samples be split (``split_indices``)? Before that a material keeps its version (a
    prior-only version 0 answers the first steps, and only its few audits are samples)."""
    n_val = int(round(validation_fraction * n))
    return n_val >= 2 and n - n_val >= 4


def split_indices(n: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shared train/validation split (sorted index arrays) drawn from the committee seed."""
    n_val = int(round(validation_fraction * n))
    if not enough_samples(n, validation_fraction):
        raise ValueError(
            f"too few samples ({n}) for validation_fraction={validation_fraction}: "
            "need >= 2 validation and >= 4 training samples"
        )
    perm = seeds.rng(seed, "split").permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def train_committee(
    inputs,
    stress,
    settings: CommitteeSettings,
    out_dir,
    noise=None,
    stiffness=None,
    symmetric: bool = False,
    measured: tuple | None = None,
) -> dict:
    """Train ``settings.size`` members on (inputs (n, 18), MD stress (n, 6) Pa); write ``out_dir``.

    ``noise`` (n, 6) Pa: the MD noise of each stress (zero when not given). ``stiffness`` (6, 6)
    Pa: the material's C, required for the ``correction`` target. ``symmetric``: each member
    also trains on the cube's 24 images of its bootstrap sample (scema.committee.symmetry).
    ``measured`` (intercept Pa, elastic Pa[, None, 0 K law (21, 6) Pa]): the physical prior's scales
    of those two groups measured for the material (``scema.committee.measured_prior``; None: the
    fixed guesses) and the law its second-order coefficients are centred on.
    Returns a summary dict.
    """
    from scema.io.atomic import atomic_directory
    from scema.io.datasets import committee_metrics_dataset
    from scema.io.netcdf import write_dataset

    if not isinstance(settings, CommitteeSettings):
        raise TypeError(f"settings must be a CommitteeSettings, got {type(settings).__name__}")
    x = check_inputs(inputs)
    y = check_targets(stress, x.shape[0])
    noise = np.zeros_like(y) if noise is None else check_targets(noise, x.shape[0])
    if settings.target != "stress" and stiffness is None:
        raise ValueError(f"committee target {settings.target!r} needs the material stiffness (6, 6) Pa")
    learned = learned_target(x, y, settings.target, stiffness)
    train_idx, val_idx = split_indices(x.shape[0], settings.validation_fraction, settings.seed)
    x_tr, l_tr, x_val, l_val = x[train_idx], learned[train_idx], x[val_idx], learned[val_idx]
    posterior = uses_physical_prior(settings)
    noise_std = np.maximum(np.sqrt(np.mean(noise[train_idx] ** 2, axis=0)), STRESS_SCALE_FLOOR_PA)
    basis = equivariant_basis() if posterior and symmetric else None
    factors = None
    images = len(CUBIC) if symmetric else 1
    if posterior:  # the rows (and their images) enter a posterior only through their sums
        r_tr = regressors(x_tr, stiffness)
        data = moments(r_tr, l_tr, symmetric)
    # the prior's group scales from the unperturbed samples, only where the coefficients are tied:
    # untied, a scale learned from the directions loaded also shrinks the coefficients of
    # directions never loaded (test_committee_ridge: trusted 65 MPa off along an unseen axis)
    if posterior and symmetric and settings.prior_evidence:
        factors = moment_evidence_factors(data, noise_std, stiffness, 1.0 / images, basis, measured)

    start = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    with atomic_directory(out_dir) as tmp:
        scratch = tmp / ".lightning"
        scratch.mkdir()
        member_seeds, infos, preds = [], [], []
        with quiet_and_deterministic():
            for i in range(settings.size):
                seed = member_seed(settings.seed, i)
                physical = None
                if posterior:  # every sample, its label redrawn with the MD noise (a posterior draw)
                    sign = 1.0 - 2.0 * (i % 2)  # members 2j, 2j+1: one draw and its mirror image
                    rng = seeds.rng(member_seed(settings.seed, i - i % 2), "posterior")
                    draw = rng.standard_normal(l_tr.shape) * noise_std  # labels l_tr + sign draw
                    x_b, l_b = x_tr, l_tr  # not fitted: the member takes the perturbed labels' sums
                    physical = {"noise_std": noise_std, "stiffness": stiffness, "rng": rng, "sign": sign}
                    physical["moments"] = Moments(data.rr, data.rl + sign * cross(r_tr, draw, symmetric))
                    physical["basis"] = basis
                    physical["prior_factors"] = factors
                    physical["measured"] = measured
                    # a correction answer is anchored on the measured sigma_s and carries its noise
                    physical["anchor_noise"] = noise_std if settings.target == "correction" else None
                else:
                    boot = seeds.rng(seed, "bootstrap").integers(0, x_tr.shape[0], size=x_tr.shape[0])
                    x_b, l_b = x_tr[boot], l_tr[boot]
                x_b, l_b = augment(x_b, l_b) if symmetric and not posterior else (x_b, l_b)
                net, scalers, info = fit_member(x_b, l_b, x_val, l_val, settings, seed, scratch, images, physical)
                preds.append(
                    stress_from_learned(x_val, member_predict(net, scalers, x_val), settings.target, stiffness)
                )
                save_member(tmp / f"member_{i}", net, scalers, settings, i, seed, info)
                member_seeds.append(seed)
                infos.append(info)
        shutil.rmtree(scratch, ignore_errors=True)
        save_target(tmp, settings.target, stiffness, paired=posterior)
        errors = held_out_errors(np.stack(preds), y[val_idx], noise[val_idx])
        epochs = np.array([inf["epochs"] for inf in infos])
        best_epoch = np.array([inf["best_epoch"] for inf in infos])
        ds = committee_metrics_dataset(
            errors,
            np.full(settings.size, x_tr.shape[0]),
            epochs,
            best_epoch,
            np.array(member_seeds),
            len(val_idx),
            settings,
            factors,
        )
        write_dataset(
            ds,
            tmp / METRICS_FILE,
            title="SCEMa committee surrogate training metrics",
            history=f"train_committee {settings.architecture} size={settings.size} seed={settings.seed}",
        )

    return {
        "out_dir": out_dir,
        "architecture": settings.architecture,
        "target": settings.target,
        "symmetric": bool(symmetric),
        "size": settings.size,
        "n_samples": int(x.shape[0]),
        "n_train": int(x_tr.shape[0]),
        "n_validation": len(val_idx),
        "member_seeds": member_seeds,
        "epochs": epochs.tolist(),
        "best_epoch": best_epoch.tolist(),
        "errors": errors,
        "validation_rmse_pa": errors.member_rmse,  # (size, 6)
        "committee_validation_rmse_pa": errors.committee_rmse,  # (6,)
        "committee_net_error_pa": errors.committee_net,  # (6,)
        "seconds": time.perf_counter() - start,
        "prior_factors": factors,  # (4,) or None: the physical prior's group scales, x today's
    }
