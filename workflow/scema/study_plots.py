"""Figures of a parameter study: one quantity per figure, one panel per parameter.

As in the seed's slide "Influence of parameters": each panel varies one parameter with the
others at the baseline (the first value of every list), so in a grid study the panel is the
slice through the baseline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from scema.io.netcdf import read_dataset
from scema.plots import _pyplot, _save

# variable, y-axis label, y values from the variable
QUANTITIES = {
    "accuracy": ("reaction_max_difference_over_band", "largest reaction difference / seed band"),
    "data_used": ("training_samples", "training-set size (MD samples)"),
    "md_updates_saved": ("md_updates_saved", "MD updates saved (%)"),
}


def parameter_slice(ds: xr.Dataset, parameter: str) -> tuple[np.ndarray, np.ndarray]:
    """(values of ``parameter``, point indices) of the points where only it differs from the
    baseline (the baseline included), sorted by value."""
    names = [p.replace(".", "_") for p in ds.attrs["parameters"].split()]
    var = parameter.replace(".", "_")
    base = {n: float(ds[n].values[0]) for n in names}
    keep = [i for i in range(ds.sizes["point"]) if all(float(ds[n].values[i]) == base[n] for n in names if n != var)]
    order = np.argsort(ds[var].values[keep], kind="stable")
    idx = np.asarray(keep)[order]
    return ds[var].values[idx], idx


def study_plots(table: str | Path, outputs: dict[str, str | Path]) -> None:
    """Write one PNG per quantity of ``QUANTITIES`` (``outputs``: quantity -> path)."""
    plt = _pyplot()
    ds = read_dataset(table)
    parameters = ds.attrs["parameters"].split()
    for quantity, path in outputs.items():
        var, label = QUANTITIES[quantity]
        fig, axes = plt.subplots(1, len(parameters), figsize=(3.2 * len(parameters), 3.2), sharey=True)
        for ax, parameter in zip(np.atleast_1d(axes), parameters):
            x, idx = parameter_slice(ds, parameter)
            y = ds[var].values[idx] * (100.0 if quantity == "md_updates_saved" else 1.0)
            if parameter == "run.seed":  # no order: categories
                ax.plot(range(x.size), y, "o")
                ax.set_xticks(range(x.size), [f"{v:.0f}" for v in x])
            else:
                ax.plot(x, y, "o-")
            if quantity == "accuracy":
                ax.axhline(1.0, color="0.5", ls="--", lw=1)
            ax.set_xlabel(parameter)
            ax.grid(alpha=0.3)
        np.atleast_1d(axes)[0].set_ylabel(label)
        fig.tight_layout()
        _save(fig, path)
        plt.close(fig)
