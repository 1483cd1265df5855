"""The pooled MD noise audits are judged against (scema.committee.noise), against analytic values.

An exact committee's audit error is the MD noise of the replica mean, N(0, s^2) per component.
Net of the known noise a component is within the accuracy a when |err| <= sqrt(a^2 + s^2):
probability 2 Phi(sqrt(1 + a^2 / s^2)) - 1. Net of a two-replica estimate s^2 W^2 (W ~ N(0, 1),
independent of err = s Z) when Z^2 - W^2 = 2 X Y <= a^2 / s^2 (X, Y iid N(0, 1)), whose
probability is an integral over X (``_two_replica_pass``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from scipy import integrate

ACCURACY = 30e6
BAR_NOISE = np.array([29e6, 29e6, 29e6, 15e6, 15e6, 15e6])  # the 500-atom copper bar's noise of the replica mean


def _known_noise_pass(noise: np.ndarray) -> float:
    return float(np.prod([math.erf(math.sqrt(1.0 + (ACCURACY / s) ** 2) / math.sqrt(2.0)) for s in noise]))


def _two_replica_pass(noise: np.ndarray) -> float:
    """prod_c P(2 X Y <= a^2 / s_c^2) = prod_c (1 - P(|X Y| > c / 2) / 2), P(|XY| > t) = E 2 Phi(-t / |X|)."""

    def tail(t: float) -> float:
        f = lambda x: 4.0 * math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) * 0.5 * math.erfc(t / x / math.sqrt(2))  # noqa: E731
        return integrate.quad(f, 1e-12, np.inf)[0]

    return float(np.prod([1.0 - 0.5 * tail(0.5 * (ACCURACY / s) ** 2) for s in noise]))


def _exact_committee_audits(noise: np.ndarray, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(committee - MD, two-replica noise estimate) of n audits of an exact committee."""
    replicas = rng.normal(0.0, noise * np.sqrt(2.0), (n, 2, 6))
    return replicas.mean(axis=1), replicas.std(axis=1, ddof=1) / np.sqrt(2.0)


def _share_within(err: np.ndarray, noise: np.ndarray) -> float:
    from scema.committee import net_error

    return float(np.mean(net_error(err, noise).max(axis=1) <= ACCURACY))


@pytest.mark.parametrize("scale", [1.0, 0.5, 0.4])
def test_single_audits_of_an_exact_committee_pass_at_the_known_noise_rate_with_the_pooled_noise(scale):
    """Noise of the replica mean = scale x the copper bar's; 20,000 audits of an exact committee
    in steps of 40 MD samples. Net of the pooled noise the share within the accuracy is the
    known-noise value; net of each audit's own two-replica estimate it is the lower analytic
    value. At the bar's noise even the known noise gives ~0.54: a single audit is one draw of a
    noise as large as the accuracy. 90 % needs the noise below ~0.4 of the accuracy."""
    from scema.committee.noise import exact_pass_fraction, pooled_sample_noise

    rng = np.random.default_rng(7)
    noise = scale * BAR_NOISE
    steps = [_exact_committee_audits(noise, 40, rng) for _ in range(500)]
    err = np.concatenate([e for e, _ in steps])
    own = np.concatenate([s for _, s in steps])
    pooled = np.concatenate([pooled_sample_noise([s], [np.zeros_like(s)], "deviation") for _, s in steps])
    bound = 3 * math.sqrt(0.25 / err.shape[0])
    assert abs(_share_within(err, pooled) - _known_noise_pass(noise)) < bound
    assert abs(_share_within(err, own) - _two_replica_pass(noise)) < bound
    assert _two_replica_pass(noise) < _known_noise_pass(noise)
    assert exact_pass_fraction(noise, ACCURACY) == pytest.approx(_known_noise_pass(noise), rel=1e-12)
    if scale == 1.0:
        assert 0.5 < _known_noise_pass(noise) < 0.6 and 0.4 < _two_replica_pass(noise) < 0.5
    if scale == 0.4:
        assert _share_within(err, pooled) >= 0.9


def test_a_committee_off_by_a_fifth_of_the_law_fails_its_audits():
    """A bar step (axial stress 500 MPa, qps within 20 MPa of it); the committee answers 1.2 x
    the MD law's stress: every single audit is outside the accuracy net of the pooled noise,
    and the step's five audits suspend it."""
    from scema.committee.noise import pooled_sample_noise
    from scema.stages.committee_update import audit_errors, audit_suspends

    rng = np.random.default_rng(11)
    truth = np.array([0.0, 0.0, 500e6, 0.0, 0.0, 0.0]) + rng.normal(0.0, 20e6, (5, 6))
    err, own = _exact_committee_audits(BAR_NOISE, 5, rng)
    others = _exact_committee_audits(BAR_NOISE, 30, rng)[1]
    pooled = pooled_sample_noise([own, others], [np.zeros_like(own), np.zeros_like(others)], "deviation")
    samples = xr.Dataset(
        {
            "audited": ("sample", np.ones(5, np.int8)),
            "material": ("sample", np.zeros(5, np.int64)),
            "stress": (("sample", "component"), truth + err),
            "committee_stress": (("sample", "component"), 1.2 * truth),
            "pooled_noise": (("sample", "component"), pooled),
        }
    )
    _, _, failed, exact = audit_errors(samples, 0, ACCURACY)
    assert failed == 1.0 and 0.5 < exact < 0.6
    assert audit_suspends(samples, 0, ACCURACY, 0.1)


def test_the_pool_is_the_step_then_the_newest_earlier_steps_until_30_samples():
    """rms over nonzero rows, whole sets newest first until 30; exact zeros (reference boxes) are
    neither pooled nor given noise; correction adds the pooled anchor noise in quadrature."""
    from scema.committee.noise import pooled_rms, pooled_sample_noise

    now, before, long_ago = np.full((10, 6), 3.0), np.full((25, 6), 4.0), np.full((50, 6), 100.0)
    now[0] = 0.0  # a reference box
    expected = math.sqrt((9 * 9.0 + 25 * 16.0) / 34)
    np.testing.assert_allclose(pooled_rms([now, before, long_ago]), expected)
    np.testing.assert_allclose(pooled_rms([long_ago, now]), 100.0)
    assert np.all(pooled_rms([np.zeros((3, 6))]) == 0.0)
    anchor = np.full((10, 6), 2.0)
    anchor[:4] = 0.0  # anchored on the reference: exact
    noise = pooled_sample_noise([now, before], [anchor, np.full((40, 6), 2.0)], "correction")
    assert np.all(noise[0] == 0.0)
    np.testing.assert_allclose(noise[1:4], expected)
    np.testing.assert_allclose(noise[4:], math.sqrt(expected**2 + 4.0))
    np.testing.assert_allclose(pooled_sample_noise([now, before], [anchor], "deviation")[4:], expected)


def test_committee_update_pools_per_material_over_earlier_sample_files(tmp_path):
    """The stage pools each material on its own, over earlier steps' training samples newest
    first, only as far as needed: material 0 has 40 samples this step and takes none of step 2's;
    material 1 has 5 and takes step 2's 30, not step 1's."""
    from scema.io.datasets import training_samples_dataset
    from scema.io.netcdf import write_dataset
    from scema.stages.committee_update import pooled_noise

    def samples_file(step: int, material: np.ndarray, noise: float) -> str:
        n = material.size
        z = np.zeros((n, 6))
        noise = z + noise
        ds = training_samples_dataset(
            step, "deviation", np.arange(n), material, np.zeros((n, 18)), z, noise, z, noise, noise, z, z[:, 0]
        )
        path = str(tmp_path / f"step_{step}.nc")
        write_dataset(ds, path, "samples")
        return path

    files = [
        samples_file(1, np.ones(30, np.int64), 1e9),
        samples_file(2, np.r_[np.ones(30), np.zeros(10)].astype(np.int64), 20e6),
    ]
    material = np.r_[np.zeros(40, np.int64), np.ones(5, np.int64)]
    label = np.where(material[:, None] == 0, 30e6, 10e6) * np.ones((45, 6))
    noise = pooled_noise(material, label, np.zeros((45, 6)), files, "deviation")
    np.testing.assert_allclose(noise[:40], 30e6)
    np.testing.assert_allclose(noise[40:], math.sqrt((5 * 10e6**2 + 30 * 20e6**2) / 35))
