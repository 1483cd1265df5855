"""A quadrature point's MD state as a NetCDF file: what an update reads and writes every step.

Why not a LAMMPS data file: an update of the default copper box spent 2.8 ms CPU of its ~180 ms
parsing and printing text (``read_data``, ``write_data``). Binary, these files are read and
written by the MD batch supervisor while its worker already runs the next update, and the
worker swaps the atoms through the LAMMPS library (``create_atoms``, ``extract_atom``) in
0.5 ms (issue 12). NETCDF3 through scipy costs the supervisor 0.27 ms to read and 0.97 ms to
write with its fsyncs (netCDF4 writing NETCDF3: 0.55 and 1.9 ms), and xarray, ``ncdump`` and
the CF checker open it like every other result. Exact: every double is stored as it is in memory.

Atomic styles only. Bonded materials (``atom_style`` molecular, full, ...) keep LAMMPS data
files: their bonds, angles and dihedrals come back through ``read_data``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scema.io.atomic import atomic_path
from scema.io.netcdf import CONVENTIONS, SOURCE

from . import units as lmp_units

SUFFIX = ".nc"
TEXT_SUFFIX = ".data"


def state_suffix(atom_style: str) -> str:
    """The file suffix of a material's qp states: NetCDF for atomic styles, LAMMPS data otherwise."""
    return SUFFIX if atom_style == "atomic" else TEXT_SUFFIX


def is_netcdf_state(path: str | os.PathLike) -> bool:
    return Path(path).suffix == SUFFIX


@dataclass
class State:
    """Box and atoms of an atomic LAMMPS system, in the material's LAMMPS units.

    ``lo``, ``hi`` (3,) box corners; ``tilt`` (3,) xy xz yz; ``mass`` (types,) per atom type
    1, 2, ...; per atom (sorted by ``id``): ``type``, ``x`` (n, 3) positions, ``v`` (n, 3)
    velocities, ``image`` (n, 3) periodic image flags.
    """

    units: str
    lo: np.ndarray
    hi: np.ndarray
    tilt: np.ndarray
    mass: np.ndarray
    id: np.ndarray
    type: np.ndarray
    x: np.ndarray
    v: np.ndarray
    image: np.ndarray


@dataclass
class StateExchange:
    """States handed over in memory instead of through their files: the MD batch supervisor
    reads an update's input and writes its output while the worker runs the next update
    (``Engine.load`` takes from ``incoming``, ``Engine.write_state`` puts into ``outgoing``)."""

    incoming: dict[Path, State] = field(default_factory=dict)
    outgoing: dict[Path, State] = field(default_factory=dict)


def write_state(path: str | os.PathLike, state: State, durable: bool = True) -> Path:
    """Write ``state`` atomically (temp file + rename; ``durable``: flushed to disk, see
    scema.io.atomic). No time stamp: an update run again writes the same bytes."""
    from scipy.io import netcdf_file

    path = Path(path)
    distance = lmp_units.distance_unit_name(state.units)
    with atomic_path(path, durable) as tmp, netcdf_file(tmp, "w", version=2) as nc:
        nc.Conventions = CONVENTIONS
        nc.title = "MD state of one quadrature point and replica (LAMMPS, atom_style atomic)"
        nc.source = SOURCE
        nc.history = "written by an MD update (scema.md.state)"
        nc.lammps_units = state.units
        nc.createDimension("atom", len(state.id))
        nc.createDimension("axis", 3)
        nc.createDimension("tilt", 3)
        nc.createDimension("atom_type", len(state.mass))
        variables = {
            "atom": (("atom",), state.id, "i", "LAMMPS atom ID", "1"),
            "atom_type": (("atom_type",), np.arange(1, len(state.mass) + 1), "i", "LAMMPS atom type", "1"),
            "mass": (
                ("atom_type",),
                state.mass,
                "d",
                "mass of an atom of the type",
                lmp_units.mass_unit_name(state.units),
            ),
            "axis": (("axis",), np.arange(3), "i", "Cartesian axis (0 x, 1 y, 2 z)", "1"),
            "tilt": (("tilt",), np.arange(3), "i", "box tilt factor (0 xy, 1 xz, 2 yz)", "1"),
            "box_lo": (("axis",), state.lo, "d", "lower corner of the box", distance),
            "box_hi": (("axis",), state.hi, "d", "upper corner of the box", distance),
            "box_tilt": (("tilt",), state.tilt, "d", "box tilt factors xy xz yz", distance),
            "type": (("atom",), state.type, "i", "LAMMPS atom type of the atom", "1"),
            "position": (("atom", "axis"), state.x, "d", "atom position", distance),
            "velocity": (("atom", "axis"), state.v, "d", "atom velocity", lmp_units.velocity_unit_name(state.units)),
            "image": (("atom", "axis"), state.image, "i", "periodic image flags", "1"),
        }
        for name, (dims, data, kind, long_name, unit) in variables.items():
            var = nc.createVariable(name, kind, dims)
            var[:] = np.asarray(data)
            var.long_name, var.units = long_name, unit
    return path


def read_state(path: str | os.PathLike) -> State:
    """The state in ``path``; a file that is not one names itself (ValueError)."""
    from scipy.io import netcdf_file

    path = Path(path)
    try:
        with netcdf_file(path, "r", mmap=False) as nc:
            v = nc.variables
            return State(
                units=nc.lammps_units.decode() if isinstance(nc.lammps_units, bytes) else str(nc.lammps_units),
                lo=np.array(v["box_lo"][:], dtype=float),
                hi=np.array(v["box_hi"][:], dtype=float),
                tilt=np.array(v["box_tilt"][:], dtype=float),
                mass=np.array(v["mass"][:], dtype=float),
                id=np.array(v["atom"][:], dtype=np.int64),
                type=np.array(v["type"][:], dtype=np.int64),
                x=np.array(v["position"][:], dtype=float),
                v=np.array(v["velocity"][:], dtype=float),
                image=np.array(v["image"][:], dtype=np.int64),
            )
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
        raise ValueError(f"{path}: not a readable MD state file ({error}); delete it to recompute it") from error


def write_lammps_data(state: State, path: str | os.PathLike, source: str = "") -> Path:
    """``state`` as a LAMMPS data file (atom_style atomic: masses, atoms with image flags,
    velocities; floats exact), so that plain LAMMPS (``read_data``), OVITO or VMD open a qp's box."""
    xy, xz, yz = state.tilt.tolist()
    lines = [
        f"LAMMPS data file of an MD state{f' ({source})' if source else ''}, written by scema.md.state",
        "",
        f"{len(state.id)} atoms",
        f"{len(state.mass)} atom types",
        "",
        *(f"{lo!r} {hi!r} {axis}lo {axis}hi" for lo, hi, axis in zip(state.lo.tolist(), state.hi.tolist(), "xyz")),
        f"{xy!r} {xz!r} {yz!r} xy xz yz",
        "",
        "Masses",
        "",
        *(f"{t} {m!r}" for t, m in enumerate(state.mass.tolist(), start=1)),
        "",
        "Atoms # atomic",
        "",
        *(
            f"{i} {t} {x!r} {y!r} {z!r} {ix} {iy} {iz}"
            for i, t, (x, y, z), (ix, iy, iz) in zip(
                state.id.tolist(), state.type.tolist(), state.x.tolist(), state.image.tolist()
            )
        ),
        "",
        "Velocities",
        "",
        *(f"{i} {vx!r} {vy!r} {vz!r}" for i, (vx, vy, vz) in zip(state.id.tolist(), state.v.tolist())),
        "",
    ]
    with atomic_path(path) as tmp:
        Path(tmp).write_text("\n".join(lines))
    return Path(path)


def main(argv: list[str] | None = None) -> None:
    """``python -m scema.md.state STATE.nc OUT.data``: a qp's state as a LAMMPS data file."""
    import argparse

    parser = argparse.ArgumentParser(description="Write an MD state (NetCDF) as a LAMMPS data file.")
    parser.add_argument("state", type=Path, help="a qp state, e.g. results/step_0003/md/state/qp0000012_r00.nc")
    parser.add_argument("out", type=Path, help="the LAMMPS data file to write")
    args = parser.parse_args(argv)
    state = read_state(args.state)
    write_lammps_data(state, args.out, source=str(args.state))
    print(f"{args.out}: read_data it with units {state.units} and atom_style atomic")


if __name__ == "__main__":
    main()
