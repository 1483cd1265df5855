"""A material as the MD side sees it: one frozen record built from a VALIDATED ``materials`` entry.

Defaults and ranges live only in ``workflow/schemas/config.schema.yaml``: ``from_config`` takes
the entry as ``scema.config.validate_config`` returned it (every key filled) and restates
nothing; ``from_entry`` validates a bare entry first (tests, benchmarks, notebooks).
Times and rates are stored in SI (as in the config) and converted to LAMMPS units only here,
so no other module needs to know the unit style's time unit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import units as lmp_units

# An equilibration (and each stage of a melt-quench) must last this many barostat and
# thermostat damping times: a Nose-Hoover barostat needs several of its periods to settle, and
# a shorter NPT run leaves reference boxes at -250 .. -810 MPa (measured on the test config).
DAMPING_TIMES = 5


class MaterialError(ValueError):
    """A material setting the schema cannot rule out. ``key`` is its path inside the material's
    config entry (``preparation.melt_steps``), so ``validate_config`` can name
    ``materials.<name>.<key>``; the message names the material for errors outside a config."""

    def __init__(self, material: str, key: str, reason: str) -> None:
        super().__init__(f"material {material!r}: {reason}")
        self.material, self.key, self.reason = material, key, reason

    def __reduce__(self):  # picklable across processes although __init__ takes three arguments
        return type(self), (self.material, self.key, self.reason)


@dataclass(frozen=True)
class MaterialSpec:
    """Everything needed to build, equilibrate and strain one material in LAMMPS."""

    name: str
    units: str
    atom_style: str
    structure: Path
    forcefield: Path
    variables: Mapping[str, Any]
    temperature: float  # K
    timestep: float  # s
    strain_rate: float  # 1/s
    equilibration_steps: int
    reference_sampling_steps: int
    reference_standard_error: float  # Pa, goal for the reference stress
    reference_max_windows: int  # the reference window grows to at most this x reference_sampling_steps
    sampling_steps: int
    sampling_stride: int  # an update samples the pressure on every sampling_stride-th step
    min_deform_steps: int
    deform_stride: int  # the box follows the strain ramp on every deform_stride-th step
    thermostat: str
    thermostat_damping_steps: int
    barostat_damping_steps: int
    barostat_coupling: str
    stiffness_strain: float  # engineering for shear
    stiffness_sampling_steps: int
    rest_states: int  # states per replica taken along the reference window; qps start from them in turn
    reference_estimator: str  # "window" (mean of the window) or "rest_updates" (mean of zero-strain updates)
    reference_updates: int  # zero-strain updates per replica with "rest_updates"
    builder: Mapping[str, Any] | None = None  # settings of scema.md.builder, or None
    preparation: Mapping[str, Any] | None = None  # melt-quench settings, or None

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any]) -> MaterialSpec:
        """Build from one validated ``materials:`` entry (template paths already absolute)."""
        fields = [f.name for f in dataclasses.fields(cls) if f.name != "name"]
        missing = [k for k in fields if k not in cfg]
        if missing:
            raise ValueError(
                f"material {name!r}: missing keys {missing} "
                "(pass the entry through scema.config.validate_config, which fills defaults)"
            )
        frozen = {k: MappingProxyType(dict(cfg[k])) if isinstance(cfg[k], Mapping) else cfg[k] for k in fields}
        spec = cls(name=name, **{**frozen, "structure": Path(cfg["structure"]), "forcefield": Path(cfg["forcefield"])})
        spec.validate()
        return spec

    @classmethod
    def from_entry(cls, name: str, entry: Mapping[str, Any], base_dir: Path = Path(".")) -> MaterialSpec:
        """Validate a bare ``materials`` entry against the schema (defaults filled), then build."""
        from scema.config import validate_config

        config = {
            "run": {"steps": 1},
            "specimen": {
                "mesh": {"type": "box"},
                "material": name,
                "reaction_face": "zmin",
                "boundary_conditions": [{"face": "zmin", "type": "fixed"}],
            },
            "md": {"replicas": 1},
            "materials": {name: dict(entry)},
        }
        return cls.from_config(name, validate_config(config, search_dirs=[base_dir])["materials"][name])

    def validate(self) -> None:
        """What the schema cannot say. The one place for these rules: ``validate_config`` runs it for
        every material when the Snakefile is parsed, so a bad entry stops before any job."""
        try:
            lmp_units.pressure_to_pascal(self.units)  # rejects lj / unknown styles by name
        except ValueError as error:
            raise MaterialError(self.name, "units", str(error)) from None
        if self.sampling_steps % self.sampling_stride:
            raise MaterialError(
                self.name,
                "sampling_steps",
                f"sampling_steps ({self.sampling_steps}) must be a multiple of sampling_stride ({self.sampling_stride})",
            )
        if self.deform_stride > self.min_deform_steps:
            raise MaterialError(
                self.name,
                "deform_stride",
                f"deform_stride ({self.deform_stride}) must not exceed min_deform_steps ({self.min_deform_steps}): "
                "the shortest ramp would be one jump",
            )
        if self.reference_estimator == "rest_updates" and (
            self.reference_updates < max(2, self.rest_states) or self.reference_updates % self.rest_states
        ):
            raise MaterialError(
                self.name,
                "reference_updates",
                f"reference_updates ({self.reference_updates}) must be a multiple of rest_states ({self.rest_states}) "
                "and at least 2: every rest state starts as many of the zero-strain updates (qps start from them "
                "in turn), and one update has no standard error",
            )
        enough = DAMPING_TIMES * max(self.barostat_damping_steps, self.thermostat_damping_steps)
        if self.equilibration_steps < enough:
            raise MaterialError(
                self.name,
                "equilibration_steps",
                f"equilibration_steps ({self.equilibration_steps}) must be at least {DAMPING_TIMES} x the "
                f"barostat/thermostat damping ({enough} steps)",
            )
        if self.preparation is not None:
            self._validate_preparation(enough)

    def _validate_preparation(self, enough: int) -> None:
        """Melt above the run temperature; every NPT stage of the melt-quench ``enough`` steps long."""
        prep = self.preparation
        if prep["melt_temperature"] <= self.temperature:
            raise MaterialError(
                self.name,
                "preparation.melt_temperature",
                f"preparation.melt_temperature ({prep['melt_temperature']} K) must exceed temperature "
                f"({self.temperature} K)",
            )
        if prep["melt_steps"] < enough:
            raise MaterialError(
                self.name,
                "preparation.melt_steps",
                f"preparation.melt_steps ({prep['melt_steps']}) must be at least {DAMPING_TIMES} x the "
                f"barostat/thermostat damping ({enough} steps)",
            )
        anneal = prep["anneal_temperature"]
        if self.anneal_steps and not self.temperature < anneal < prep["melt_temperature"]:
            raise MaterialError(
                self.name,
                "preparation.anneal_temperature",
                f"preparation.anneal_temperature ({anneal} K) must lie between temperature ({self.temperature} K) "
                f"and melt_temperature ({prep['melt_temperature']} K)",
            )
        if 0 < self.anneal_steps < enough:
            raise MaterialError(
                self.name,
                "preparation.anneal_steps",
                f"preparation.anneal_steps ({self.anneal_steps}) must be 0 or at least {DAMPING_TIMES} x the "
                f"barostat/thermostat damping ({enough} steps)",
            )
        if self.quench_steps < enough:
            raise MaterialError(
                self.name,
                "preparation.quench_rate",
                f"preparation.quench_rate is too fast: the quench takes {self.quench_steps} steps, fewer than "
                f"{DAMPING_TIMES} x the damping ({enough})",
            )

    def replace(self, **changes: Any) -> MaterialSpec:
        """Copy with some fields changed (e.g. shorter runs in tests); validated again."""
        spec = dataclasses.replace(self, **changes)
        spec.validate()
        return spec

    @property
    def timestep_lammps(self) -> float:
        """Timestep in the unit style's time unit (the value for the ``timestep`` command)."""
        return self.timestep / lmp_units.time_unit_seconds(self.units)

    @property
    def strain_rate_lammps(self) -> float:
        """Strain rate in 1 / (LAMMPS time unit)."""
        return self.strain_rate * lmp_units.time_unit_seconds(self.units)

    @property
    def thermostat_damping(self) -> float:
        """Tdamp in LAMMPS time units."""
        return self.thermostat_damping_steps * self.timestep_lammps

    @property
    def barostat_damping(self) -> float:
        """Pdamp in LAMMPS time units."""
        return self.barostat_damping_steps * self.timestep_lammps

    def ramp_steps(self, t_start: float, t_stop: float) -> int:
        """Steps of a cooling ramp from t_start to t_stop (K) at the preparation's quench_rate."""
        drop = float(t_start) - float(t_stop)
        return max(1, math.ceil(drop / float(self.preparation["quench_rate"]) / self.timestep))

    @property
    def quench_steps(self) -> int:
        """Steps of the melt-quench cooling ramp (melt temperature to ``temperature`` at quench_rate)."""
        if self.preparation is None:
            return 0
        return self.ramp_steps(self.preparation["melt_temperature"], self.temperature)

    @property
    def anneal_steps(self) -> int:
        """NPT steps held at the preparation's anneal_temperature during the quench (0: none)."""
        return 0 if self.preparation is None else int(self.preparation["anneal_steps"])

    def deform_steps(self, max_abs_strain: float) -> int:
        """Steps to apply a strain of this size at ``strain_rate``, at least ``min_deform_steps``."""
        needed = math.ceil(abs(max_abs_strain) / (self.strain_rate * self.timestep) - 1e-9)
        return max(self.min_deform_steps, needed)
