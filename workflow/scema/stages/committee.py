"""Committee stages (method section 6): query before the MD schedule, update after aggregation.

The training set is the sequence of per-step sample files (``training_samples.nc``): each is
written once, atomically, by the step that produced the MD results, so a killed and resumed run
can neither lose nor duplicate samples. ``committee_state.nc`` of step t says which committee
version is current and how many samples it has seen; a version directory is written atomically
(temp dir + rename) by ``train_committee``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from scema.io.datasets import SOURCE_FLAGS
from scema.io.netcdf import component_coord, index_coord, read_dataset, write_dataset

DECISIONS = {"md": 0, "committee": 1}
UNIT = {"units": "1"}


# ----------------------------------------------------------------------------- state
def state_dataset(step: int, version: int, directory: str, n_samples: int, n_at_training: int) -> xr.Dataset:
    return xr.Dataset(
        attrs={
            "step": int(step),
            "committee_version": int(version),
            "committee_directory": directory,
            "n_samples": int(n_samples),
            "n_samples_at_training": int(n_at_training),
        }
    )


def write_initial_state(out_state: str) -> None:
    """Step 0: no committee yet, no samples."""
    write_dataset(state_dataset(0, 0, "", 0, 0), out_state, "committee state, step 0")


def load_trusted_committee(state_path: str, max_validation_error_pa: float):
    """The current committee, or None before the first training or when its held-out error is too large."""
    attrs = read_dataset(state_path).attrs
    if int(attrs["committee_version"]) == 0:
        return None, 0
    directory = Path(attrs["committee_directory"])
    rmse = read_dataset(directory / "metrics.nc")["committee_validation_rmse"].values
    if not np.nanmax(rmse) < max_validation_error_pa:
        return None, int(attrs["committee_version"])
    from scema.committee import Committee

    return Committee.load(directory), int(attrs["committee_version"])


# ----------------------------------------------------------------------------- query
def query_inputs(strain: xr.Dataset, prev_stress: xr.Dataset) -> np.ndarray:
    """(eps_{t-1}, sigma_{t-1}, d eps_t) per qp, 18 numbers."""
    from scema.committee import features

    eps_prev = prev_stress["strain"].values
    return features(eps_prev, prev_stress["stress"].values, strain["strain"].values - eps_prev)


def run_query(
    config: dict, step: int, strain_path: str, prev_stress_path: str, prev_state: str, out_committee: str,
    clusters_path: str | None = None,
) -> None:
    from scema.committee import decide
    from scema.stages.cluster import representatives

    settings = config["committee"]
    strain = read_dataset(strain_path)
    n_qp = strain.sizes["qp"]
    rep = representatives(clusters_path, n_qp)
    queried = np.unique(rep)
    mean = np.full((n_qp, 6), np.nan)
    std = np.full((n_qp, 6), np.nan)
    decision = np.full(n_qp, DECISIONS["md"], dtype=np.int8)
    committee, version = load_trusted_committee(prev_state, settings["max_validation_error_mpa"] * 1e6)
    if committee is not None:
        x = query_inputs(strain, read_dataset(prev_stress_path))[queried]
        mean[queried], std[queried] = committee.predict(x)
        trusted = decide(std[queried], settings["stress_accuracy_mpa"] * 1e6)
        decision[queried[trusted]] = DECISIONS["committee"]
    decision = decision[rep]  # members follow their representative
    ds = xr.Dataset(
        {
            "mean": (("qp", "component"), mean, {"long_name": "committee mean of the stress", "units": "Pa"}),
            "std": (("qp", "component"), std, {"long_name": "committee spread (std across members, ddof=1)", "units": "Pa"}),
            "decision": (
                "qp",
                decision,
                {
                    "long_name": "who gives this qp's stress",
                    "flag_values": np.array(list(DECISIONS.values()), dtype=np.int8),
                    "flag_meanings": " ".join(DECISIONS),
                    **UNIT,
                },
            ),
        },
        coords={**index_coord("qp", n_qp, "quadrature point id"), **component_coord()},
        attrs={
            "step": int(step),
            "committee_version": int(version),
            "committee_used": int(committee is not None),
            "stress_accuracy_mpa": float(settings["stress_accuracy_mpa"]),
        },
    )
    write_dataset(ds, out_committee, f"committee query, step {step}")


def committee_decision(committee_path: str | None, n_qp: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trusted mask, mean, std) per qp; nothing trusted when the committee is off."""
    if committee_path is None:
        return np.zeros(n_qp, bool), np.full((n_qp, 6), np.nan), np.full((n_qp, 6), np.nan)
    ds = read_dataset(committee_path)
    return ds["decision"].values == DECISIONS["committee"], ds["mean"].values, ds["std"].values


# ----------------------------------------------------------------------------- update
def training_samples(step: int, strain_path: str, prev_stress_path: str, stress_path: str) -> xr.Dataset:
    """(inputs, MD stress) of every qp whose stress came from MD at this step."""
    strain, prev, stress = read_dataset(strain_path), read_dataset(prev_stress_path), read_dataset(stress_path)
    md = np.flatnonzero(stress["source"].values == SOURCE_FLAGS["md"])
    inputs = query_inputs(strain, prev)[md]
    n = md.size
    return xr.Dataset(
        {
            "inputs": (("sample", "feature"), inputs, {"long_name": "eps_{t-1} (6), sigma_{t-1} (6, Pa), d eps_t (6)", "units": "mixed"}),
            "stress": (("sample", "component"), stress["stress"].values[md], {"long_name": "MD stress (replica mean)", "units": "Pa"}),
            "qp_id": ("sample", md.astype(np.int64), {"long_name": "quadrature point of the sample", **UNIT}),
            "step_id": ("sample", np.full(n, step, dtype=np.int64), {"long_name": "step of the sample", **UNIT}),
        },
        coords={
            **index_coord("sample", n, "training sample"),
            **index_coord("feature", 18, "input feature (strain_prev, stress_prev, strain_increment)"),
            **component_coord(),
        },
        attrs={"step": int(step)},
    )


def run_update(
    config: dict,
    step: int,
    strain_path: str,
    prev_stress_path: str,
    stress_path: str,
    prev_state: str,
    earlier_samples: list[str],
    out_samples: str,
    out_state: str,
    committee_root: str = "results/committee",
) -> None:
    """Store this step's samples; retrain when the set grew by train_frequency since the last training."""
    settings = config["committee"]
    samples = training_samples(step, strain_path, prev_stress_path, stress_path)
    attrs = read_dataset(prev_state).attrs
    version, directory = int(attrs["committee_version"]), str(attrs["committee_directory"])
    n_total = int(attrs["n_samples"]) + samples.sizes["sample"]
    n_at_training = int(attrs["n_samples_at_training"])
    if n_total - n_at_training >= settings["train_frequency"]:
        version, n_at_training = version + 1, n_total
        directory = str(Path(committee_root) / f"v{version}")
        train_version([read_dataset(p) for p in earlier_samples] + [samples], settings, Path(directory))
    write_dataset(samples, out_samples, f"committee training samples, step {step}")
    write_dataset(state_dataset(step, version, directory, n_total, n_at_training), out_state, f"committee state, step {step}")


def train_version(sample_sets: list[xr.Dataset], settings: dict, directory: Path) -> None:
    from scema.committee import CommitteeSettings, train_committee

    data = xr.concat(sample_sets, dim="sample")
    committee_settings = CommitteeSettings(
        size=settings["size"],
        architecture=settings["architecture"],
        width=settings["width"],
        depth=settings["depth"],
        max_epochs=settings["max_epochs"],
        patience=settings["patience"],
        validation_fraction=settings["validation_fraction"],
        learning_rate=settings["learning_rate"],
        batch_size=settings["batch_size"],
        seed=settings["seed"],
    )
    train_committee(data["inputs"].values, data["stress"].values, committee_settings, directory)
