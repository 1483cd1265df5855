"""Clustering stage (method section 5): group qps with alike strain histories so that the MD
runs of a few of them (the representative's, and with ``noise_allowance`` ceil(n / beta^2) of
each cluster's n members, see ``scema.cluster_sampling``) serve the whole group.

The strain history is carried forward in one file per step (``strain_history.nc``: step t-1's
history plus step t's strain), so the job of step t reads two files whatever t is, instead of
every earlier step's strain file (which made its inputs and the DAG grow with the step count)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scema.cluster_sampling import choose_samples
from scema.io.netcdf import read_contents, read_dataset, write_dataset

if TYPE_CHECKING:
    import xarray as xr


def extend_history(previous_history: str | None, strain_file: str) -> xr.Dataset:
    """Step t's history: step t-1's history file (None at step 1, where the history starts
    with step 0's zero strain) with step t's strain appended; (step, qp, component)."""
    from scema.io.datasets import strain_history_dataset  # not at the top: aggregate imports this module

    strain = read_dataset(strain_file)
    current = strain["strain"].values
    if previous_history is None:
        earlier = np.zeros((1,) + current.shape)
    else:
        earlier = read_dataset(previous_history)["strain_history"].values
        if earlier.shape[1:] != current.shape:
            raise ValueError(
                f"{previous_history}: history of shape {earlier.shape[1:]} per step, but {strain_file} has {current.shape}"
            )
    history = np.concatenate([earlier, current[None]])
    return strain_history_dataset(history, strain)


def run(
    settings: dict,
    step: int,
    strain_file: str,
    previous_history: str | None,
    out_clusters: str,
    out_history: str,
    run_seed: int = 0,
    material_names: list[str] | None = None,
    material_files: dict[str, str] | None = None,
    symmetries: dict[str, str] | None = None,
    plan: dict | None = None,
) -> None:
    """``settings``: the ``clustering`` section (rule params); ``run_seed`` draws the sampled
    members; the material files (name -> file of each used material) and the stiffness
    symmetries give the C that transports the cluster estimate (none: no stiffness recorded);
    ``plan``: :func:`scema.stages.schedule.write_schedule`'s arguments but the step's own files,
    when this step's MD is planned here (clustering on, the committee off)."""
    from scema.clustering import cluster_histories  # scikit-learn: only this stage pays the import

    history_ds = extend_history(previous_history, strain_file)
    history_ds.attrs["step"] = int(step)
    history, material = history_ds["strain_history"].values, history_ds["material"].values
    if history.shape[0] != step + 1:
        raise ValueError(f"strain history of step {step} has {history.shape[0]} steps, expected {step + 1}")
    write_dataset(history_ds, out_history, f"qp strain history, steps 0-{step}")
    clusters = cluster_histories(
        history, material, alpha=settings["alpha"], n_points=settings["n_points"], metric=settings["metric"]
    )
    sampled = choose_samples(clusters.representative, settings.get("noise_allowance"), run_seed, step)
    stiffness = None
    if material_files is not None:
        stiffness = transport_stiffness(material_files, material_names, symmetries)
    from scema.io.datasets import clusters_dataset

    ds = clusters_dataset(step, clusters, settings, sampled, stiffness)
    write_dataset(ds, out_clusters, f"strain-history clusters, step {step}")
    if plan is not None:
        from scema.stages.schedule import write_schedule

        write_schedule(step=step, strain_path=strain_file, clusters_path=out_clusters, **plan)


def transport_stiffness(
    material_files: dict[str, str], material_names: list[str], symmetries: dict[str, str]
) -> np.ndarray:
    """(material, 6, 6) Pa: each material's C as the FE side uses it (replica mean, projected on
    its symmetry); NaN for materials the specimen does not use."""
    from scema.stages.committee_update import material_data

    by_index, _ = material_data(material_files, material_names, symmetries)
    stiffness = np.full((len(material_names), 6, 6), np.nan)
    for m, c in by_index.items():
        stiffness[m] = c
    return stiffness


def representatives(clusters_path: str | None, n_qp: int) -> np.ndarray:
    """qp -> representative map; identity when clustering is off."""
    if clusters_path is None:
        return np.arange(n_qp)
    return read_contents(clusters_path)["representative"].astype(np.int64)


def sampled_members(clusters_path: str | None, n_qp: int) -> np.ndarray:
    """Boolean (n_qp,): qps that run MD for their cluster; every qp when clustering is off."""
    if clusters_path is None:
        return np.ones(n_qp, dtype=bool)
    ds = read_contents(clusters_path)
    if "sampled" not in ds:
        raise ValueError(f"{clusters_path} has no sampled members (written by older code): re-run its cluster job")
    return ds["sampled"].astype(bool)
