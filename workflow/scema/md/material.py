"""A material as the MD side sees it: one frozen record built from ``config['materials'][name]``.

Times and rates are stored in SI (as in the config) and converted to LAMMPS units only here,
so no other module needs to know the unit style's time unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from . import units as lmp_units

# Optional keys (not in the default config) and their defaults.
OPTIONAL_DEFAULTS: dict[str, Any] = {
    "thermostat": "langevin",          # langevin | nose_hoover (NVT holds; equilibration NPT is NH)
    "thermostat_damping_steps": 100,   # thermostat damping time = this many timesteps
    "barostat_damping_steps": 1000,    # Pdamp = this many timesteps (equilibration only)
    "barostat_coupling": "aniso",      # iso | aniso | tri (fix npt couple style)
}
REQUIRED_KEYS: tuple[str, ...] = (
    "units", "structure", "forcefield", "variables", "temperature", "timestep",
    "strain_rate", "equilibration_steps", "sampling_steps", "min_deform_steps",
    "stiffness_strain", "stiffness_sampling_steps",
)


@dataclass(frozen=True)
class MaterialSpec:
    """Everything needed to build, equilibrate and strain one material in LAMMPS."""

    name: str
    units: str
    structure: Path
    forcefield: Path
    variables: Mapping[str, Any]
    temperature: float            # K
    timestep: float               # s
    strain_rate: float            # 1/s
    equilibration_steps: int
    sampling_steps: int
    min_deform_steps: int
    stiffness_strain: float       # engineering for shear
    stiffness_sampling_steps: int
    thermostat: str = OPTIONAL_DEFAULTS["thermostat"]
    thermostat_damping_steps: int = OPTIONAL_DEFAULTS["thermostat_damping_steps"]
    barostat_damping_steps: int = OPTIONAL_DEFAULTS["barostat_damping_steps"]
    barostat_coupling: str = OPTIONAL_DEFAULTS["barostat_coupling"]
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], base_dir: Path = Path(".")) -> "MaterialSpec":
        """Build from one ``materials:`` entry; template paths are relative to ``base_dir``."""
        missing = [k for k in REQUIRED_KEYS if k not in cfg]
        if missing:
            raise ValueError(f"material {name!r}: missing keys {missing}")
        lmp_units.pressure_to_pascal(str(cfg["units"]))  # reject lj / unknown early
        known = set(REQUIRED_KEYS) | set(OPTIONAL_DEFAULTS)
        base = Path(base_dir)
        spec = cls(
            name=name,
            units=str(cfg["units"]),
            structure=(base / cfg["structure"]).resolve(),
            forcefield=(base / cfg["forcefield"]).resolve(),
            variables=MappingProxyType(dict(cfg["variables"])),
            temperature=float(cfg["temperature"]),
            timestep=float(cfg["timestep"]),
            strain_rate=float(cfg["strain_rate"]),
            equilibration_steps=int(cfg["equilibration_steps"]),
            sampling_steps=int(cfg["sampling_steps"]),
            min_deform_steps=int(cfg["min_deform_steps"]),
            stiffness_strain=float(cfg["stiffness_strain"]),
            stiffness_sampling_steps=int(cfg["stiffness_sampling_steps"]),
            thermostat=str(cfg.get("thermostat", OPTIONAL_DEFAULTS["thermostat"])),
            thermostat_damping_steps=int(cfg.get("thermostat_damping_steps", OPTIONAL_DEFAULTS["thermostat_damping_steps"])),
            barostat_damping_steps=int(cfg.get("barostat_damping_steps", OPTIONAL_DEFAULTS["barostat_damping_steps"])),
            barostat_coupling=str(cfg.get("barostat_coupling", OPTIONAL_DEFAULTS["barostat_coupling"])),
            extra=MappingProxyType({k: v for k, v in cfg.items() if k not in known}),
        )
        spec.validate()
        return spec

    def validate(self) -> None:
        """Fail early in Python: a LAMMPS error would kill the process with no message."""
        if self.thermostat not in ("langevin", "nose_hoover"):
            raise ValueError(f"material {self.name!r}: thermostat must be langevin|nose_hoover")
        if self.barostat_coupling not in ("iso", "aniso", "tri"):
            raise ValueError(f"material {self.name!r}: barostat_coupling must be iso|aniso|tri")
        for label, value in (("timestep", self.timestep), ("strain_rate", self.strain_rate),
                             ("temperature", self.temperature), ("stiffness_strain", self.stiffness_strain)):
            if not value > 0:
                raise ValueError(f"material {self.name!r}: {label} must be > 0, got {value}")
        for label in ("sampling_steps", "min_deform_steps", "stiffness_sampling_steps",
                      "thermostat_damping_steps", "barostat_damping_steps"):
            if getattr(self, label) < 1:
                raise ValueError(f"material {self.name!r}: {label} must be >= 1")
        if self.equilibration_steps < 0:
            raise ValueError(f"material {self.name!r}: equilibration_steps must be >= 0")

    def replace(self, **changes: Any) -> "MaterialSpec":
        """Copy with some fields changed (e.g. shorter runs in tests)."""
        import dataclasses
        return dataclasses.replace(self, **changes)

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

    def deform_steps(self, max_abs_strain: float) -> int:
        """Steps to apply a strain of this size at ``strain_rate``, at least ``min_deform_steps``."""
        needed = math.ceil(abs(max_abs_strain) / (self.strain_rate * self.timestep) - 1e-9)
        return max(self.min_deform_steps, needed)
