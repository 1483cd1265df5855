"""Committee stages (method section 6): query before the MD schedule, update after aggregation.

One committee per material: qps of different materials never share a committee or a training
set. Per step t the stages write

- ``committee_query.nc`` (query, before MD): committee mean and spread per queried qp, and the
  decision md / committee / audit (audited qps were trusted but run MD too);
- ``training_samples.nc`` (update): every MD stress of the step with its inputs, its MD noise,
  its material, and for audits the committee's answer beside it. Written once, atomically, so
  a killed and resumed run neither loses nor duplicates samples or audit records;
- ``committee.nc`` (update): per material the current version, whether it is accepted (held-out
  error net of the MD noise below the accuracy) and suspended (audits failed), sample counts,
  and the step's audit errors. It is the state the next step's query reads.

Inputs come from each box's own MD history: ``(eps_s, sigma_s, eps_t - eps_s)`` with eps_s,
sigma_s the strain and MD stress at which the qp's box state was saved (``md_state.nc``), so a
committee answer never becomes a committee input and a qp trusted many steps running cannot
drift.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import xarray as xr

from scema import seeds
from scema.io.datasets import SOURCE_FLAGS
from scema.io.netcdf import component_coord, index_coord, read_dataset, write_dataset

DECISIONS = {"md": 0, "committee": 1, "audit": 2}
STATISTICS = ("median", "p90", "max")
UNIT = {"units": "1"}
log = logging.getLogger(__name__)


def _material_coord(names: list[str]) -> dict:
    return {
        "material": (
            "material",
            np.arange(len(names), dtype=np.int64),
            {
                "long_name": "material index",
                "units": "1",
                "flag_values": np.arange(len(names), dtype=np.int64),
                "flag_meanings": " ".join(names),
            },
        )
    }


# ----------------------------------------------------------------------------- inputs
def box_inputs(strain: np.ndarray, state_strain: np.ndarray, state_stress: np.ndarray) -> np.ndarray:
    """(eps_s, sigma_s, eps_t - eps_s) per qp, 18 numbers; state arrays are (qp, replica, 6).

    The replicas of a qp are updated together, so their saved strains agree; the stress is
    their mean (the qp's MD stress when the state was saved).
    """
    from scema.committee import features

    eps_s = state_strain.mean(axis=1)
    return features(eps_s, state_stress.mean(axis=1), strain - eps_s)


def query_inputs(strain_path: str, md_state_path: str) -> np.ndarray:
    state = read_dataset(md_state_path)
    return box_inputs(
        read_dataset(strain_path)["strain"].values, state["state_strain"].values, state["state_stress"].values
    )


# ----------------------------------------------------------------------------- record (state)
def record_dataset(
    step: int,
    names: list[str],
    version,
    directory,
    n_samples,
    n_at_training,
    accepted,
    suspended,
    counts: dict | None = None,
    audit: dict | None = None,
) -> xr.Dataset:
    """Per-material committee record of a step (see module doc)."""
    n = len(names)
    counts = counts or {k: np.zeros(n, np.int64) for k in ("queried", "trusted", "audited")}
    audit = audit or {
        "error": np.full((n, 3), np.nan),
        "net_error": np.full((n, 3), np.nan),
        "failed_fraction": np.full(n, np.nan),
    }
    dims = ("material",)
    stat = ("material", "statistic")
    ds = xr.Dataset(
        {
            "version": (
                dims,
                np.asarray(version, np.int64),
                {"long_name": "current committee version (0: none trained)", **UNIT},
            ),
            "directory": (
                dims,
                np.asarray(directory, dtype=object),
                {"long_name": "directory of the current version", **UNIT},
            ),
            "n_samples": (dims, np.asarray(n_samples, np.int64), {"long_name": "MD training samples so far", **UNIT}),
            "n_samples_at_training": (
                dims,
                np.asarray(n_at_training, np.int64),
                {"long_name": "training samples when the current version was trained", **UNIT},
            ),
            "accepted": (
                dims,
                np.asarray(accepted, np.int8),
                {
                    "long_name": "1 if the current version's held-out error net of MD noise is below the accuracy",
                    **UNIT,
                },
            ),
            "suspended": (
                dims,
                np.asarray(suspended, np.int8),
                {"long_name": "1 if audits failed: everything goes to MD until a new version is accepted", **UNIT},
            ),
            "n_queried": (
                dims,
                counts["queried"],
                {"long_name": "representatives the committee was asked for this step", **UNIT},
            ),
            "n_trusted": (
                dims,
                counts["trusted"],
                {"long_name": "representatives answered by the committee this step (audits included)", **UNIT},
            ),
            "n_audited": (
                dims,
                counts["audited"],
                {"long_name": "trusted representatives also run by MD this step", **UNIT},
            ),
            "audit_error": (
                stat,
                audit["error"],
                {"long_name": "max-component |committee - MD| over audited qps", "units": "Pa"},
            ),
            "audit_net_error": (
                stat,
                audit["net_error"],
                {"long_name": "max-component |committee - MD| net of the MD noise over audited qps", "units": "Pa"},
            ),
            "audit_failed_fraction": (
                dims,
                audit["failed_fraction"],
                {"long_name": "share of audited qps whose net error exceeds the accuracy", **UNIT},
            ),
        },
        coords={
            **_material_coord(names),
            "statistic": ("statistic", np.array(STATISTICS), {"long_name": "statistic over audited qps", **UNIT}),
        },
        attrs={"step": int(step)},
    )
    return ds


def write_initial_record(material_names: list[str], out_record: str) -> None:
    """Step 0: no committee yet, no samples."""
    n = len(material_names)
    z = np.zeros(n, np.int64)
    write_dataset(record_dataset(0, material_names, z, [""] * n, z, z, z, z), out_record, "committee record, step 0")


def load_committees(record_path: str) -> dict[int, tuple[object, int, bool, bool]]:
    """material -> (Committee, version, accepted, suspended) for every material with a trained version."""
    from scema.committee import Committee

    rec = read_dataset(record_path)
    out = {}
    for m in range(rec.sizes["material"]):
        if int(rec["version"].values[m]) > 0:
            out[m] = (
                Committee.load(str(rec["directory"].values[m])),
                int(rec["version"].values[m]),
                bool(rec["accepted"].values[m]),
                bool(rec["suspended"].values[m]),
            )
    return out


# ----------------------------------------------------------------------------- query
def choose_audits(trusted: np.ndarray, material: np.ndarray, fraction: float, run_seed: int, step: int) -> np.ndarray:
    """Trusted qps that also run MD: ceil(fraction * trusted) per material, at least one when any
    is trusted (none when the fraction is 0); drawn reproducibly from (run seed, "audit", step)."""
    audit = np.zeros(trusted.size, bool)
    if fraction <= 0:
        return audit
    rng = seeds.rng(run_seed, "audit", step)
    for m in np.unique(material):
        candidates = np.flatnonzero(trusted & (material == m))
        if candidates.size:
            k = min(candidates.size, max(1, int(np.ceil(fraction * candidates.size))))
            audit[rng.choice(candidates, size=k, replace=False)] = True
    return audit


def run_query(
    committee: dict,
    run_seed: int,
    material_names: list[str],
    step: int,
    strain_path: str,
    prev_md_state: str,
    prev_record: str,
    out_query: str,
    clusters_path: str | None = None,
) -> None:
    from scema.committee import decide
    from scema.stages.cluster import representatives

    strain = read_dataset(strain_path)
    n_qp = strain.sizes["qp"]
    material = strain["material"].values.astype(np.int64)
    rep = representatives(clusters_path, n_qp)
    is_rep = np.zeros(n_qp, bool)
    is_rep[np.unique(rep)] = True
    mean, std = np.full((n_qp, 6), np.nan), np.full((n_qp, 6), np.nan)
    trusted = np.zeros(n_qp, bool)
    n = len(material_names)
    version, usable = np.zeros(n, np.int64), np.zeros(n, np.int8)
    committees = load_committees(prev_record)
    x = query_inputs(strain_path, prev_md_state) if committees else None
    for m, (model, v, accepted, suspended) in committees.items():
        asked = np.flatnonzero(is_rep & (material == m))  # a material's committee never sees another's qps
        version[m], usable[m] = v, int(accepted and not suspended)
        if asked.size == 0:
            continue
        mean[asked], std[asked] = model.predict(x[asked])
        if usable[m]:
            trusted[asked[decide(std[asked], committee["stress_accuracy_mpa"] * 1e6)]] = True
        log.info(
            "material %s: version %d (%s%s), %d of %d representatives trusted",
            material_names[m],
            v,
            "accepted" if accepted else "not accepted",
            ", suspended" if suspended else "",
            int(trusted[asked].sum()),
            asked.size,
        )
    audit = choose_audits(trusted, material, committee["audit_fraction"], run_seed, step)
    decision = np.where(audit, DECISIONS["audit"], np.where(trusted, DECISIONS["committee"], DECISIONS["md"]))
    decision = decision[rep].astype(np.int8)  # members follow their representative
    ds = xr.Dataset(
        {
            "mean": (("qp", "component"), mean, {"long_name": "committee mean of the stress", "units": "Pa"}),
            "std": (
                ("qp", "component"),
                std,
                {"long_name": "committee spread (std across members, ddof=1)", "units": "Pa"},
            ),
            "decision": (
                "qp",
                decision,
                {
                    "long_name": "who gives this qp's stress (audit: trusted, but MD runs and its stress is used)",
                    "flag_values": np.array(list(DECISIONS.values()), dtype=np.int8),
                    "flag_meanings": " ".join(DECISIONS),
                    **UNIT,
                },
            ),
            "version": ("material", version, {"long_name": "committee version asked (0: none)", **UNIT}),
            "usable": ("material", usable, {"long_name": "1 if the version is accepted and not suspended", **UNIT}),
        },
        coords={
            **index_coord("qp", n_qp, "quadrature point id"),
            **component_coord(),
            **_material_coord(material_names),
        },
        attrs={
            "step": int(step),
            "committee_used": int(bool(committees)),
            "stress_accuracy_mpa": float(committee["stress_accuracy_mpa"]),
        },
    )
    write_dataset(ds, out_query, f"committee query, step {step}")


def committee_decision(query_path: str | None, n_qp: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(trusted, audited, mean, std) per qp; trusted excludes audits; nothing when the committee is off."""
    if query_path is None:
        none = np.zeros(n_qp, bool)
        return none, none.copy(), np.full((n_qp, 6), np.nan), np.full((n_qp, 6), np.nan)
    ds = read_dataset(query_path)
    d = ds["decision"].values
    return d == DECISIONS["committee"], d == DECISIONS["audit"], ds["mean"].values, ds["std"].values


# ----------------------------------------------------------------------------- update
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


def comparison_noise(label_noise: np.ndarray, anchor_noise: np.ndarray, target: str) -> np.ndarray:
    """The MD noise in (committee - MD): the label's, and with target correction also the noise
    of sigma_s, the measured stress the prediction sigma_s + C d eps + correction is anchored on
    (a fresh MD measurement of the same box carries it independently)."""
    return np.sqrt(label_noise**2 + anchor_noise**2) if target == "correction" else label_noise


def training_samples(
    step: int,
    strain_path: str,
    stress_path: str,
    prev_md_state: str,
    query_path: str,
    sampling_noise: dict[int, np.ndarray],
    target: str,
) -> xr.Dataset:
    """(inputs, MD stress, noise) of every qp whose stress came from its own MD at this step."""
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
    noise_vars = {
        "noise": (label_noise, "MD noise of the stress (replica std / sqrt(R), or the material's sampling noise)"),
        "anchor_noise": (
            anchor_noise,
            "MD noise of sigma_s, the stress the box's state was saved at (0 for reference boxes)",
        ),
        "comparison_noise": (
            comparison_noise(label_noise, anchor_noise, target),
            f"MD noise in committee - MD for target {target} (acceptance and audits subtract it)",
        ),
    }
    n = md.size
    return xr.Dataset(
        {
            "inputs": (
                ("sample", "feature"),
                inputs,
                {
                    "long_name": "eps_s (6), sigma_s (6, Pa), eps_t - eps_s (6)",
                    "units": "1",
                    "feature_units": "features 0-5 and 12-17 strain (1), 6-11 stress (Pa)",
                },
            ),
            "stress": (
                ("sample", "component"),
                stress["stress"].values[md],
                {"long_name": "MD stress (replica mean)", "units": "Pa"},
            ),
            **{
                k: (("sample", "component"), v, {"long_name": long, "units": "Pa"})
                for k, (v, long) in noise_vars.items()
            },
            "committee_stress": (
                ("sample", "component"),
                np.where(audited[md, None], mean[md], np.nan),
                {"long_name": "committee mean at audited samples (NaN elsewhere)", "units": "Pa"},
            ),
            "audited": (
                "sample",
                audited[md].astype(np.int8),
                {"long_name": "1 if the committee was trusted here and MD checked it", **UNIT},
            ),
            "material": ("sample", material[md], {"long_name": "material index of the sample", **UNIT}),
            "qp_id": ("sample", md.astype(np.int64), {"long_name": "quadrature point of the sample", **UNIT}),
            "step_id": ("sample", np.full(n, step, dtype=np.int64), {"long_name": "step of the sample", **UNIT}),
        },
        coords={
            **index_coord("sample", n, "training sample"),
            **index_coord("feature", 18, "input feature (strain_s, stress_s, strain since s)"),
            **component_coord(),
        },
        attrs={"step": int(step), "target": target},
    )


def audit_errors(samples: xr.Dataset, m: int, accuracy_pa: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(error stats, net error stats, failed fraction) of material m's audits; NaN when none.

    Per audited qp the largest component of |committee - MD|, and of the same net of the MD
    noise, sqrt(max(0, err^2 - noise^2)); statistics median, p90, max over qps.
    """
    from scema.committee import net_error

    rows = (samples["audited"].values == 1) & (samples["material"].values == m)
    if not rows.any():
        return np.full(3, np.nan), np.full(3, np.nan), np.nan
    err = np.abs(samples["committee_stress"].values[rows] - samples["stress"].values[rows])
    net = net_error(err, samples["comparison_noise"].values[rows]).max(axis=1)
    return audit_statistics(err.max(axis=1)), audit_statistics(net), float(np.mean(net > accuracy_pa))


def audit_statistics(values: np.ndarray) -> np.ndarray:
    """(median, p90, max) of per-qp audit errors, in the order of ``STATISTICS``."""
    return np.array([np.median(values), np.percentile(values, 90), np.max(values)])


def material_data(material_files: dict[str, str], material_names: list[str], symmetries: dict[str, str]):
    """Per material index: stiffness C (replica mean, symmetry-projected as on the FE side) and
    sampling noise (component,) Pa when the material file has it."""
    from scema.symmetry import project

    stiffness, noise = {}, {}
    for name, path in material_files.items():
        ds = read_dataset(path)
        m = material_names.index(name)
        stiffness[m] = project(ds["stiffness"].mean("replica").values, symmetries[name])
        if "sampling_noise" in ds:
            noise[m] = ds["sampling_noise"].values.astype(float)
    return stiffness, noise


def run_update(
    committee: dict,
    material_names: list[str],
    symmetries: dict[str, str],
    step: int,
    strain_path: str,
    stress_path: str,
    prev_md_state: str,
    query_path: str,
    prev_record: str,
    earlier_samples: list[str],
    material_files: dict[str, str],
    out_samples: str,
    out_record: str,
    committee_root: str = "results/committee",
) -> None:
    """Store this step's samples; judge the audits; retrain a material's committee when its set grew by train_frequency."""
    accuracy = committee["stress_accuracy_mpa"] * 1e6
    stiffness, sampling_noise = material_data(material_files, material_names, symmetries)
    samples = training_samples(
        step, strain_path, stress_path, prev_md_state, query_path, sampling_noise, committee["target"]
    )
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
    audit = {
        "error": np.full((n, 3), np.nan),
        "net_error": np.full((n, 3), np.nan),
        "failed_fraction": np.full(n, np.nan),
    }
    for m, name in enumerate(material_names):
        of_m = qp_material == m
        counts["queried"][m] = int((np.isfinite(query["std"].values[:, 0]) & of_m).sum())
        counts["trusted"][m] = int(((decision != DECISIONS["md"]) & of_m).sum())
        counts["audited"][m] = int(((samples["audited"].values == 1) & (sample_material == m)).sum())
        audit["error"][m], audit["net_error"][m], audit["failed_fraction"][m] = audit_errors(samples, m, accuracy)
        if audit["failed_fraction"][m] > committee["audit_tolerance"]:
            suspended[m] = 1
            log.warning(
                "material %s: committee v%d suspended at step %d: %.0f%% of %d audited qps miss %.0f MPa net of noise",
                name,
                version[m],
                step,
                100 * audit["failed_fraction"][m],
                counts["audited"][m],
                accuracy / 1e6,
            )
        if n_samples[m] - n_at_training[m] >= committee["train_frequency"]:
            version[m], n_at_training[m] = version[m] + 1, n_samples[m]
            directory[m] = str(Path(committee_root) / name / f"v{version[m]}")
            summary = train_version(
                [read_dataset(p) for p in earlier_samples] + [samples],
                m,
                committee,
                stiffness.get(m),
                Path(directory[m]),
            )
            from scema.committee import is_accepted

            accepted[m] = int(is_accepted(summary["committee_net_error_pa"], accuracy))
            log.info(
                "material %s: trained v%d on %d samples, net held-out error %s MPa: %s",
                name,
                version[m],
                summary["n_samples"],
                np.round(summary["committee_net_error_pa"] / 1e6, 1),
                "accepted" if accepted[m] else "refused",
            )
            if accepted[m]:
                suspended[m] = 0
    write_dataset(samples, out_samples, f"committee training samples, step {step}")
    write_dataset(
        record_dataset(
            step, material_names, version, directory, n_samples, n_at_training, accepted, suspended, counts, audit
        ),
        out_record,
        f"committee record, step {step}",
    )


def train_version(sample_sets: list[xr.Dataset], material: int, committee: dict, stiffness, directory: Path) -> dict:
    """Train one material's next version on all its samples so far."""
    from scema.committee import CommitteeSettings, train_committee

    data = xr.concat(sample_sets, dim="sample")
    data = data.isel(sample=np.flatnonzero(data["material"].values == material))
    return train_committee(
        data["inputs"].values,
        data["stress"].values,
        CommitteeSettings.from_config(committee),
        directory,
        noise=data["comparison_noise"].values,
        stiffness=stiffness,
    )
