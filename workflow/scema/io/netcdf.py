"""Atomic NetCDF writing with the metadata every project file carries.

Every data and coordinate variable must have ``units`` and ``long_name``; global attributes
``Conventions``, ``source`` and ``history`` are stamped here so no writer can forget them.
The file appears under its final name only once complete (temp file + rename), so a killed
job never leaves a half-written file that Snakemake or a reader could mistake for a result.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xarray as xr

import scema
from scema.voigt import COMPONENTS, SHEAR_CONVENTION

CONVENTIONS = "CF-1.8"


def component_coord() -> dict:
    """The Voigt ``component`` coordinate, labelled, for xarray constructors."""
    return {
        "component": (
            "component",
            np.array(COMPONENTS),
            {"long_name": "Voigt component (xx yy zz yz xz xy)", "units": "1"},
        )
    }


def index_coord(name: str, size: int, long_name: str) -> dict:
    return {name: (name, np.arange(size, dtype=np.int64), {"long_name": long_name, "units": "1"})}


def check_metadata(ds: xr.Dataset) -> None:
    """Refuse a dataset with a variable lacking units or long_name (names the variable)."""
    for name, var in list(ds.data_vars.items()) + list(ds.coords.items()):
        for attr in ("units", "long_name"):
            if attr not in var.attrs:
                raise ValueError(f"NetCDF variable '{name}' has no '{attr}' attribute")


def write_dataset(ds: xr.Dataset, path: str | os.PathLike, title: str, history: str = "") -> Path:
    """Write ``ds`` to ``path`` atomically with global CF metadata; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_metadata(ds)
    ds = ds.copy()
    ds.attrs.update(
        {
            "Conventions": CONVENTIONS,
            "title": title,
            "source": f"scema {scema.__version__} (Snakemake FE-MD workflow: dolfinx + LAMMPS)",
            "history": f"{datetime.now(UTC).isoformat(timespec='seconds')} {history or title}",
            "shear_convention": ds.attrs.get("shear_convention", SHEAR_CONVENTION),
        }
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="netcdf4")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Load a whole (small) dataset into memory and close the file."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()
