"""Boundary conditions on named faces, read from config (no dolfinx here)."""

from __future__ import annotations

import numpy as np


def prescribed_increments(boundary_conditions: list[dict]) -> dict[tuple[str, int], float]:
    """(face, component) -> displacement increment per step (m); fixed faces give zeros.

    ``null`` components of a ``displacement`` condition stay free.
    """
    prescribed: dict[tuple[str, int], float] = {}
    for bc in boundary_conditions:
        if bc["type"] == "fixed":
            values = [0.0, 0.0, 0.0]
        else:
            values = bc["increment"]
        for comp, value in enumerate(values):
            if value is not None:
                prescribed[(bc["face"], comp)] = float(value)
    return prescribed


def applied_displacement(boundary_conditions: list[dict], face: str, step: int) -> np.ndarray:
    """Total prescribed displacement of ``face`` after ``step`` steps (NaN where free), m."""
    out = np.full(3, np.nan)
    for (f, comp), inc in prescribed_increments(boundary_conditions).items():
        if f == face:
            out[comp] = inc * step
    return out
