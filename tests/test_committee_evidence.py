"""The physical prior's group scales fitted by evidence maximisation (scema.committee.evidence).

References: the closed-form log marginal likelihood of a linear-Gaussian model, checked against
the Gaussian density of the data under the prior predictive covariance evaluated directly
(scipy.stats.multivariate_normal); synthetic laws with a known coefficient per group and
Gaussian noise of known std; coverage against the binomial bounds of the nominal rate.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import torch
from scipy.stats import multivariate_normal

from scema.committee import features
from scema.committee.equivariance import equivariant_basis
from scema.committee.evidence import evidence_factors, fit_group_factors, group_equations, log_evidence
from scema.committee.fit import single_thread
from scema.committee.models import (
    GROUP_NAMES,
    N_COMPONENTS,
    N_PHYSICAL,
    RidgeMember,
    physical_prior_std,
    physical_regressors,
    regressor_groups,
)
from scema.committee.symmetry import CUBIC, augment
from scema.voigt import cubic_stiffness

C = cubic_stiffness(168e9, 121e9, 75e9)
TRIALS = 200
PATH, SECOND = GROUP_NAMES.index("path"), GROUP_NAMES.index("second_order")


def samples(n: int, rng, amplitude: float = 1e-2) -> np.ndarray:
    """Inputs (n, 18) of boxes saved at random strains and stepped by random increments (every
    combination of eps_s and d eps, so each group is identifiable)."""
    eps_s = rng.uniform(-amplitude, amplitude, (n, 6))
    d_eps = rng.uniform(-amplitude, amplitude, (n, 6))
    sigma_s = eps_s @ C.T + rng.normal(0.0, 0.01 * C[0, 0] * amplitude, (n, 6))
    return features(eps_s, sigma_s, d_eps)


def law(theta_groups: dict, basis, rng) -> np.ndarray:
    """(40, 6) coefficients (Pa per unit regressor) of a law drawn from the physical prior with
    each group's std multiplied by ``theta_groups`` (0: absent), tied by ``basis`` (None: free)."""
    tied = np.eye(N_PHYSICAL * N_COMPONENTS) if basis is None else basis
    from scema.committee.models import column_groups

    scale = np.array([theta_groups.get(g, 0.0) for g in GROUP_NAMES])[column_groups(tied)]
    w = (tied @ (scale * rng.standard_normal(tied.shape[1]))).reshape(N_PHYSICAL, N_COMPONENTS)
    return w * physical_prior_std(C)[:, None]


def deviation(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return physical_regressors(torch.as_tensor(x), torch.as_tensor(C)).numpy() @ w


def test_the_log_evidence_is_the_density_of_the_data_under_the_prior_predictive():
    rng = np.random.default_rng(0)
    x = samples(8, rng)
    noise = np.full(6, 20e6)
    y = deviation(x, law({"elastic": 1.0, "second_order": 1.0}, None, rng)) + rng.normal(0.0, 20e6, (8, 6))
    gram, rhs, groups = group_equations(x, y, noise, C)
    factors = np.array([0.5, 1.0, 0.1, 0.7])
    z = physical_regressors(torch.as_tensor(x), torch.as_tensor(C)).numpy() * physical_prior_std(C)

    def density(f):
        cw = np.diag(f[regressor_groups()] ** 2)
        return sum(
            multivariate_normal(np.zeros(8), z @ cw @ z.T + noise[c] ** 2 * np.eye(8)).logpdf(y[:, c]) for c in range(6)
        )

    other = np.array([1.0, 0.3, 1.0, 0.05])
    # up to a constant independent of the factors: the differences agree
    expected = density(factors) - density(other)
    assert np.isclose(log_evidence(factors, groups, gram, rhs) - log_evidence(other, groups, gram, rhs), expected)


def test_the_evidence_shrinks_an_absent_group_and_keeps_a_present_one():
    """A cubic crystal's law with second-order terms and no path dependence: the path group goes,
    the second-order group stays (at its physical guess)."""
    rng = np.random.default_rng(1)
    basis = equivariant_basis()
    x = samples(80, rng)
    noise = np.full(6, 5e6)
    w = law({"elastic": 1.0, "second_order": 1.0}, basis, rng)
    y = deviation(x, w) + rng.normal(0.0, 5e6, (80, 6))
    xa, ya = augment(x, y)
    factors = evidence_factors(xa, ya, noise, C, 1.0 / len(CUBIC), basis)
    assert factors[PATH] < 0.1
    assert factors[SECOND] == 1.0


def test_a_path_dependent_law_keeps_its_path_scale():
    """A history-dependent material (a glass: no cubic ties) whose stress depends on the increment
    apart from the total strain: the evidence keeps the path group near its physical guess."""
    rng = np.random.default_rng(2)
    x = samples(80, rng)
    noise = np.full(6, 5e6)
    w = law({"elastic": 1.0, "path": 1.0}, None, rng)
    y = deviation(x, w) + rng.normal(0.0, 5e6, (80, 6))
    factors = evidence_factors(x, y, noise, C)
    # the law's 72 path coefficients are drawn at the guess: their rms scatters ~10 % about it
    assert factors[PATH] > 0.7
    assert factors[SECOND] < 0.1  # and the second order it has not goes


def test_data_that_cannot_see_a_group_leave_its_scale_alone():
    """Samples at strains so small that the second-order terms are far below the noise: the evidence
    is flat along that scale, and the upper end of its interval is the physical guess."""
    rng = np.random.default_rng(3)
    x = samples(50, rng, amplitude=1e-4)
    noise = np.full(6, 30e6)
    y = rng.normal(0.0, 30e6, (50, 6))
    gram, rhs, groups = group_equations(x, y, noise, C)
    assert fit_group_factors(gram, rhs, groups)[SECOND] == 1.0


def test_the_evidence_fitted_std_covers_the_true_error_at_the_nominal_rate():
    """Laws drawn from the prior with the path group absent, fitted with evidence-fitted scales (the
    path group shrunk in most fits): |posterior mean - law| < 1.64 std at 90 % of new inputs 30 %
    beyond the training strains, one input and component per law so that the trials are
    independent, within the binomial bounds (3 sigma) of TRIALS trials."""
    basis = equivariant_basis()
    z = NormalDist().inv_cdf(0.95)
    hits, shrunk = 0, 0
    noise = np.full(6, 10e6)
    with single_thread():
        for k in range(TRIALS):
            rng = np.random.default_rng(100 + k)
            w = law({"intercept": 1.0, "elastic": 1.0, "second_order": 1.0}, basis, rng)
            x = samples(40, rng)
            y = deviation(x, w) + rng.normal(0.0, noise[0], (40, 6))
            xa, ya = augment(x, y)
            factors = evidence_factors(xa, ya, noise, C, 1.0 / len(CUBIC), basis)
            shrunk += factors[PATH] < 0.5
            member, w_mean = posterior_mean(xa, ya, noise, basis, factors)
            x_new = samples(1, rng, amplitude=1.3e-2)
            mean = physical_regressors(torch.as_tensor(x_new), torch.as_tensor(C)).numpy() @ w_mean
            c = k % N_COMPONENTS
            err = abs(mean[0, c] - deviation(x_new, w)[0, c])
            hits += err < z * member.posterior_std(x_new)[0, c]
    bound = 3.0 * np.sqrt(0.9 * 0.1 / TRIALS)
    assert 0.9 - bound <= hits / TRIALS <= 0.9 + bound
    assert shrunk > 0.8 * TRIALS  # the path group was in fact shrunk


def posterior_mean(xa, ya, noise, basis, factors) -> tuple[RidgeMember, np.ndarray]:
    """A member fitted on (xa, ya) and the posterior mean of its coefficients: the mean of a draw
    and its mirror image (same generator state, opposite sign; the labels are not perturbed)."""
    weights = []
    for sign in (1.0, -1.0):
        member = RidgeMember(8, 1)
        member.fit_physical(xa, ya, noise, C, np.random.default_rng(0), 1.0 / len(CUBIC), sign, basis, None, factors)
        weights.append(member.physical_weights.numpy())
    return member, 0.5 * (weights[0] + weights[1])


def test_a_version_records_its_prior_scales_and_untied_members_keep_the_guess(tmp_path):
    """metrics.nc holds the group factors the members were drawn under: evidence-fitted with the
    cubic ties (the absent path group shrunk, as ``evidence_factors`` finds it), all 1 without ties
    or with ``prior_evidence: false``."""
    from scema.committee import default_settings, train_committee
    from scema.io.netcdf import read_dataset

    rng = np.random.default_rng(5)
    basis = equivariant_basis()
    x = samples(60, rng)
    eps_t = x[:, :6] + x[:, 12:]
    stress = eps_t @ C.T + deviation(x, law({"elastic": 1.0, "second_order": 1.0}, basis, rng))
    stress += rng.normal(0.0, 5e6, stress.shape)
    noise = np.full_like(stress, 5e6)
    found = {}
    for name, symmetric, evidence in (("tied", True, True), ("untied", False, True), ("off", True, False)):
        settings = default_settings(size=2, architecture="ridge", target="deviation", seed=0, prior_evidence=evidence)
        info = train_committee(x, stress, settings, tmp_path / name, noise, C, symmetric=symmetric)
        found[name] = read_dataset(tmp_path / name / "metrics.nc")["prior_scale_factor"]
        assert list(found[name]["prior_group"].values) == list(GROUP_NAMES)
        if info["prior_factors"] is not None:
            np.testing.assert_array_equal(found[name].values, info["prior_factors"])
    assert found["tied"].sel(prior_group="path") < 0.1
    np.testing.assert_array_equal(found["untied"].values, 1.0)
    np.testing.assert_array_equal(found["off"].values, 1.0)
