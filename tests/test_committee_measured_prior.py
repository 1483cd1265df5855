"""The prior's intercept and elastic scales from the material's measurements, and version 0, the
prior alone, answering the first load step (scema.committee.measured_prior, committee.measured_prior).

References: the analytic prior variance of independent coefficients; a Monte Carlo of the
stiffness measurement; copper's second-order stress law with Hiki and Granato's third-order
constants (test_committee_prior.copper_law) as the "MD".
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from scema.committee import Committee, decide, default_settings, features
from scema.committee.acceptance import audits_show_inaccurate
from scema.committee.measured_prior import measured_scales, prior_version, reference_error, stiffness_error
from scema.committee.models import PAIRS, PRIOR_PATH, PRIOR_SECOND_ORDER
from scema.committee.train import enough_samples
from scema.symmetry import project
from scema.voigt import cubic_stiffness
from test_committee_prior import C, bar_path, copper_law

ACCURACY = 30e6
Z = 1.6448536269514722  # trust factor at audit_tolerance 0.1
MEASURED = (2.5e6, 0.2e9)  # the 500-atom copper bar's measured intercept (Pa) and elastic (Pa) scales
NOISE = 27e6  # that bar's MD noise per component (2 replicas)


def settings(**kw):
    return default_settings(size=4, architecture="ridge", target="deviation", seed=0, **kw)


def test_reference_error_is_the_standard_error_of_the_replica_mean():
    """Monte Carlo: replicas whose references err by N(0, SE_r^2); the replica mean's error has
    the std reference_error gives, for the worst component."""
    rng = np.random.default_rng(1)
    se = np.array([[3.0, 3.4, 2.8, 1.9, 1.9, 1.5], [3.0, 3.8, 3.1, 1.4, 1.5, 1.5]]) * 1e6
    draws = rng.standard_normal((200_000, *se.shape)) * se
    observed = draws.mean(axis=1).std(axis=0).max()
    assert reference_error(se) == pytest.approx(observed, rel=0.01)


def test_stiffness_error_bounds_the_error_of_the_projected_constants():
    """Monte Carlo of the measurement: every raw entry of each replica's central-difference C off
    by N(0, s^2). The error returned is about s / sqrt(R), and at least the real std of the
    projected C11, C12, C44 (which also average the entries a cubic crystal ties: conservative)."""
    rng = np.random.default_rng(2)
    s, replicas, true = 0.5e9, 2, cubic_stiffness(164e9, 120e9, 72e9)
    errors, estimates = [], []
    for _ in range(2000):
        raw = true + rng.normal(0.0, s, (replicas, 6, 6))
        c = project(raw.mean(axis=0), "cubic")
        errors.append([c[0, 0] - true[0, 0], c[0, 1] - true[0, 1], c[3, 3] - true[3, 3]])
        estimates.append(stiffness_error(raw, "cubic"))
    real = np.std(errors, axis=0)
    estimate = np.mean(estimates)
    assert estimate == pytest.approx(s / np.sqrt(2 * replicas), rel=0.1)  # symmetrised entries: s / sqrt(2)
    assert np.all(real <= estimate)
    assert stiffness_error(true[None], "none") is None  # measured once, nothing ties it: no estimate


def test_measured_scales_need_the_reference_error_in_the_file():
    stiffness = np.stack([cubic_stiffness(164e9, 120e9, 72e9)] * 2)
    ds = xr.Dataset({"stiffness": (("replica", "i", "j"), stiffness)})
    assert measured_scales(ds, "cubic") is None
    ds["reference_stress_standard_error"] = (("replica", "component"), np.full((2, 6), 3e6))
    intercept, elastic = measured_scales(ds, "cubic")
    assert intercept == pytest.approx(3e6 / np.sqrt(2))
    assert elastic == 0.0  # two identical cubic measurements: no scatter
    # reference_estimator rest_updates: the error about the rest states' mean (2 MPa) is not the
    # reference's error once boxes leave those states; the window's (9 MPa in yz) bounds it
    ds["reference_stress_standard_error"] = (("replica", "component"), np.full((2, 6), 2e6))
    window = np.full((2, 6), 4e6)
    window[:, 3] = 9e6
    ds["window_reference_standard_error"] = (("replica", "component"), window)
    intercept, _ = measured_scales(ds, "cubic")
    assert intercept == pytest.approx(9e6 / np.sqrt(2))


def analytic_prior_std(eps_t: np.ndarray, d_eps: np.ndarray, intercept: float, elastic: float) -> np.ndarray:
    """Independent coefficients w ~ N(0, p^2): var = intercept^2 + elastic^2 |eps_t|^2 + (0.01 c)^2
    |d eps|^2 (the state deviation is 0 at rest) + (4 c)^2 sum_{i<=j} (eps_i eps_j)^2, per component."""
    c = np.max(np.diag(C))
    products = eps_t[:, PAIRS[0].numpy()] * eps_t[:, PAIRS[1].numpy()]
    var = (
        intercept**2
        + elastic**2 * np.sum(eps_t**2, axis=1)
        + (PRIOR_PATH * c) ** 2 * np.sum(d_eps**2, axis=1)
        + (PRIOR_SECOND_ORDER * c) ** 2 * np.sum(products**2, axis=1)
    )
    return np.sqrt(var)


def test_version_0_answers_c_eps_with_the_analytic_prior_std(tmp_path):
    """Before any sample: mean C eps exactly, std the prior's (untied: analytic), trusted at the first
    load step of the copper bar and within the accuracy of copper's law (third-order constants)."""
    eps = bar_path(96, 1, seed=3)
    x = features(np.zeros_like(eps), np.zeros_like(eps), eps)  # every box at rest
    model = Committee.load(prior_version(C, MEASURED, settings(), tmp_path / "v0", symmetric=False))
    mean, std = model.predict(x)
    np.testing.assert_allclose(mean, eps @ C.T, rtol=0, atol=1e-3)
    expected = analytic_prior_std(eps, eps, *MEASURED)
    np.testing.assert_allclose(std, np.repeat(expected[:, None], 6, axis=1), rtol=1e-6)
    trusted = decide(std, ACCURACY, model.trust_factor(0.1))
    assert trusted.all()
    assert np.abs(mean - copper_law(eps)).max() < ACCURACY / Z


def test_version_0_of_the_fixed_guesses_would_refuse_the_first_step(tmp_path):
    """Why measured: with the guessed intercept (2e-4 c = 34 MPa) alone the std is above the accuracy."""
    eps = bar_path(96, 1, seed=3)
    c = np.max(np.diag(C))
    model = Committee.load(prior_version(C, (2e-4 * c, 0.04 * c), settings(), tmp_path / "v0", symmetric=True))
    _, std = model.predict(features(np.zeros_like(eps), np.zeros_like(eps), eps))
    assert not decide(std, ACCURACY, model.trust_factor(0.1)).any()


def test_a_wrong_stiffness_is_trusted_by_version_0_and_caught_by_its_audits(tmp_path):
    """Version 0 believes its C: built on 1.5 C it still trusts the first step (its std does not know),
    and its answers are ~70 MPa off copper's law; audits of every trusted qp with the bar's MD noise
    show it (the variance test the stage suspends on), while those of the right C do not."""
    rng = np.random.default_rng(4)
    eps = bar_path(96, 1, seed=5)
    x = features(np.zeros_like(eps), np.zeros_like(eps), eps)
    md = copper_law(eps) + rng.normal(0.0, NOISE, eps.shape)
    noise = np.full_like(eps, NOISE)
    verdicts = {}
    for name, stiffness in (("right", C), ("wrong", 1.5 * C)):
        model = Committee.load(prior_version(stiffness, MEASURED, settings(), tmp_path / name, symmetric=True))
        mean, std = model.predict(x)
        trusted = decide(std, ACCURACY, model.trust_factor(0.1))
        assert trusted.all()
        verdicts[name] = audits_show_inaccurate(mean[trusted] - md[trusted], noise[trusted], ACCURACY, 0.1)
    assert verdicts == {"right": False, "wrong": True}


@pytest.mark.parametrize(
    ("n", "fraction", "expected"), [(5, 0.2, False), (7, 0.2, False), (8, 0.2, True), (6, 0.4, True)]
)
def test_a_version_is_trained_once_the_samples_can_be_split(n, fraction, expected):
    """Five audits of version 0 cannot be split into >= 4 training and >= 2 held-out samples."""
    assert enough_samples(n, fraction) is expected


def _copper_file(path, replicas: int = 2):
    """A material.nc as material_init writes it: per replica C (here the copper bar's scatter) and
    the reference standard error."""
    from scema.io.netcdf import component_coord, index_coord, write_dataset

    rng = np.random.default_rng(6)
    stiffness = C[None] + rng.normal(0.0, 0.5e9, (replicas, 6, 6))
    ds = xr.Dataset(
        {
            "stiffness": (("replica", "i", "j"), stiffness, {"units": "Pa", "long_name": "stiffness"}),
            "reference_stress_standard_error": (
                ("replica", "component"),
                np.full((replicas, 6), 3.5e6),
                {"units": "Pa", "long_name": "reference standard error"},
            ),
        },
        coords={
            **index_coord("replica", replicas, "replica"),
            **component_coord(),
            "i": ("i", np.arange(6), {"units": "1", "long_name": "i"}),
            "j": ("j", np.arange(6), {"units": "1", "long_name": "j"}),
        },
    )
    write_dataset(ds, path, "material")


def test_the_stages_answer_step_1_with_version_0_and_keep_it_until_a_version_can_be_trained(tmp_path):
    """committee_start writes version 0 (accepted: its audits judge it); step 1 of a 96-qp bar at rest
    is answered C eps for all but its 5 audits; 5 samples cannot be split, so step 1's record keeps
    version 0; with prior_version or measured_prior false there is no version until samples exist."""
    from scema.committee.settings import schema_defaults
    from scema.io.datasets import DECISIONS, SOURCE_FLAGS, md_state_dataset, strain_dataset, stress_dataset
    from scema.io.netcdf import read_dataset, write_dataset
    from scema.stages import committee_query, committee_update

    committee = {**schema_defaults(), "enabled": True, "target": "deviation", "architecture": "ridge"}
    committee["prior_version"] = True
    names, symmetries = ["copper"], {"copper": "cubic"}
    files = {"copper": str(tmp_path / "copper.nc")}
    _copper_file(files["copper"])
    d = tmp_path
    committee_update.start(committee, names, symmetries, files, str(d / "record0.nc"), str(d / "committee"))
    rec0 = read_dataset(d / "record0.nc")
    assert int(rec0["version"].values[0]) == 0 and int(rec0["accepted"].values[0]) == 1
    assert str(rec0["directory"].values[0]).endswith("copper/v0")

    n = 96
    eps = bar_path(n, 1, seed=7)
    material = np.zeros(n, np.int64)
    write_dataset(strain_dataset(1, eps, eps, np.zeros((n, 3)), np.arange(n), material, names), d / "s1.nc", "strain")
    rest = np.array([["replica_0.data", "replica_1.data"]] * n, dtype=object)
    write_dataset(md_state_dataset(0, rest, np.zeros((n, 2, 6)), np.zeros((n, 2, 6))), d / "st0.nc", "md state")
    committee_query.run(
        committee, 7, names, 1, str(d / "s1.nc"), str(d / "st0.nc"), str(d / "record0.nc"), str(d / "q1.nc")
    )
    q = read_dataset(d / "q1.nc")
    stiffness, _ = committee_update.material_data(files, names, symmetries)
    np.testing.assert_allclose(q["mean"].values, eps @ stiffness[0].T, atol=1e-3)
    audited = q["decision"].values == DECISIONS["audit"]
    assert audited.sum() == 5 and (q["decision"].values == DECISIONS["committee"]).sum() == n - 5

    md = copper_law(eps)
    source = np.where(audited, SOURCE_FLAGS["md"], SOURCE_FLAGS["committee"])
    stress = np.where(audited[:, None], md, q["mean"].values)
    replica_std = np.where(audited[:, None], NOISE * np.sqrt(2), np.zeros((n, 6)))
    write_dataset(stress_dataset(1, stress, replica_std, source, eps), d / "x1.nc", "stress")
    committee_update.run(
        committee,
        names,
        symmetries,
        1,
        str(d / "s1.nc"),
        str(d / "x1.nc"),
        str(d / "st0.nc"),
        str(d / "q1.nc"),
        str(d / "record0.nc"),
        None,
        files,
        str(d / "samples1.nc"),
        str(d / "training_set1.nc"),
        str(d / "record1.nc"),
        committee_root=str(d / "committee"),
    )
    rec1 = read_dataset(d / "record1.nc")
    assert int(rec1["n_samples"].values[0]) == 5
    assert int(rec1["version"].values[0]) == 0 and str(rec1["directory"].values[0]) == str(rec0["directory"].values[0])
    assert int(rec1["suspended"].values[0]) == 0  # right C: its audits pass

    for off in ({"measured_prior": False}, {"prior_version": False}):
        committee_update.start({**committee, **off}, names, symmetries, files, str(d / "off.nc"))
        assert str(read_dataset(d / "off.nc")["directory"].values[0]) == ""
