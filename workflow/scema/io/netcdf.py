"""Atomic NetCDF writing with the metadata every project file carries; reading back.

Every data and coordinate variable must have ``units`` and ``long_name``; global attributes
``Conventions``, ``source`` and ``history`` are stamped here so no writer can forget them.
The file appears under its final name only once complete (temp file + rename), so a killed
job never leaves a half-written file that Snakemake or a reader could mistake for a result.

One writer for every file, on netCDF4 directly, encoding as xarray's ``to_netcdf`` did (same
header, read back identically by ``xr.open_dataset``): it takes an ``xr.Dataset`` or a
:class:`Contents`. Why :class:`Contents`: the jobs of every macroscale step (fe_step,
aggregate_stress, with the schedule and reaction they compute) run between MD batches, and
importing xarray and pandas cost them ~0.25 s each; they build and read their files as plain
numpy (:func:`read_contents`), xarray stays the API of everything else (:func:`read_dataset`).
This module imports xarray only when asked for an ``xr.Dataset``. The one other NetCDF writer is
``scema.md.state`` (an MD update's atoms, NETCDF3 through scipy: written for every update,
in a quarter of netCDF4's time).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import scema
from scema.io.atomic import atomic_path
from scema.voigt import COMPONENTS, SHEAR_CONVENTION

if TYPE_CHECKING:
    import xarray as xr

CONVENTIONS = "CF-1.8"
SOURCE = f"scema {scema.__version__} (Snakemake FE-MD workflow: dolfinx + LAMMPS)"


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


def _plain(var) -> tuple[tuple[str, ...], np.ndarray, dict]:
    """(dims, array, attrs) of an ``xr.Variable`` or of a (dims, data[, attrs]) tuple."""
    dims, data, *attrs = var if isinstance(var, tuple) else (var.dims, var.values, var.attrs)
    return ((dims,) if isinstance(dims, str) else tuple(dims), np.asarray(data), dict(*attrs))


@dataclass
class Contents:
    """A project NetCDF file as numpy arrays, for the per-step jobs (see the module docstring).

    ``data_vars`` and ``coords``: name -> (dims, array, attrs), what ``xr.Dataset`` takes;
    ``ds[name]`` is the array; ``name in ds``, ``ds.attrs`` and ``ds.sizes`` as on an
    ``xr.Dataset``, so a function reading ``np.asarray(ds[name])`` takes either."""

    data_vars: dict
    coords: dict = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data_vars = {name: _plain(var) for name, var in self.data_vars.items()}
        self.coords = {name: _plain(var) for name, var in self.coords.items()}

    def __getitem__(self, name: str) -> np.ndarray:
        return (self.data_vars[name] if name in self.data_vars else self.coords[name])[1]

    def __contains__(self, name: str) -> bool:
        return name in self.data_vars or name in self.coords

    @property
    def variables(self) -> dict:
        """Every variable, data then coordinates (the order ``xr.Dataset`` gives them)."""
        return {**self.data_vars, **self.coords}

    @property
    def sizes(self) -> dict[str, int]:
        return {dim: n for dims, data, _ in self.variables.values() for dim, n in zip(dims, data.shape)}

    def to_xarray(self) -> xr.Dataset:
        import xarray as xr

        return xr.Dataset(self.data_vars, self.coords, self.attrs)


def _variables(ds) -> tuple[dict, set]:
    """(name -> (dims, array, attrs) in the file's order, coordinate names) of either kind."""
    if isinstance(ds, Contents):
        return ds.variables, set(ds.coords)
    return {name: _plain(var) for name, var in ds.variables.items()}, set(ds.coords)


def check_metadata(ds) -> None:
    """Refuse a dataset with a variable lacking units or long_name (names the variable)."""
    for name, (_, _, attrs) in _variables(ds)[0].items():
        for attr in ("units", "long_name"):
            if attr not in attrs:
                raise ValueError(f"NetCDF variable '{name}' has no '{attr}' attribute")


def write_dataset(ds, path: str | os.PathLike, title: str, history: str = "") -> Path:
    """Write ``ds`` (an ``xr.Dataset`` or :class:`Contents`) to ``path`` atomically with global
    CF metadata; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_metadata(ds)
    attrs = dict(ds.attrs)
    attrs.update(
        {
            "Conventions": CONVENTIONS,
            "title": title,
            "source": SOURCE,
            "history": f"{datetime.now(UTC).isoformat(timespec='seconds')} {history or title}",
            "shear_convention": attrs.get("shear_convention", SHEAR_CONVENTION),
        }
    )
    with atomic_path(path) as tmp:
        _write(tmp, _encode(*_variables(ds)), attrs)
    return path


def _encode(variables: dict, coord_names: set) -> dict:
    """name -> (dims, on-disk array, attrs, fill value): xarray's CF encoding of what we write.

    Text as classic char arrays (``NAME_strlen``, ``_Encoding`` utf-8 for str): CF (and its
    checker) knows only char arrays. Floats get ``_FillValue`` NaN, booleans int8 with
    ``dtype: bool``, a variable the non-dimension coordinates of its dimensions in
    ``coordinates`` (as xarray writes and reads them back)."""
    non_dim = [k for k in variables if k in coord_names and (k,) != variables[k][0]]
    encoded = {}
    for name, (dims, data, attrs) in variables.items():
        attrs, fill, checksum = dict(attrs), None, data.ndim > 0
        if name not in non_dim and name not in dims:
            mine = sorted(c for c in non_dim if set(variables[c][0]) <= set(dims))
            if mine and "coordinates" not in attrs:
                attrs["coordinates"] = " ".join(mine)
        was_object, data = data.dtype.kind == "O", _not_object(name, data)
        kind = data.dtype.kind
        if kind == "U":
            attrs["_Encoding"] = "utf-8"
            data = np.char.encode(data, "utf-8") if data.size else data.astype("S1")
            kind = "S"
        if kind == "S":
            data = np.asarray(data)
            width = max(data.dtype.itemsize, 1)
            data = np.ascontiguousarray(data.astype(f"S{width}")).reshape(-1).view("S1").reshape(data.shape + (width,))
            dims = dims + (f"{name}_strlen",)
        elif kind == "b":
            data, attrs["dtype"] = data.astype("i1"), "bool"
        elif kind == "f":
            fill = None if was_object else data.dtype.type(np.nan)  # xarray typed it after its fill rule
        elif kind not in "iu":
            raise TypeError(f"NetCDF variable '{name}': scema.io.netcdf does not write dtype {data.dtype}")
        encoded[name] = (dims, data, attrs, fill, checksum)
    unattached = set(non_dim) - {c for v in encoded.values() for c in v[2].get("coordinates", "").split()}
    if unattached:
        raise ValueError(f"coordinates {sorted(unattached)} belong to no variable (xarray wrote them globally)")
    return encoded


def _not_object(name: str, data: np.ndarray) -> np.ndarray:
    """An object array as the dtype xarray infers for it: str or bytes text, and empty is float
    without a fill value (an MD schedule with no update writes its empty state files so)."""
    if data.dtype.kind != "O":
        return data
    if data.size == 0:
        return data.astype(float)
    for kind in (str, bytes):
        if all(isinstance(v, kind) for v in data.ravel()):
            return data.astype(kind)
    raise TypeError(f"NetCDF variable '{name}': object array that is not all str or all bytes")


def _dimension_sizes(variables: dict) -> dict[str, int]:
    """Each dimension's size, refusing variables that disagree on one (naming the dimension and
    both variables; netCDF would otherwise grow a 0-length dimension and fill the shorter one)."""
    sizes, seen_in = {}, {}
    for name, (var_dims, data, *_) in variables.items():
        for dim, size in zip(var_dims, data.shape):
            if dim in sizes and sizes[dim] != size:
                raise ValueError(
                    f"NetCDF dimension '{dim}': variable '{name}' has {size}, '{seen_in[dim]}' has {sizes[dim]}"
                )
            sizes.setdefault(dim, size)
            seen_in.setdefault(dim, name)
    return sizes


def _write(path: str | os.PathLike, variables: dict, attrs: dict) -> None:
    """The one writer (netCDF4, calls in xarray's order: globals, dimensions, variables, data);
    a Fletcher-32 checksum on every array, so a damaged file fails when read instead of giving
    wrong numbers (HDF5 cannot chunk, hence checksum, a scalar)."""
    import netCDF4

    with netCDF4.Dataset(path, mode="w", clobber=True, format="NETCDF4") as nc:
        for key, value in attrs.items():
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                nc.setncattr_string(key, value)
            else:
                nc.setncattr(key, value)
        dims = _dimension_sizes(variables)
        for dim, size in dims.items():
            nc.createDimension(dim, size)
        targets = []
        for name, (var_dims, data, var_attrs, fill, checksum) in variables.items():
            var = nc.createVariable(
                name,
                data.dtype,
                var_dims,
                fletcher32=checksum,
                contiguous=False,
                chunksizes=None,
                endian="native",
                fill_value=fill,
            )
            var.setncatts(var_attrs)
            targets.append((var, data))
        for var, data in targets:
            var.set_auto_maskandscale(False)
            var.set_auto_chartostring(False)
            var[...] = data


class CorruptFileError(ValueError):
    """A result file that exists but cannot be read whole (truncated, overwritten, not NetCDF)."""


def read_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Load a whole (small) dataset into memory and close the file.

    A file that cannot be read whole is never returned as data: one line names it and says to
    delete it, so Snakemake recreates it (and what depends on it) on the next run.
    """
    import xarray as xr

    with _readable(path):
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return ds.load()


def read_contents(path: str | os.PathLike) -> Contents:
    """A whole file as :class:`Contents`, the arrays as ``read_dataset`` gives them (char arrays
    as str, checksums verified), without xarray; the same error for a damaged file. Decodes
    what this module writes; a file with other CF encodings (scale, int fill values, times) is
    refused rather than read differently."""
    import netCDF4

    with _readable(path), netCDF4.Dataset(path) as nc:
        nc.set_auto_maskandscale(False)
        nc.set_auto_chartostring(False)
        variables = {}
        for name, var in nc.variables.items():
            attrs = {key: var.getncattr(key) for key in var.ncattrs()}
            data, dims = var[...], var.dimensions
            if data.dtype.kind == "S" and dims and dims[-1].endswith("_strlen"):
                data, dims = _join_chars(data, attrs.pop("_Encoding", None)), dims[:-1]
            elif attrs.get("dtype") == "bool":
                data = data.astype(bool)
                del attrs["dtype"]
            elif data.dtype.kind == "f":
                attrs.pop("_FillValue", None)  # NaN: read back as NaN
            odd = {"_FillValue", "missing_value", "scale_factor", "add_offset", "calendar"} & set(attrs)
            if odd:
                raise TypeError(f"{path}: variable {name} has {sorted(odd)}: read it with read_dataset")
            variables[name] = (dims, np.asarray(data), attrs)
        coord_names = {name for name, (dims, _, _) in variables.items() if dims == (name,)}
        for _, _, attrs in variables.values():
            coord_names.update(attrs.pop("coordinates", "").split())
        coords = {name: variables.pop(name) for name in list(variables) if name in coord_names}
        return Contents(variables, coords, {key: nc.getncattr(key) for key in nc.ncattrs()})


def _join_chars(chars: np.ndarray, encoding: str | None) -> np.ndarray:
    """A char array's rows as strings (object array, xarray's str), or as bytes without
    ``_Encoding``; trailing NULs dropped. By bytes, then decoded: netCDF4's chartostring
    misaligns multi-byte UTF-8 characters."""
    width = chars.shape[-1]
    rows = np.ascontiguousarray(chars).reshape(-1).view(f"S{width}").reshape(chars.shape[:-1])
    if encoding is None:
        return rows
    return np.array([row.decode(encoding) for row in rows.ravel()], dtype=object).reshape(rows.shape)


# What reading a damaged file raises (the superblock check: IndexError for a file cut inside its
# header, KeyError for a garbage offset size; the C library: OSError, RuntimeError, ValueError).
_READ_FAILURES = (OSError, ValueError, RuntimeError, KeyError, IndexError, struct.error)


@contextmanager
def _readable(path: str | os.PathLike) -> Iterator[None]:
    """Turn any failure to read ``path`` whole (in the superblock check or in the body) into one
    CorruptFileError line naming it; a missing file is a FileNotFoundError, as before."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such NetCDF file")
    try:
        _check_hdf5_length(Path(path))
        yield
    except _READ_FAILURES as err:
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
