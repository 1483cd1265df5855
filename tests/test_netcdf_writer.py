"""The one NetCDF writer (netCDF4, no xarray) writes what xarray's ``to_netcdf`` wrote; the per-step
jobs read files as numpy (``Contents``) exactly as xarray reads them, and import no xarray.

The reference is xarray itself: the writer this project used before (``to_netcdf`` with char-array
text and Fletcher-32 checksums), kept here, on the same datasets with the same global attributes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from scema.io import step_datasets
from scema.io.atomic import atomic_path
from scema.io.netcdf import Contents, CorruptFileError, read_contents, read_dataset, write_dataset
from scema.schedule import Schedule

WORKFLOW = Path(__file__).resolve().parents[1] / "workflow"


def xarray_write(ds: xr.Dataset, path: Path, attrs: dict) -> None:
    """The former writer: xarray's to_netcdf, text as char arrays, a checksum on every array."""
    encoding = {}
    for name, var in ds.variables.items():
        enc = {"fletcher32": True} if var.ndim > 0 else {}
        is_text = var.dtype.kind in "US" or (
            var.dtype.kind == "O" and var.size > 0 and all(isinstance(v, str | bytes) for v in var.values.ravel())
        )
        if is_text:
            enc.update(dtype="S1", char_dim_name=f"{name}_strlen")
        encoding[name] = enc
    ds = ds.copy()
    ds.attrs = attrs
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)


def header(path: Path) -> list:
    """Everything `ncdump -h -s` shows, in file order: dimensions, variables (type, dimensions,
    chunking, filters, endianness, attributes with their types), global attributes."""
    out = []
    with netCDF4.Dataset(path) as nc:
        out.append((nc.data_model, nc.disk_format))
        out += [("dim", name, len(dim), dim.isunlimited()) for name, dim in nc.dimensions.items()]
        for name, var in nc.variables.items():
            out.append(("var", name, var.dtype.str, var.dimensions, var.chunking(), var.filters(), var.endian()))
            out += [("attr", key, repr(var.getncattr(key))) for key in var.ncattrs()]
        out += [("global", key, repr(nc.getncattr(key))) for key in nc.ncattrs()]
    return out


def assert_written_as_xarray_did(ds: Contents | xr.Dataset, tmp_path: Path) -> None:
    new, old = tmp_path / "new.nc", tmp_path / "old.nc"
    write_dataset(ds, new, "a title", "what made it")
    with netCDF4.Dataset(new) as nc:
        attrs = {key: nc.getncattr(key) for key in nc.ncattrs()}  # same history timestamp
    xarray_write(ds.to_xarray() if isinstance(ds, Contents) else ds, old, attrs)
    assert header(new) == header(old)
    with xr.open_dataset(new) as a, xr.open_dataset(old) as b:
        assert a.identical(b)
        for name in a.variables:
            assert a[name].dtype == b[name].dtype


def _schedule(n: int) -> Schedule:
    rng = np.random.default_rng(1)
    return Schedule(
        qp=np.arange(n, dtype=np.int64),
        replica=np.zeros(n, dtype=np.int64),
        batch=np.arange(n, dtype=np.int64) % 2,
        material=np.zeros(n, dtype=np.int32),
        state_in=np.array([f"results/step_0001/md/state/qp{i}_r0.data" for i in range(n)], dtype=object),
        state_out=np.array([f"results/step_0002/md/state/qp{i}_r0.data" for i in range(n)], dtype=object),
        strain_increment=rng.normal(size=(n, 6)),
        target_strain=rng.normal(size=(n, 6)),
        seed=np.arange(n, dtype=np.int64) + 7,
        n_batches=2,
    )


def _step_files() -> dict[str, Contents]:
    """One of every kind a step's jobs write, with text, NaN, flags and a scalar."""
    n, rng = 5, np.random.default_rng(0)
    eps, sig = rng.normal(size=(n, 6)), rng.normal(size=(n, 6)) * 1e8
    nan = np.where(rng.random((n, 6)) < 0.3, np.nan, sig)
    files = np.array([[f"results/step_0001/md/state/qp{q}_r{r}.data" for r in range(2)] for q in range(n)], object)
    nodes = rng.normal(size=(7, 3))
    return {
        "strain": step_datasets.strain_dataset(
            3, eps, eps / 3, rng.normal(size=(n, 3)), np.arange(n), [0, 1, 0, 1, 1], ["cu", "ni"]
        ),
        "stress": step_datasets.stress_dataset(3, sig, nan, [0, 1, 2, 0, 0], eps, nan, nan, [0, 1, 0, 0, 0]),
        "md_state": step_datasets.md_state_dataset(3, files, rng.normal(size=(n, 2, 6)), rng.normal(size=(n, 2, 6))),
        "fe_state": step_datasets.fe_state_dataset(3, 1.5e-9, nodes, nodes * 0, nodes),
        "schedule": step_datasets.schedule_dataset(3, _schedule(n), ["cu"]),
        "reaction": step_datasets.reaction_dataset(
            3,
            ["zmin", "zmax"],
            sig[:2, :3],
            nan[:2, :3],
            np.array([[np.nan, np.nan, 0.0], [0, 0, 1e-9]]),
            2.5,
            "lifted",
        ),
    }


@pytest.mark.parametrize("kind", sorted(_step_files()))
def test_step_files_are_written_as_xarray_wrote_them(kind, tmp_path):
    assert_written_as_xarray_did(_step_files()[kind], tmp_path)


def test_an_empty_schedule_is_written_as_xarray_wrote_it(tmp_path):
    """No update this step (the committee answered for every qp): empty text arrays are float."""
    empty = step_datasets.schedule_dataset(4, _schedule(0), ["cu"])
    assert_written_as_xarray_did(empty, tmp_path)
    assert_read_as_xarray_reads(tmp_path / "new.nc")


@pytest.mark.parametrize("kind", sorted(_step_files()))
def test_an_xarray_dataset_goes_through_the_same_writer(kind, tmp_path):
    assert_written_as_xarray_did(_step_files()[kind].to_xarray(), tmp_path)


def test_what_only_other_files_carry_is_written_as_xarray_did(tmp_path):
    """Non-dimension coordinates (the ``coordinates`` attribute), booleans, bytes, scalar text,
    scalars, unsigned and float32 variables, attributes of several types."""
    unit = {"units": "1"}
    ds = xr.Dataset(
        {
            "value": (
                ("sample", "component"),
                np.arange(12.0).reshape(4, 3),
                {"long_name": "v", "units": "Pa", "n": 3},
            ),
            "flag": ("sample", np.array([True, False, True, True]), {"long_name": "f", **unit}),
            "raw": ("sample", np.array([b"a", b"bc", b"", b"d"]), {"long_name": "r", **unit}),
            "label": ((), "one text", {"long_name": "l", **unit}),
            "total": ((), 2.5, {"long_name": "t", "units": "m", "weights": np.array([1.0, 2.0])}),
            "count": ("sample", np.arange(4, dtype=np.uint16), {"long_name": "c", **unit}),
            "single": ("sample", np.ones(4, dtype=np.float32), {"long_name": "s", **unit}),
        },
        coords={
            "sample": ("sample", np.arange(4), {"long_name": "sample", **unit}),
            "component": ("component", np.array(["xx", "yy", "zz"]), {"long_name": "component", **unit}),
            "step_id": ("sample", np.array([1, 1, 2, 2]), {"long_name": "step of the sample", **unit}),
            "name": ("sample", np.array(["é", "b", "c", "d"], dtype=object), {"long_name": "name", **unit}),
        },
        attrs={"step": 2, "ratio": 0.5, "estimator": "lifted"},
    )
    assert_written_as_xarray_did(ds, tmp_path)
    assert read_contents(tmp_path / "new.nc")["name"].tolist() == ["é", "b", "c", "d"]
    assert_read_as_xarray_reads(tmp_path / "new.nc")


@pytest.mark.parametrize("kind", sorted(_step_files()))
def test_contents_read_as_xarray_reads(kind, tmp_path):
    assert_read_as_xarray_reads(write_dataset(_step_files()[kind], tmp_path / "f.nc", "f"))


def assert_read_as_xarray_reads(path: Path) -> None:
    plain, ds = read_contents(path), read_dataset(path)
    assert set(plain.data_vars) == set(ds.data_vars) and set(plain.coords) == set(ds.coords)
    assert plain.attrs == ds.attrs and plain.sizes == dict(ds.sizes)
    for name, var in ds.variables.items():
        mine = plain[name]
        assert plain.variables[name][0] == var.dims
        if var.dtype.kind in "OS":
            assert mine.dtype == var.dtype and mine.tolist() == var.values.tolist()
        else:
            assert mine.dtype == var.dtype and mine.tobytes() == var.values.tobytes()  # NaN included
        assert {k: repr(v) for k, v in plain.variables[name][2].items()} == {k: repr(v) for k, v in var.attrs.items()}


def test_missing_units_is_refused_for_both_kinds(tmp_path):
    plain = Contents({"x": ("qp", np.zeros(2), {"long_name": "x"})})
    with pytest.raises(ValueError, match="'x' has no 'units'"):
        write_dataset(plain, tmp_path / "x.nc", "x")
    with pytest.raises(ValueError, match="'x' has no 'units'"):
        write_dataset(plain.to_xarray(), tmp_path / "x.nc", "x")
    assert not (tmp_path / "x.nc").exists()


@pytest.mark.parametrize("damage", ["truncated", "text", "flipped_byte", "header_cut", "garbage_header"])
def test_a_damaged_file_is_named_by_both_readers(damage, tmp_path):
    stress = _step_files()["stress"]
    path = write_dataset(stress, tmp_path / "stress.nc", "stress")
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "text":
        data = bytearray(b"step,stress\n1,2\n")
    elif damage == "header_cut":  # the HDF5 signature and two bytes of the superblock
        data = data[:10]
    elif damage == "garbage_header":  # the signature, then no valid superblock
        data = data[:8] + bytearray(b"\xff" * 100)
    else:
        at = bytes(data).find(stress["stress"].astype("<f8").tobytes()[:48])
        assert at > 0
        data[at + 3] ^= 0x01
    path.write_bytes(bytes(data))
    for read in (read_contents, read_dataset):
        with pytest.raises(CorruptFileError) as info:
            read(path)
        message = str(info.value)
        assert "\n" not in message and str(path) in message and "delete it" in message
    with pytest.raises(FileNotFoundError, match="no such NetCDF file"):
        read_contents(tmp_path / "missing.nc")


def test_the_step_jobs_import_no_xarray():
    """fe_step and aggregate_stress (with the schedule and reaction they compute) run between
    MD batches: importing xarray and pandas cost each ~0.25 s."""
    code = (
        "import sys, scema.stages.fe_step, scema.stages.aggregate, scema.stages.reaction, "
        "scema.stages.schedule, scema.stages.initial_state, scema.specimen; "
        "print(sorted(m for m in ('xarray', 'pandas') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(WORKFLOW)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_variables_that_disagree_on_a_dimension_are_refused_by_name(tmp_path):
    """netCDF would grow a 0-length dimension to the longer variable and fill the shorter one."""
    unit = {"units": "1", "long_name": "x"}
    for short in (0, 2):
        contents = Contents({"a": ("qp", np.arange(3.0), unit), "b": ("qp", np.arange(float(short)), unit)})
        with pytest.raises(ValueError, match=f"dimension 'qp': variable 'b' has {short}, 'a' has 3"):
            write_dataset(contents, tmp_path / "x.nc", "x")
        assert not (tmp_path / "x.nc").exists()
