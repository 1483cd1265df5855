"""Figures of a comparison (matplotlib, PNG): what a user looks at first.

matplotlib is imported inside the functions with the non-interactive Agg backend, so the
package imports without it and plotting works on a cluster node without a display.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from scema.comparison import BAND, REFERENCE, loaded_component
from scema.io.atomic import atomic_path
from scema.io.netcdf import read_dataset


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")


def comparison_plots(summaries: Mapping[str, str], out_reaction: str, out_updates: str) -> None:
    """Reaction force vs applied displacement per mode over the brute-force band; MD updates per step."""
    plt = _pyplot()
    data = {mode: read_dataset(path) for mode, path in summaries.items()}
    comp = loaded_component(data[REFERENCE]["reaction_force"].values)
    axis = "xyz"[comp]

    fig, ax = plt.subplots(figsize=(6, 4))
    ref, band = data[REFERENCE], data[BAND]
    n = min(ref.sizes["step"], band.sizes["step"])
    u = np.abs(ref["applied_displacement"].values[:n, comp]) * 1e3
    r1, r2 = ref["reaction_force"].values[:n, comp], band["reaction_force"].values[:n, comp]
    ax.fill_between(u, np.minimum(r1, r2), np.maximum(r1, r2), color="0.8", label="brute force, two seeds")
    for mode, ds in data.items():
        if mode in (REFERENCE, BAND):
            continue
        m = min(ds.sizes["step"], n)
        ax.plot(u[:m], ds["reaction_force"].values[:m, comp], marker="o", ms=3, label=mode)
    ax.plot(u, r1, color="k", lw=1, label=REFERENCE)
    ax.set_xlabel(f"applied displacement {axis} (mm)")
    ax.set_ylabel(f"reaction force {axis} (N)")
    ax.legend(fontsize=8)
    _save(fig, out_reaction)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, ds in data.items():
        ax.plot(ds["step"].values, np.maximum(ds["md_updates"].values, 0.5), marker="o", ms=3, label=mode)
    ax.set_yscale("log")
    ax.set_xlabel("macroscale step")
    ax.set_ylabel("MD updates")
    ax.legend(fontsize=8)
    _save(fig, out_updates)
    plt.close(fig)
