"""Atomic NetCDF writing with the metadata every project file carries.

Every data and coordinate variable must have ``units`` and ``long_name``; global attributes
``Conventions``, ``source`` and ``history`` are stamped here so no writer can forget them.
The file appears under its final name only once complete (temp file + rename), so a killed
job never leaves a half-written file that Snakemake or a reader could mistake for a result.
"""

from __future__ import annotations

import os
import struct
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xarray as xr

import scema
from scema.io.atomic import atomic_path
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
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=_encoding(ds))
    return path


def _encoding(ds: xr.Dataset) -> dict:
    """Text as classic char arrays; a Fletcher-32 checksum on every array.

    CF (and its checker) knows only char arrays; xarray writes str variables as netCDF4
    variable-length strings unless told otherwise, and reads the char arrays back as str.
    The checksums make a damaged file fail when read instead of giving wrong numbers
    (HDF5 cannot chunk, hence checksum, a scalar).
    """
    encoding = {}
    for name, var in ds.variables.items():
        enc = {"fletcher32": True} if var.ndim > 0 else {}
        is_text = var.dtype.kind in "US" or (
            var.dtype.kind == "O" and var.size > 0 and all(isinstance(v, str | bytes) for v in var.values.ravel())
        )
        if is_text:
            enc.update(dtype="S1", char_dim_name=f"{name}_strlen")
        encoding[name] = enc
    return encoding


class CorruptFileError(ValueError):
    """A result file that exists but cannot be read whole (truncated, overwritten, not NetCDF)."""


def read_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Load a whole (small) dataset into memory and close the file.

    A file that cannot be read whole is never returned as data: one line names it and says to
    delete it, so Snakemake recreates it (and what depends on it) on the next run.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such NetCDF file")
    try:
        _check_hdf5_length(Path(path))
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return ds.load()
    except (OSError, ValueError, RuntimeError, KeyError, IndexError, struct.error) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise CorruptFileError(
            f"{path}: truncated or corrupted NetCDF file ({reason}); delete it and rerun to recreate it"
        ) from None


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _check_hdf5_length(path: Path) -> None:
    """Refuse a truncated netCDF4 (HDF5) file before the C library reads past its end.

    The HDF5 superblock records the file's end-of-file address; a file shorter than that lost
    its tail (a full disk, a copy cut short). Reading one can crash the HDF5 library outright.
    """
    with open(path, "rb") as fh:
        head = fh.read(64)
    if not head.startswith(_HDF5_SIGNATURE):
        return  # not HDF5: netCDF itself reports what it is not
    version = head[8]
    if version in (0, 1):
        size_of_offsets, base_at = head[13], 24 + (4 if version == 1 else 0)
        eof_at = base_at + 2 * size_of_offsets
    else:
        size_of_offsets, base_at = head[9], 12
        eof_at = base_at + 2 * size_of_offsets
    fmt = {4: "<I", 8: "<Q"}[size_of_offsets]
    base = struct.unpack_from(fmt, head, base_at)[0]
    end = struct.unpack_from(fmt, head, eof_at)[0]
    actual = path.stat().st_size
    if base + end > actual:
        raise OSError(f"file has {actual} bytes, its HDF5 superblock says {base + end}")
