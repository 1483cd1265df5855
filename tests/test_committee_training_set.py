"""committee_update reads one accumulated training set per step and trains ridge members from two
sums over the samples (issue 12): the results are those of the old path, which read every earlier
step's sample file and built every sample's 24 cube images per member (to round-off)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from committee_history import C, law, run_history
from scema import seeds
from scema.committee import Committee, CommitteeSettings, default_settings, features, schema_defaults, train_committee
from scema.committee.data import STRESS_SCALE_FLOOR_PA, Scalers, learned_target
from scema.committee.equivariance import equivariant_basis
from scema.committee.evidence import evidence_factors
from scema.committee.models import RidgeMember, build_member
from scema.committee.symmetry import CUBIC, augment
from scema.committee.train import member_seed, split_indices
from scema.io.netcdf import read_dataset

MEASURED = (2.5e6, 2e8)  # Pa: copper's measured intercept and elastic scales
# and a second-order law the prior is centred on (committee.zero_kelvin_law; any (21, 6) Pa will do)
WITH_LAW = (*MEASURED, None, np.random.default_rng(7).normal(0.0, 3e11, (21, 6)))


def _samples(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, MD stress, noise) of boxes saved at 0.9 of their strain (1 % scatter) on a law
    without path dependence: the evidence shrinks the elastic and path groups (factors < 1)."""
    rng = np.random.default_rng(seed)
    eps = rng.normal(0.0, 1e-2, (n, 6))
    saved = 0.9 * eps
    x = features(saved, law(saved, np.ones(n)), eps - saved)
    noise = rng.uniform(15e6, 25e6, (n, 6))
    return x, law(eps, np.ones(n)) + noise * rng.standard_normal((n, 6)), noise


def rows_committee(x, y, noise, settings, symmetric: bool, measured=MEASURED) -> list[RidgeMember]:
    """The members as train_committee built them before the moments: each member's perturbed
    labels and every sample's 24 images as rows, the evidence fitted on the images' rows."""
    learned = learned_target(x, y, settings.target, C)
    train, _ = split_indices(len(x), settings.validation_fraction, settings.seed)
    x_tr, l_tr = x[train], learned[train]
    noise_std = np.maximum(np.sqrt(np.mean(noise[train] ** 2, axis=0)), STRESS_SCALE_FLOOR_PA)
    basis = equivariant_basis() if symmetric else None
    images = len(CUBIC) if symmetric else 1
    factors = None
    if symmetric and settings.prior_evidence:
        factors = evidence_factors(*augment(x_tr, l_tr), noise_std, C, 1.0 / images, basis, measured)
    members = []
    for i in range(settings.size):
        sign = 1.0 - 2.0 * (i % 2)
        rng = seeds.rng(member_seed(settings.seed, i - i % 2), "posterior")
        x_b, l_b = x_tr, l_tr + sign * rng.standard_normal(l_tr.shape) * noise_std
        x_b, l_b = augment(x_b, l_b) if symmetric else (x_b, l_b)
        member = build_member("ridge", settings.width, settings.depth, scalers=Scalers.identity(), offset=False)
        anchor = noise_std if settings.target == "correction" else None
        member.fit_physical(x_b, l_b, noise_std, C, rng, 1.0 / images, sign, basis, anchor, factors, measured)
        members.append(member)
    return members


@pytest.mark.parametrize(
    ("target", "symmetric", "evidence", "measured"),
    [
        ("deviation", True, True, MEASURED),
        ("deviation", False, True, MEASURED),
        ("correction", True, False, MEASURED),
        ("deviation", True, True, WITH_LAW),
    ],
)
def test_members_from_the_sums_are_the_members_from_every_image_row(tmp_path, target, symmetric, evidence, measured):
    """Posterior draws and their covariances: the sums over samples with the images' actions in
    closed form against the 24 n rows each member used to build (same split, same label draws)."""
    x, y, noise = _samples(120, seed=3)
    settings = default_settings(target=target, prior_evidence=evidence)
    info = train_committee(x, y, settings, tmp_path / "v", noise, C, symmetric, measured)
    members = [member.net for member in Committee.load(tmp_path / "v").members]
    reference = rows_committee(x, y, noise, settings, symmetric, measured)
    for new, old in zip(members, reference, strict=True):
        for buffer in ("physical_weights", "physical_cov", "prior_std", "anchor_noise"):
            a, b = getattr(new, buffer).numpy(), getattr(old, buffer).numpy()
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12 * np.abs(b).max(), err_msg=buffer)
    if evidence and symmetric:  # the group scales were fitted (not all 1) and agree
        assert np.any(np.asarray(info["prior_factors"]) < 1.0)


@pytest.mark.parametrize("materials", [1, 2])
def test_the_accumulated_training_set_gives_what_every_earlier_sample_file_gave(tmp_path, materials):
    """Eight steps of the stages (version 0 with two materials, retrained every second step there).
    From the per-step sample files, as the stage read them before: each step's training set is
    their concatenation, its pooled noise, the run's audit pass fractions and the suspension verdict
    are those of the files, and each version equals one trained on the files' samples."""
    from scema.stages.committee_update import (
        audit_suspends,
        material_data,
        material_prior_scales,
        pass_fractions,
        pooled_noise_of,
        run_audits,
    )

    steps, d = 8, tmp_path / "run"
    committee = {**schema_defaults(), "enabled": True}
    if materials == 2:
        committee.update(prior_version=True, train_frequency=2)
    run_history(d, steps, committee, n_qps=48, materials=materials)
    names = ["copper", "stiff"][:materials]
    files = {name: str(d / f"{name}.nc") for name in names}
    stiffness, _ = material_data(files, names, dict.fromkeys(names, "cubic"))
    scales = material_prior_scales(committee, files, names, dict.fromkeys(names, "cubic"))
    paths = [str(d / f"samples{t}.nc") for t in range(1, steps + 1)]
    trained = 0
    for t in range(1, steps + 1):
        samples, record = read_dataset(paths[t - 1]), read_dataset(d / f"record{t}.nc")
        files_so_far = xr.concat([read_dataset(p) for p in paths[:t]], dim="sample")
        training_set = read_dataset(d / f"training_set{t}.nc")
        assert training_set.attrs["step"] == t
        for v in files_so_far.data_vars:
            np.testing.assert_array_equal(training_set[v].values, files_so_far[v].values, err_msg=v)
        np.testing.assert_array_equal(samples["pooled_noise"].values, pooled_noise_of(samples, paths[: t - 1]))
        earlier = [read_dataset(p) for p in paths[: t - 1]]
        expected = pass_fractions(run_audits(samples, earlier), materials, 30e6)
        for key in ("estimated", "lower"):
            recorded = record[f"run_audit_pass_fraction_{key}"].values
            np.testing.assert_array_equal(
                recorded, expected["run_pass_fraction" + ("_lower" if key == "lower" else "")]
            )
        for m in range(materials):
            before = read_dataset(d / f"training_set{t - 1}.nc") if t > 1 else None
            assert audit_suspends(samples, m, 30e6, 0.1, before) == audit_suspends(
                samples, m, 30e6, 0.1, paths[: t - 1]
            )
            previous = read_dataset(d / f"record{t - 1}.nc")
            if record["version"].values[m] == previous["version"].values[m]:
                continue
            trained += 1
            of_m = files_so_far.isel(sample=np.flatnonzero(files_so_far["material"].values == m))
            train_committee(
                of_m["inputs"].values,
                of_m["stress"].values,
                CommitteeSettings.from_config(committee),
                tmp_path / f"reference_{t}_{m}",
                noise=of_m["pooled_noise"].values,
                stiffness=stiffness[m],
                symmetric=True,
                measured=scales.get(m),
            )
            stage = [s.net for s in Committee.load(str(record["directory"].values[m])).members]
            reference = [r.net for r in Committee.load(tmp_path / f"reference_{t}_{m}").members]
            for a, b in zip(stage, reference, strict=True):
                np.testing.assert_array_equal(a.physical_weights.numpy(), b.physical_weights.numpy())
                np.testing.assert_array_equal(a.physical_cov.numpy(), b.physical_cov.numpy())
    assert trained >= steps // 2 * materials  # versions were trained along the way and compared
