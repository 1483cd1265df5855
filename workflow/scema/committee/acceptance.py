"""Is a trained version accurate enough to be trusted? Its held-out error, net of the MD noise.

MD stresses are noisy: a perfect model still has a held-out RMSE equal to the noise of its
targets, so a raw RMSE gate refuses every committee when the noise is near the accuracy asked
for (the normal case). The model's own error is what is left once the noise is taken out:

    net = sqrt(max(0, RMSE^2 - noise^2))     per component,

with noise^2 the mean of the samples' squared noise (replica std^2 / R, or the material's
sampling noise^2 with one replica). A version is accepted when the committee mean's net error
of every component is below the stress accuracy.
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


def held_out_errors(member_stress: np.ndarray, stress: np.ndarray, noise: np.ndarray) -> HeldOutErrors:
    """``member_stress`` (member, n, 6) predictions, ``stress`` (n, 6) MD targets, ``noise`` (n, 6) their noise."""
    member_rmse = np.sqrt(np.mean((member_stress - stress[None]) ** 2, axis=1))
    committee_rmse = np.sqrt(np.mean((member_stress.mean(axis=0) - stress) ** 2, axis=0))
    rms_noise = np.sqrt(np.mean(np.asarray(noise, dtype=float) ** 2, axis=0))
    return HeldOutErrors(
        member_rmse,
        committee_rmse,
        rms_noise,
        net_error(member_rmse, rms_noise[None]),
        net_error(committee_rmse, rms_noise),
    )


def is_accepted(committee_net: np.ndarray, accuracy_pa: float) -> bool:
    """Every component's net error below the accuracy; an accuracy of 0 accepts nothing."""
    return bool(np.all(np.asarray(committee_net) < float(accuracy_pa)))
