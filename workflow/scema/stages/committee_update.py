"""Committee update (method section 6), after aggregation: samples, retraining, audit records.

Per step the stage writes

- ``training_samples.nc``: every MD stress of the step with its inputs, its MD noise, its
  material, and for audits the committee's answer beside it. Written once, atomically, so a
  killed and resumed run neither loses nor duplicates samples or audit records;
- ``training_set.nc``: the previous step's set with this step's samples appended, the one file
  the next step reads for everything earlier (training set, pooled noise, the run's audits);
- ``committee.nc`` (``scema.stages.committee_record``): the record the next step's query reads,
  with a material's committee retrained when its training set grew by train_frequency.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from scema.config import uses_measured_prior
from scema.io.datasets import (
    DECISIONS,
    SOURCE_FLAGS,
    committee_record_dataset,
    training_samples_dataset,
    training_set_dataset,
)
from scema.io.netcdf import read_dataset, write_dataset
from scema.stages.committee_query import committee_decision, query_inputs
from scema.stages.committee_record import audit_statistics

log = logging.getLogger(__name__)


def sample_noise(replica_stress: np.ndarray, material: np.ndarray, sampling_noise: dict[int, np.ndarray]) -> np.ndarray:
    """MD noise (n, 6) Pa of replica-mean stresses from their replicas (n, R, 6): replica std /
    sqrt(R), or with one replica the material's sampling noise (0 where the material file has
    none: conservative). All-zero stresses are reference boxes: exact by definition, noise 0."""
    n, replicas = replica_stress.shape[:2]
    if replicas > 1:
        noise = replica_stress.std(axis=1, ddof=1) / np.sqrt(replicas)
    else:
        noise = np.stack([sampling_noise.get(int(m), np.zeros(6)) for m in material]) if n else np.zeros((0, 6))
    return np.where(np.all(replica_stress == 0, axis=(1, 2))[:, None], 0.0, noise)


Earlier = xr.Dataset | Sequence[str] | None
"""The samples of the steps before: the previous step's accumulated training set (what the stage
reads) or, for runs and tests that hold them, the per-step sample files in step order."""


def newest_first(earlier: Earlier) -> Iterator[xr.Dataset]:
    """Each earlier step's samples, the newest step first, only as far as the caller iterates: from a
    training set (``training_set_dataset``) by ``step_id``, every step down to 1 (a step without
    samples as an empty set, as its file would be), or from sample files, read one at a time."""
    if isinstance(earlier, xr.Dataset):
        step_id = earlier["step_id"].values
        for step in range(int(earlier.attrs["step"]), 0, -1):
            rows = slice(np.searchsorted(step_id, step, "left"), np.searchsorted(step_id, step, "right"))
            yield earlier.isel(sample=rows)
    else:
        for path in reversed(list(earlier or ())):
            yield read_dataset(path)


def pooled_noise(
    material: np.ndarray, label: np.ndarray, anchor: np.ndarray, earlier: Earlier, target: str
) -> np.ndarray:
    """Per sample the comparison noise pooled over its material's MD samples of this step and,
    until ``MIN_POOLED_SAMPLES`` are pooled, of the most recent earlier steps (``earlier``, read
    newest first, only as far as needed). Why: ``scema.committee.noise``."""
    from scema.committee.noise import MIN_POOLED_SAMPLES, pooled_sample_noise

    materials = np.unique(material)
    labels = {m: [label[material == m]] for m in materials}
    anchors = {m: [anchor[material == m]] for m in materials}

    def count(sets: list[np.ndarray]) -> int:  # samples with a noise estimate (not exact zeros)
        return sum(int(np.any(s > 0, axis=1).sum()) for s in sets)

    def enough(m) -> bool:
        return count(labels[m]) >= MIN_POOLED_SAMPLES and (
            target != "correction" or count(anchors[m]) >= MIN_POOLED_SAMPLES
        )

    for step in newest_first(earlier):
        if all(enough(m) for m in materials):
            break
        for m in materials:
            of_m = step["material"].values == m
            labels[m].append(step["noise"].values[of_m])
            anchors[m].append(step["anchor_noise"].values[of_m])
    out = np.zeros_like(label)
    for m in materials:
        out[material == m] = pooled_sample_noise(labels[m], anchors[m], target)
    return out


def pooled_noise_of(samples: xr.Dataset, earlier: Earlier = ()) -> np.ndarray:
    """``pooled_noise`` of a stored training-samples dataset as this stage computes it (for runs
    written before the variable existed); ``earlier``: the steps before (``Earlier``)."""
    if not isinstance(earlier, xr.Dataset):
        earlier = [str(p) for p in earlier]
    return pooled_noise(
        samples["material"].values,
        samples["noise"].values,
        samples["anchor_noise"].values,
        earlier,
        samples.attrs["target"],
    )


def training_samples(
    step: int,
    strain_path: str,
    stress_path: str,
    prev_md_state: str,
    query_path: str,
    sampling_noise: dict[int, np.ndarray],
    target: str,
    earlier: Earlier = None,
) -> xr.Dataset:
    """(inputs, MD stress, noise) of every qp whose stress came from its own MD at this step;
    ``earlier``: the samples of steps 1..t-1 (``Earlier``; for the pooled noise)."""
    from scema.committee.noise import comparison_noise

    stress = read_dataset(stress_path)
    state = read_dataset(prev_md_state)
    replicas = state.sizes["replica"]
    material = read_dataset(strain_path)["material"].values.astype(np.int64)
    md = np.flatnonzero(stress["source"].values == SOURCE_FLAGS["md"])
    inputs = query_inputs(strain_path, prev_md_state)[md]
    _, audited, mean, _ = committee_decision(query_path, material.size)
    if replicas > 1:
        label_noise = stress["stress_replica_std"].values[md] / np.sqrt(replicas)
    else:
        label_noise = sample_noise(stress["stress"].values[md, None], material[md], sampling_noise)
    anchor_noise = sample_noise(state["state_stress"].values[md], material[md], sampling_noise)
    pooled = pooled_noise(material[md], label_noise, anchor_noise, earlier, target)
    return training_samples_dataset(
        step,
        target,
        md,
        material[md],
        inputs,
        stress["stress"].values[md],
        label_noise,
        anchor_noise,
        comparison_noise(label_noise, anchor_noise, target),
        pooled,
        np.where(audited[md, None], mean[md], np.nan),
        audited[md],
    )


def audit_errors(samples: xr.Dataset, m: int, accuracy_pa: float) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(error stats, net error stats, failed fraction, exact committee's pass fraction) of
    material m's audits; NaN when none.

    Per audited qp the largest component of |committee - MD|, and of the same net of the pooled
    MD noise, sqrt(max(0, err^2 - noise^2)); statistics median, p90, max over qps. The failed
    fraction (net error above the accuracy) reads against the last number: the share of single
    audits an exact committee would pass at this noise (``scema.committee.noise``).
    """
    from scema.committee import net_error
    from scema.committee.noise import exact_pass_fraction

    rows = (samples["audited"].values == 1) & (samples["material"].values == m)
    if not rows.any():
        return np.full(3, np.nan), np.full(3, np.nan), np.nan, np.nan
    err = np.abs(samples["committee_stress"].values[rows] - samples["stress"].values[rows])
    noise = samples["pooled_noise"].values[rows]
    net = net_error(err, noise).max(axis=1)
    return (
        audit_statistics(err.max(axis=1)),
        audit_statistics(net),
        float(np.mean(net > accuracy_pa)),
        float(np.mean(exact_pass_fraction(noise, accuracy_pa))),
    )


def audit_rows(samples: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(committee - MD, pooled MD noise, material) of a training-sample set's audits."""
    rows = samples["audited"].values == 1
    error = samples["committee_stress"].values[rows] - samples["stress"].values[rows]
    return error, samples["pooled_noise"].values[rows], samples["material"].values[rows]


def run_audits(samples: xr.Dataset, earlier: list[xr.Dataset] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``audit_rows`` of this step and every earlier step's samples (``earlier``, each a step's
    samples or a training set) together: the stage's ``audit_rows`` of its training set."""
    sets = [audit_rows(ds) for ds in earlier] + [audit_rows(samples)]
    return tuple(np.concatenate([s[k] for s in sets]) for k in range(3))


def audit_pass_fraction(
    error: np.ndarray, noise: np.ndarray, material: np.ndarray, accuracy_pa: float
) -> tuple[float, float]:
    """(estimate, lower bound) of the share of audited qps within the accuracy net of the MD
    noise (``scema.committee.pass_fraction``): the quantity issue 8's goal is stated in, which
    the share of single audits within it (``audit_errors``) cannot give when the noise is near
    the accuracy. NaN with fewer than two audits of a material."""
    from scema.committee.noise import MIN_POOLED_SAMPLES
    from scema.committee.pass_fraction import estimate_pass_fraction

    if not len(error):
        return np.nan, np.nan
    fit = estimate_pass_fraction(error, noise, accuracy_pa, material, noise_dof=MIN_POOLED_SAMPLES)
    return fit.estimate, fit.lower


def pass_fractions(so_far: tuple, n_materials: int, accuracy_pa: float) -> dict:
    """committee.nc's pass fractions over the audits of the run so far (``so_far``: ``run_audits``):
    per material (``pass_fraction``, ``pass_fraction_lower``) and all materials together
    (``run_pass_fraction``, ``run_pass_fraction_lower``). The latter is summary.nc's value of this
    step, recorded here so that the summary reads one pair per step instead of refitting the
    run's audits at every step (O(steps^2) audits bootstrapped over a run). With the audits of
    one material it is that material's own fit (the same call on the same rows); with several,
    one fit over all of them, as the summary made it."""
    error, noise, material = so_far
    out = {"pass_fraction": np.full(n_materials, np.nan), "pass_fraction_lower": np.full(n_materials, np.nan)}
    for m in range(n_materials):
        rows = material == m
        out["pass_fraction"][m], out["pass_fraction_lower"][m] = audit_pass_fraction(
            error[rows], noise[rows], material[rows], accuracy_pa
        )
    audited = np.unique(material)
    if len(audited) == 1:
        m = int(audited[0])
        out["run_pass_fraction"], out["run_pass_fraction_lower"] = (
            out["pass_fraction"][m],
            out["pass_fraction_lower"][m],
        )
    else:
        out["run_pass_fraction"], out["run_pass_fraction_lower"] = audit_pass_fraction(*so_far, accuracy_pa)
    return out


MIN_POOLED_AUDITS = 15


def recent_audits(samples: xr.Dataset, m: int, earlier: Earlier = ()) -> tuple[np.ndarray, np.ndarray]:
    """(committee - MD, pooled noise), each (n, 6), of material m's audits at this step and, until
    ``MIN_POOLED_AUDITS`` are pooled, of the steps just before it (``earlier``, read newest
    first), back to the first step without audits of m: a suspended step
    has none, so a committee re-accepted after a suspension is judged on its own audits only.
    Why pooled: five audits a step resolve only errors far above the accuracy
    (``scema.committee.acceptance.audits_show_inaccurate``); the versions of consecutive steps
    differ by a step's samples. Nothing when this step has no audit of m."""

    def of_m(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
        error, noise, material = audit_rows(ds)
        return error[material == m], noise[material == m]

    sets = [of_m(samples)]
    for step in newest_first(earlier):
        if not len(sets[-1][0]) or sum(len(e) for e, _ in sets) >= MIN_POOLED_AUDITS:
            break
        sets.append(of_m(step))
    sets = [s for s in sets if len(s[0])]
    if not sets:
        return np.zeros((0, 6)), np.zeros((0, 6))
    return np.concatenate([e for e, _ in sets]), np.concatenate([n for _, n in sets])


def audit_suspends(samples: xr.Dataset, m: int, accuracy_pa: float, tolerance: float, earlier: Earlier = ()) -> bool:
    """Do material m's audits show, beyond the MD noise, that its committee misses the accuracy?

    One audit cannot: with MD noise near or above the accuracy (~29 MPa against 30 on the
    500-atom copper bar) |committee - MD| of a perfect committee exceeds 30 MPa in some
    component at many audits. Taken together they can: the audits of this step and the steps
    just before it (``recent_audits``), noise pooled over the material's MD samples as for the
    held-out acceptance, judged by ``scema.committee.acceptance.audits_show_inaccurate`` (an
    accurate committee is suspended at a step with probability about <= ``tolerance``).
    """
    from scema.committee.acceptance import audits_show_inaccurate
    from scema.committee.noise import MIN_POOLED_SAMPLES

    error, noise = recent_audits(samples, m, earlier)
    return audits_show_inaccurate(error, noise, accuracy_pa, tolerance, MIN_POOLED_SAMPLES)


def still_suspended(suspended: bool, audits_failed: bool, accepted_version_trained: bool) -> bool:
    """Suspended after this step's update? A version trained at the step its predecessor's audits
    failed does not lift the suspension: it differs from the failed one by a step's samples and
    its held-out test, over the whole training set, does not see the audits' evidence (the copper
    bar retrained every step, so a suspension was lifted as it was set). The next step then runs
    everything by MD, and a version trained on that is accepted or not on fresh samples."""
    if audits_failed:
        return True
    return suspended and not accepted_version_trained


def _as_dataset(source: str | xr.Dataset) -> xr.Dataset:
    """A material file's dataset, read unless the caller already holds it (``read_materials``)."""
    return source if isinstance(source, xr.Dataset) else read_dataset(source)


def read_materials(material_files: dict[str, str]) -> dict[str, xr.Dataset]:
    """Each material's material.nc, read once for ``material_data`` and ``material_prior_scales``."""
    return {name: read_dataset(path) for name, path in material_files.items()}


def material_data(material_files: dict[str, str | xr.Dataset], material_names: list[str], symmetries: dict[str, str]):
    """Per material index: stiffness C (replica mean, symmetry-projected as on the FE side) and
    sampling noise (component,) Pa when the material file has it. ``material_files``: name -> path,
    or the files already read (``read_materials``)."""
    from scema.symmetry import project

    stiffness, noise = {}, {}
    for name, source in material_files.items():
        ds = _as_dataset(source)
        m = material_names.index(name)
        stiffness[m] = project(ds["stiffness"].mean("replica").values, symmetries[name])
        if "sampling_noise" in ds:
            noise[m] = ds["sampling_noise"].values.astype(float)
    return stiffness, noise


def material_prior_scales(
    committee: dict,
    material_files: dict[str, str | xr.Dataset],
    material_names: list[str],
    symmetries,
    zero_kelvin_files: dict[str, str] | None = None,
):
    """Material index -> (intercept Pa, elastic Pa[, None, 0 K second-order law (21, 6) Pa]) measured
    by material_init (and material_zero_kelvin, for the materials in ``zero_kelvin_files``), for the
    materials where ``committee.measured_prior`` applies and the file measures both (others: the
    fixed guesses). ``material_files`` as for ``material_data``."""
    from scema.committee.measured_prior import measured_scales

    if not uses_measured_prior(committee):
        return {}
    out = {}
    for name, source in material_files.items():
        scales = measured_scales(_as_dataset(source), symmetries[name])
        if scales is not None:
            law = (zero_kelvin_files or {}).get(name)
            out[material_names.index(name)] = scales if law is None else (*scales, None, zero_kelvin_law(law))
    return out


def zero_kelvin_law(path: str) -> np.ndarray:
    """(21, 6) Pa: a material_zero_kelvin file's second-order law."""
    return read_dataset(path)["second_order"].values


def start(
    committee: dict,
    material_names: list[str],
    symmetries: dict[str, str],
    material_files: dict[str, str],
    out_record: str,
    committee_root: str = "results/committee",
    zero_kelvin_files: dict[str, str] | None = None,
) -> None:
    """Step 0's record: with ``committee.prior_version`` (and ``measured_prior``), each material's
    version 0, the physical prior alone with its measured scales (mean C eps), which answers where
    its std allows until a version can be trained on the samples, its audits among them."""
    from scema.stages.committee_record import write_initial_record

    if not committee["prior_version"]:  # the workflow passes no other setting then
        write_initial_record(material_names, out_record)
        return
    from scema.committee import CommitteeSettings
    from scema.committee.measured_prior import prior_version
    from scema.committee.symmetry import SYMMETRIC_MATERIALS

    settings = CommitteeSettings.from_config(committee)
    materials = read_materials(material_files)
    stiffness, _ = material_data(materials, material_names, symmetries)
    prior_versions = {}
    scales_of = material_prior_scales(committee, materials, material_names, symmetries, zero_kelvin_files)
    for m, scales in scales_of.items():
        name = material_names[m]
        directory = Path(committee_root) / name / "v0"
        symmetric = committee["symmetry"] and symmetries[name] in SYMMETRIC_MATERIALS
        prior_version(stiffness[m], scales, settings, directory, symmetric)
        prior_versions[m] = str(directory)
        log.info(
            "material %s: version 0 is the physical prior, intercept %.2f MPa (reference standard error), "
            "elastic %.3f GPa (stiffness sampling error), second order centred on %s",
            name,
            scales[0] / 1e6,
            scales[1] / 1e9,
            "the 0 K law" if len(scales) > 3 else "zero",
        )
    write_initial_record(material_names, out_record, prior_versions)


def run(
    committee: dict,
    material_names: list[str],
    symmetries: dict[str, str],
    step: int,
    strain_path: str,
    stress_path: str,
    prev_md_state: str,
    query_path: str,
    prev_record: str,
    previous_training_set: str | None,
    material_files: dict[str, str],
    out_samples: str,
    out_training_set: str,
    out_record: str,
    committee_root: str = "results/committee",
    zero_kelvin_files: dict[str, str] | None = None,
) -> None:
    """Store this step's samples and the run's training set; judge the audits; retrain a material's
    committee when its set grew by train_frequency. ``previous_training_set``: step t-1's
    ``training_set.nc`` (None at step 1), everything this step needs of the steps before."""
    from scema.committee.symmetry import SYMMETRIC_MATERIALS
    from scema.committee.train import enough_samples

    accuracy = committee["stress_accuracy_mpa"] * 1e6
    materials = read_materials(material_files)
    stiffness, sampling_noise = material_data(materials, material_names, symmetries)
    scales = material_prior_scales(committee, materials, material_names, symmetries, zero_kelvin_files)
    earlier = read_dataset(previous_training_set) if previous_training_set else None
    samples = training_samples(
        step, strain_path, stress_path, prev_md_state, query_path, sampling_noise, committee["target"], earlier
    )
    training_set = training_set_dataset(earlier, samples)
    prev = read_dataset(prev_record)
    query = read_dataset(query_path)
    version, directory = prev["version"].values.copy(), prev["directory"].values.astype(object).copy()
    n_at_training, accepted, suspended = (
        prev[k].values.copy() for k in ("n_samples_at_training", "accepted", "suspended")
    )
    sample_material = samples["material"].values
    n_samples = prev["n_samples"].values + np.bincount(sample_material, minlength=len(material_names))
    decision, qp_material = query["decision"].values, read_dataset(strain_path)["material"].values
    n = len(material_names)
    counts = {k: np.zeros(n, np.int64) for k in ("queried", "trusted", "audited")}
    so_far = audit_rows(training_set)  # the run's audits (``run_audits``)
    audit = {
        "error": np.full((n, 3), np.nan),
        "net_error": np.full((n, 3), np.nan),
        "failed_fraction": np.full(n, np.nan),
        "exact_pass_fraction": np.full(n, np.nan),
        **pass_fractions(so_far, n, accuracy),
    }
    for m, name in enumerate(material_names):
        of_m = qp_material == m
        counts["queried"][m] = int((np.isfinite(query["std"].values[:, 0]) & of_m).sum())
        counts["trusted"][m] = int(((decision != DECISIONS["md"]) & of_m).sum())
        counts["audited"][m] = int(((samples["audited"].values == 1) & (sample_material == m)).sum())
        stats = audit_errors(samples, m, accuracy)
        audit["error"][m], audit["net_error"][m], audit["failed_fraction"][m], audit["exact_pass_fraction"][m] = stats
        of_m_so_far = so_far[2] == m
        if counts["audited"][m]:
            log.info(
                "material %s: audit pass fraction (estimated, net of MD noise) %.3f, lower 95%% bound %.3f, "
                "over the run's %d audits so far (single audits within %.0f MPa this step: %.0f%%)",
                name,
                audit["pass_fraction"][m],
                audit["pass_fraction_lower"][m],
                int(of_m_so_far.sum()),
                accuracy / 1e6,
                100 * (1 - audit["failed_fraction"][m]),
            )
        failed = audit_suspends(samples, m, accuracy, committee["audit_tolerance"], earlier)
        if failed:
            log.warning(
                "material %s: committee v%d suspended at step %d: its %d audits show an error above %.0f MPa "
                "beyond the MD noise with those of the steps before (%.0f%% of them miss it one by one)",
                name,
                version[m],
                step,
                counts["audited"][m],
                accuracy / 1e6,
                100 * audit["failed_fraction"][m],
            )
        trained = n_samples[m] - n_at_training[m] >= committee["train_frequency"] and enough_samples(
            int(n_samples[m]), committee["validation_fraction"]
        )
        if trained:
            version[m], n_at_training[m] = version[m] + 1, n_samples[m]
            directory[m] = str(Path(committee_root) / name / f"v{version[m]}")
            summary = train_version(
                training_set,
                m,
                committee,
                stiffness.get(m),
                Path(directory[m]),
                symmetric=committee["symmetry"] and symmetries[name] in SYMMETRIC_MATERIALS,
                measured=scales.get(m),
            )
            from scema.committee import is_accepted

            accepted[m] = int(is_accepted(summary["errors"], accuracy, committee["audit_tolerance"]))
            log.info(
                "material %s: trained v%d on %d samples, net held-out error %s MPa: %s",
                name,
                version[m],
                summary["n_samples"],
                np.round(summary["committee_net_error_pa"] / 1e6, 1),
                "accepted" if accepted[m] else "refused",
            )
        suspended[m] = int(still_suspended(bool(suspended[m]), failed, trained and bool(accepted[m])))
    write_dataset(samples, out_samples, f"committee training samples, step {step}")
    write_dataset(training_set, out_training_set, f"committee training set, steps 1-{step}")
    write_dataset(
        committee_record_dataset(
            step, material_names, version, directory, n_samples, n_at_training, accepted, suspended, counts, audit
        ),
        out_record,
        f"committee record, step {step}",
    )


def train_version(
    training_set: xr.Dataset,
    material: int,
    committee: dict,
    stiffness,
    directory: Path,
    symmetric: bool = False,
    measured: tuple | None = None,
) -> dict:
    """Train one material's next version on all its samples so far (``training_set``: the run's,
    ``training_set_dataset``; and their cubic images when ``symmetric``: the material's crystal
    axes are the specimen axes); ``measured``: the prior's measured intercept and elastic scales
    [and the 0 K law] (``material_prior_scales``). Ridge members of the physical prior take the samples through two
    sums (``scema.committee.moments``); networks see every sample, every epoch."""
    from scema.committee import CommitteeSettings, train_committee

    data = training_set.isel(sample=np.flatnonzero(training_set["material"].values == material))
    return train_committee(
        data["inputs"].values,
        data["stress"].values,
        CommitteeSettings.from_config(committee),
        directory,
        noise=data["pooled_noise"].values,
        stiffness=stiffness,
        symmetric=symmetric,
        measured=measured,
    )
