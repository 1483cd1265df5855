"""Is a trained version accurate enough to be trusted? Its held-out error, net of the MD noise.

MD stresses are noisy: a perfect model still has a held-out RMSE equal to the noise of its
targets, so a raw RMSE gate refuses every committee when the noise is near the accuracy asked
for (the normal case). The model's own error is what is left once the noise is taken out:

    net = sqrt(max(0, RMSE^2 - noise^2))     per component,

with noise^2 the mean of the samples' squared noise (replica std^2 / R, or the material's
sampling noise^2 with one replica), each sample's pooled over its material's MD samples of
its step (``scema.committee.noise``: one qp's two replicas give a one-degree-of-freedom
guess). A version is accepted unless its held-out samples show, beyond their own scatter,
that the committee mean misses the accuracy (``shown_inaccurate``): with ~100 held-out
samples of 75 MPa noise the point estimate of the net error scatters by ~30 MPa, so a
point-estimate gate refuses accurate versions at random (measured: 3 of the first 6 versions
on the copper bar, each sending a whole step to MD). The audits, a handful per step, are
judged by a variance test (``audits_show_inaccurate``), which this test cannot replace there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def net_error(error: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """sqrt(max(0, error^2 - noise^2)), elementwise (Pa)."""
    error, noise = np.asarray(error, dtype=float), np.asarray(noise, dtype=float)
    return np.sqrt(np.maximum(0.0, error**2 - noise**2))


@dataclass(frozen=True)
class HeldOutErrors:
    """Errors on the held-out samples, Pa: per member (member, component) and of the committee mean."""

    member_rmse: np.ndarray
    committee_rmse: np.ndarray
    noise: np.ndarray  # (component,) rms noise of the held-out targets
    member_net: np.ndarray
    committee_net: np.ndarray
    committee_excess: np.ndarray  # (n, 6) per sample err^2 - noise^2 of the committee mean, Pa^2


def held_out_errors(member_stress: np.ndarray, stress: np.ndarray, noise: np.ndarray) -> HeldOutErrors:
    """``member_stress`` (member, n, 6) predictions, ``stress`` (n, 6) MD targets, ``noise`` (n, 6) their noise."""
    member_rmse = np.sqrt(np.mean((member_stress - stress[None]) ** 2, axis=1))
    committee_err2 = (member_stress.mean(axis=0) - stress) ** 2
    committee_rmse = np.sqrt(np.mean(committee_err2, axis=0))
    noise = np.asarray(noise, dtype=float)
    rms_noise = np.sqrt(np.mean(noise**2, axis=0))
    return HeldOutErrors(
        member_rmse,
        committee_rmse,
        rms_noise,
        net_error(member_rmse, rms_noise[None]),
        net_error(committee_rmse, rms_noise),
        committee_err2 - noise**2,
    )


def shown_inaccurate(excess: np.ndarray, accuracy_pa: float, tolerance: float) -> bool:
    """Do samples' ``excess`` = err^2 - noise^2 (n, 6) show an error above the accuracy?

    Per component the mean excess is an unbiased estimate of the squared error; yes when
    mean - q SE > accuracy^2 in any component, q Student's t quantile at 1 - tolerance / 6 with
    n - 1 degrees of freedom (Bonferroni over the components; the normal quantile judged an
    exact committee inaccurate at 36 % of 2-audit steps), so an accurate model is judged
    inaccurate with probability about <= ``tolerance``. Fewer than two samples or tolerance 0:
    no verdict (False).
    """
    from scipy.stats import t as student_t

    d = np.asarray(excess, dtype=float)
    if d.shape[0] < 2 or tolerance <= 0:
        return False
    z = student_t.ppf(1.0 - tolerance / d.shape[1], d.shape[0] - 1)
    lower = d.mean(axis=0) - z * d.std(axis=0, ddof=1) / np.sqrt(d.shape[0])
    return bool(np.any(lower > float(accuracy_pa) ** 2))


def is_accepted(errors: HeldOutErrors, accuracy_pa: float, tolerance: float) -> bool:
    """Accepted unless the held-out samples show an error above the accuracy (``shown_inaccurate``);
    an accuracy of 0 accepts nothing."""
    if not float(accuracy_pa) > 0.0:
        return False
    return not shown_inaccurate(errors.committee_excess, accuracy_pa, tolerance)


def audits_show_inaccurate(
    error: np.ndarray, noise: np.ndarray, accuracy_pa: float, tolerance: float, noise_dof: int = 30
) -> bool:
    """Do audits' committee - MD ``error`` (n, 6), MD ``noise`` (n, 6), show an error above the accuracy?

    A variance test: a committee whose own error has rms at most the accuracy gives, with
    Gaussian MD noise, err_i ~ N(0, noise_i^2 + e^2), e <= accuracy, so per component
    mean_i err_i^2 / (noise_i^2 + accuracy^2) is at most F-distributed with (n, ``noise_dof``)
    degrees of freedom, ``noise_dof`` those of the pooled noise estimate (at least
    ``scema.committee.noise.MIN_POOLED_SAMPLES`` samples of one degree of freedom each: a lower
    bound, so conservative; with the noise taken as exact, a chi^2 test suspended an exact
    committee whose pooled noise came out 30 % low); yes when it exceeds the F quantile at
    1 - tolerance / 6 in any component (Bonferroni). ``shown_inaccurate`` cannot judge a few
    audits: when the committee's error differs from qp to qp (zero mean over qps, as on the
    copper bar with target correction) err^2 - noise^2 has a std of about sqrt(2) E[err^2], so
    its t statistic stays near or below sqrt(n / 2), under the t quantile for n <= 12 (1.58
    against 3.19 at 5 audits) whatever the error. Fewer than two audits or tolerance 0: no verdict.
    """
    from scipy.stats import f as f_dist

    error, noise = np.asarray(error, dtype=float), np.asarray(noise, dtype=float)
    if error.shape[0] < 2 or tolerance <= 0:
        return False
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.nanmean(error**2 / (noise**2 + float(accuracy_pa) ** 2), axis=0)
    return bool(np.any(statistic > f_dist.ppf(1.0 - tolerance / error.shape[1], error.shape[0], noise_dof)))
