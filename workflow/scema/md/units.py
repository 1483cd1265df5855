"""SI factors of LAMMPS unit styles (https://docs.lammps.org/units.html).

The only module with unit factors: everything else multiplies by these, so changing a
material's ``units`` never needs a code change. ``lj`` is reduced (no SI meaning) and rejected.
"""

from __future__ import annotations

AVOGADRO = 6.02214076e23  # 1/mol (exact, SI 2019)
AMU = 1.0e-3 / AVOGADRO  # kg: 1 g/mol per particle
ATMOSPHERE = 101325.0  # Pa
BOHR = 0.529177210903e-10  # m (CODATA 2018)

# UDUNITS name of each style's distance unit (the ``units`` attribute of cells in NetCDF files)
_DISTANCE_NAMES = {
    "metal": "angstrom",
    "real": "angstrom",
    "si": "m",
    "cgs": "cm",
    "electron": f"{BOHR!r} m",  # UDUNITS has no Bohr
    "micro": "um",
    "nano": "nm",
}

# style: (pressure [Pa], time [s], mass [kg], distance [m])
_FACTORS: dict[str, tuple[float, float, float, float]] = {
    "metal": (1.0e5, 1.0e-12, AMU, 1.0e-10),  # bar, ps, g/mol, Angstrom
    "real": (ATMOSPHERE, 1.0e-15, AMU, 1.0e-10),  # atm, fs, g/mol, Angstrom
    "si": (1.0, 1.0, 1.0, 1.0),  # Pa, s, kg, m
    "cgs": (0.1, 1.0, 1.0e-3, 1.0e-2),  # dyne/cm^2, s, g, cm
    "electron": (1.0, 1.0e-15, AMU, BOHR),  # Pa, fs, amu, Bohr
    "micro": (1.0e3, 1.0e-6, 1.0e-15, 1.0e-6),  # pg/(um us^2), us, pg, um
    "nano": (1.0e6, 1.0e-9, 1.0e-21, 1.0e-9),  # ag/(nm ns^2), ns, ag, nm
}


def _factors(units: str) -> tuple[float, float, float, float]:
    try:
        return _FACTORS[units]
    except KeyError:
        if units == "lj":
            raise ValueError("LAMMPS units style 'lj' is reduced (dimensionless); SCEMa needs physical units") from None
        raise ValueError(f"unknown LAMMPS units style {units!r}; expected one of {sorted(_FACTORS)}") from None


def pressure_to_pascal(units: str) -> float:
    """Pa per LAMMPS pressure unit of ``units``."""
    return _factors(units)[0]


def time_unit_seconds(units: str) -> float:
    """Seconds per LAMMPS time unit of ``units``."""
    return _factors(units)[1]


def mass_to_kilogram(units: str) -> float:
    """kg per LAMMPS mass unit (per particle; g/mol styles divided by Avogadro)."""
    return _factors(units)[2]


def distance_to_metre(units: str) -> float:
    """m per LAMMPS distance unit of ``units``."""
    return _factors(units)[3]


def distance_unit_name(units: str) -> str:
    """The UDUNITS name of the LAMMPS distance unit of ``units`` (e.g. "angstrom")."""
    _factors(units)
    return _DISTANCE_NAMES[units]


# UDUNITS names of each style's velocity and mass units (the atoms of MD state files)
_VELOCITY_NAMES = {
    "metal": "angstrom/ps",
    "real": "angstrom/fs",
    "si": "m/s",
    "cgs": "cm/s",
    "electron": f"{BOHR!r} m/(1.03275e-15 s)",  # Bohr per atomic time unit, not per fs (the style's time)
    "micro": "um/us",
    "nano": "nm/ns",
}
_MASS_NAMES = {"metal": "g/mol", "real": "g/mol", "si": "kg", "cgs": "g", "electron": "u", "micro": "pg", "nano": "ag"}


def velocity_unit_name(units: str) -> str:
    """The UDUNITS name of the LAMMPS velocity unit of ``units`` (e.g. "angstrom/ps")."""
    _factors(units)
    return _VELOCITY_NAMES[units]


def mass_unit_name(units: str) -> str:
    """The UDUNITS name of the LAMMPS mass unit of ``units`` (per atom type; "g/mol" in metal)."""
    _factors(units)
    return _MASS_NAMES[units]
