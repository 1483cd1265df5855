"""Where the boundary conditions act, and what they prescribe (no dolfinx here).

A condition names a *boundary*: one of the six faces of the specimen's bounding box
(``xmin`` ... ``zmax``) or a name defined under ``specimen.boundaries`` as a gmsh physical
group, a box or a cylinder (e.g. a pin-hole surface). :func:`boundary_marker` is the one test
of "is this point on that boundary", used by the FE model both for the Dirichlet conditions
and for the reaction force, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

FACE_NAMES = ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")

# Points closer than this fraction of the specimen's largest extent count as on a face or box edge.
RELATIVE_TOLERANCE = 1e-8


def load_factor(bc: dict, step: int) -> float:
    """Multiplier of a condition's increment at ``step`` (1-based): ``factors[step - 1]``, 1 when
    no factors are given, 0 past their end (the boundary then holds its position)."""
    factors = bc.get("factors") or []
    if not factors:
        return 1.0
    return float(factors[step - 1]) if step <= len(factors) else 0.0


def prescribed_increments(boundary_conditions: list[dict], step: int = 1) -> dict[tuple[str, int], float]:
    """(boundary, component) -> displacement increment of ``step`` (m); fixed boundaries give zeros.

    ``null`` components of a ``displacement`` condition stay free; ``factors`` scale the
    increment step by step (e.g. load, then unload).
    """
    prescribed: dict[tuple[str, int], float] = {}
    for bc in boundary_conditions:
        values = [0.0, 0.0, 0.0] if bc["type"] == "fixed" else bc["increment"]
        factor = 0.0 if bc["type"] == "fixed" else load_factor(bc, step)
        for comp, value in enumerate(values):
            if value is not None:
                prescribed[(bc["face"], comp)] = float(value) * factor
    return prescribed


def constrained_components(boundary_conditions: list[dict], boundary: str) -> list[int]:
    """Components (0, 1, 2) that some condition prescribes on ``boundary``."""
    return sorted(comp for (name, comp) in prescribed_increments(boundary_conditions) if name == boundary)


def applied_displacement(boundary_conditions: list[dict], boundary: str, step: int) -> np.ndarray:
    """Total prescribed displacement of ``boundary`` after ``step`` steps (NaN where free), m."""
    out = np.full(3, np.nan)
    out[constrained_components(boundary_conditions, boundary)] = 0.0
    for t in range(1, step + 1):
        for (name, comp), inc in prescribed_increments(boundary_conditions, t).items():
            if name == boundary:
                out[comp] += inc
    return out


def boundary_marker(
    name: str, selectors: dict[str, dict], lower: np.ndarray, upper: np.ndarray
) -> Callable[[np.ndarray], np.ndarray] | None:
    """``marker(x)`` -> bool per point (x is (3, n)) for a geometric boundary; None for a physical group.

    ``lower``/``upper`` are the corners of the specimen's bounding box (all ranks' nodes).
    """
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    tol = RELATIVE_TOLERANCE * float(np.max(upper - lower))
    if name in FACE_NAMES:
        axis = "xyz".index(name[0])
        target = lower[axis] if name.endswith("min") else upper[axis]
        return lambda x: np.abs(x[axis] - target) <= tol
    selector = selectors[name]
    if "physical_group" in selector:
        return None
    if "box" in selector:
        lo, hi = (np.asarray(c, dtype=float)[:, None] for c in selector["box"])
        return lambda x: np.all((x >= lo - tol) & (x <= hi + tol), axis=0)
    cyl = selector["cylinder"]
    point = np.asarray(cyl["point"], dtype=float)[:, None]
    axis_vec = np.asarray(cyl["axis"], dtype=float)
    axis_vec = (axis_vec / np.linalg.norm(axis_vec))[:, None]
    radius = float(cyl["radius"])
    # a faceted hole's nodes sit on the cylinder up to the mesher's rounding
    r_tol = tol + 1e-6 * radius

    def on_cylinder(x: np.ndarray) -> np.ndarray:
        d = x - point
        radial = d - axis_vec * np.sum(d * axis_vec, axis=0)
        return np.abs(np.linalg.norm(radial, axis=0) - radius) <= r_tol

    return on_cylinder
