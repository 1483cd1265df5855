"""The MD noise that audits and held-out samples are judged against, pooled over a material's MD samples.

What is estimated is issue 8's noise of an MD stress: the noise of its replica mean, replica
std / sqrt(R) per component. One qp's own estimate from R = 2 replicas has one degree of
freedom per component (a sigma chi_1 draw: below half the true noise in 38 % of cases), so an
audit judged against it is judged against a random threshold. The noise of a material's
updates at one step is one value for all its qps, so it is estimated from all of them: the
replica variances of the material's MD samples are pooled (mean of the per-sample noise^2).
Checked on the 500-atom copper bar (2 x 30 brute-force steps of 96 qps): the per-sample
variances follow sigma^2 chi^2_1 around the step's pool (KS p 0.13-0.95 per component), each
qp's mean over 30 steps scatters as homogeneity predicts (variance 0.06-0.09 of the pool^2,
expected 0.067), and the committee run's audits have 0.88-1.21 (+- 0.13) of brute force's
variance at the same step. The noise grows with the load (xx 26 -> 35 MPa over 30 steps), so
the pool is the step's own MD samples, extended to the most recent earlier steps until it holds
``MIN_POOLED_SAMPLES`` (30 degrees of freedom at R = 2: the pooled noise within ~13 %). The
material's sampling noise (material.nc, measured at rest) / sqrt(R) matches the first steps but
is up to ~20 % below the noise 30 steps on, so with replicas it is not used; with one replica
the samples already carry it, and pooling leaves it unchanged. Exact zeros (reference boxes, noise 0 by definition) stay zero and
are not pooled.

What a better noise estimate cannot do: one audit is one draw of the MD noise, so when that
noise is near the accuracy an exact committee's single-audit net error exceeds the accuracy
often whatever the noise estimate (``exact_pass_fraction``); the pooled test over a step's
audits (``acceptance.shown_inaccurate``) is what resolves the committee's own error.
"""

from __future__ import annotations

import numpy as np

MIN_POOLED_SAMPLES = 30


def comparison_noise(label_noise: np.ndarray, anchor_noise: np.ndarray, target: str) -> np.ndarray:
    """The MD noise in (committee - MD): the label's, and with target correction also the noise
    of sigma_s, the measured stress the prediction sigma_s + C d eps + correction is anchored on
    (a fresh MD measurement of the same box carries it independently)."""
    return np.sqrt(label_noise**2 + anchor_noise**2) if target == "correction" else label_noise


def pooled_rms(noise_sets: list[np.ndarray], min_samples: int = MIN_POOLED_SAMPLES) -> np.ndarray:
    """Root of the mean noise^2 (6,) over the nonzero rows of ``noise_sets`` (each (n, 6), newest
    first), taking whole sets until ``min_samples`` rows are pooled; 0 when no row has noise."""
    pooled = []
    for noise in noise_sets:
        noise = np.asarray(noise, dtype=float).reshape(-1, 6)
        pooled.append(noise[np.any(noise > 0, axis=1)])
        if sum(len(p) for p in pooled) >= min_samples:
            break
    rows = np.concatenate(pooled) if pooled else np.zeros((0, 6))
    return np.sqrt(np.mean(rows**2, axis=0)) if len(rows) else np.zeros(6)


def pooled_sample_noise(
    label_sets: list[np.ndarray],
    anchor_sets: list[np.ndarray],
    target: str,
    min_samples: int = MIN_POOLED_SAMPLES,
) -> np.ndarray:
    """Pooled comparison noise (n, 6) of the samples of ``label_sets[0]`` (one material's step;
    further sets: its earlier steps, newest first): each sample gets the pool of its label noise,
    and with target correction of its anchor's, zero where its own estimate is an exact zero."""
    label, anchor = np.asarray(label_sets[0], dtype=float), np.asarray(anchor_sets[0], dtype=float)
    has_label = np.any(label > 0, axis=1, keepdims=True)
    has_anchor = np.any(anchor > 0, axis=1, keepdims=True)
    pooled_label = np.where(has_label, pooled_rms(label_sets, min_samples), 0.0)
    pooled_anchor = np.where(has_anchor, pooled_rms(anchor_sets, min_samples), 0.0)
    return comparison_noise(pooled_label, pooled_anchor, target)


def exact_pass_fraction(noise: np.ndarray, accuracy_pa: float) -> np.ndarray:
    """Chance that an exact committee's single audit has every component's net error
    sqrt(max(0, err^2 - noise^2)) within the accuracy, when the noise (…, 6) is known:
    prod_c P(|Z| <= sqrt(1 + accuracy^2 / noise_c^2)).

    Exact for independent components; for correlated Gaussian noise (MD's normal components
    correlate ~0.6) it is a lower bound (Sidak's inequality). On the copper bar's noise (~29 MPa
    normal, ~15 MPa shear) at 30 MPa it is ~0.55: 90 % of single audits within the accuracy needs
    a noise of the replica mean below ~0.4 of the accuracy in every component.
    """
    from scipy.stats import norm

    noise = np.asarray(noise, dtype=float)
    with np.errstate(divide="ignore"):
        limit = np.sqrt(1.0 + (float(accuracy_pa) / noise) ** 2)
    return np.prod(2.0 * norm.cdf(limit) - 1.0, axis=-1)
