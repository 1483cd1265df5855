"""Clustering stage (method section 5): group qps with alike strain histories so that one MD
run (the representative's) serves the whole group.

The strain history is carried forward in one file per step (``strain_history.nc``: step t-1's
history plus step t's strain), so the job of step t reads two files whatever t is, instead of
every earlier step's strain file (which made its inputs and the DAG grow with the step count)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from scema.io.datasets import clusters_dataset, strain_history_dataset
from scema.io.netcdf import read_dataset, write_dataset


def extend_history(previous_history: str | None, strain_file: str) -> xr.Dataset:
    """Step t's history: step t-1's history file (None at step 1, where the history starts
    with step 0's zero strain) with step t's strain appended; (step, qp, component)."""
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
    settings: dict, step: int, strain_file: str, previous_history: str | None, out_clusters: str, out_history: str
) -> None:
    """``settings``: the ``clustering`` section (rule params)."""
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
    ds = clusters_dataset(step, clusters, settings)
    write_dataset(ds, out_clusters, f"strain-history clusters, step {step}")


def representatives(clusters_path: str | None, n_qp: int) -> np.ndarray:
    """qp -> representative map; identity when clustering is off."""
    if clusters_path is None:
        return np.arange(n_qp)
    return read_dataset(clusters_path)["representative"].values.astype(np.int64)
