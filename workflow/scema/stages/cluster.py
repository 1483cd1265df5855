"""Clustering stage (method section 5): group qps with alike strain histories so that one MD
run (the representative's) serves the whole group."""

from __future__ import annotations

import numpy as np
import xarray as xr

from scema.io.netcdf import index_coord, read_dataset, write_dataset


def strain_history(strain_files: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n_steps + 1, n_qp, 6) total strain from step 0 (zero) to this step, and qp materials."""
    steps = [read_dataset(p) for p in strain_files]
    history = np.stack([np.zeros_like(steps[0]["strain"].values)] + [s["strain"].values for s in steps])
    return history, steps[-1]["material"].values


def run(config: dict, step: int, strain_files: list[str], out_clusters: str) -> None:
    from scema.clustering import cluster_histories  # scikit-learn: only this stage pays the import

    settings = config["clustering"]
    history, material = strain_history(strain_files)
    clusters = cluster_histories(
        history, material, alpha=settings["alpha"], n_points=settings["n_points"], metric=settings["metric"]
    )
    n_qp = history.shape[1]
    unit = {"units": "1"}
    ds = xr.Dataset(
        {
            "representative": ("qp", clusters.representative, {"long_name": "qp whose MD run serves this qp", **unit}),
            "distance_to_representative": (
                "qp",
                clusters.distance_to_representative,
                {"long_name": f"{settings['metric']} distance between spline signatures", **unit},
            ),
            "cluster_size": ("qp", clusters.cluster_size, {"long_name": "number of qps in this qp's cluster", **unit}),
        },
        coords=index_coord("qp", n_qp, "quadrature point id"),
        attrs={
            "step": int(step),
            "alpha": float(settings["alpha"]),
            "metric": settings["metric"],
            "n_points": int(settings["n_points"]),
            "n_representatives": int(np.unique(clusters.representative).size),
        },
    )
    write_dataset(ds, out_clusters, f"strain-history clusters, step {step}")


def representatives(clusters_path: str | None, n_qp: int) -> np.ndarray:
    """qp -> representative map; identity when clustering is off."""
    if clusters_path is None:
        return np.arange(n_qp)
    return read_dataset(clusters_path)["representative"].values.astype(np.int64)
