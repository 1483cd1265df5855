"""The seed's and SCEMa's specimens, generated with the gmsh Python API from a few parameters.

Why generators and not committed meshes: a mesh file hides its proportions; a generator states
them (ASTM E399 for compact tension) and scales from a test-sized mesh to SCEMa's size by a
config change. Every generator writes a gmsh 4 ``.msh`` file with one volume group
``specimen`` and *named* boundary surfaces, which the FE model uses for loads, supports and
reaction forces (``specimen.boundary_conditions[*].boundary``).

- :func:`compact_tension`: C(T) specimen after ASTM E399 (width W from the load line, overall
  1.25 W x 1.2 W, thickness B, pin holes 0.25 W at +/- 0.275 W, crack length a). Full model:
  surfaces ``upper_pin``, ``lower_pin``; half model (y >= 0, symmetric about the crack plane):
  ``upper_pin``, ``ligament`` (the uncracked y = 0 face, for the symmetry condition) and
  ``crack_face`` (the free y = 0 face ahead of the notch). Tetrahedra.
- :func:`dogbone`: flat tensile bar with grips and a straight gauge section (hexahedra by
  extrusion of a quad-meshed profile); surfaces ``grip_bottom``, ``grip_top``.
- :func:`plate`: square plate for a drop-weight impact, structured hexahedra; surfaces
  ``impact`` (a central patch of the top face) and ``clamp`` (the four side faces).

Lengths are in metres. All generators are deterministic (gmsh's meshers are, for one version).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from scema.io.atomic import atomic_path

SPECIMENS = ("compact_tension", "dogbone", "plate")


class ParameterError(ValueError):
    """A generator parameter out of its range; ``key`` names it, so the config check can name
    ``specimen.mesh.parameters.<key>``."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@contextlib.contextmanager
def _gmsh_model(name: str) -> Iterator[object]:
    """A fresh, quiet gmsh session holding one model; finalised whatever happens."""
    import gmsh

    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add(name)
        yield gmsh
    finally:
        gmsh.finalize()


def _surfaces_in(gmsh, lo, hi, slack: float) -> list[int]:
    """Surface tags lying wholly inside the box [lo, hi] widened by ``slack`` (OCC bounding
    boxes carry a tolerance, so exact comparisons of them miss curved faces)."""
    box = [v - slack for v in lo] + [v + slack for v in hi]
    return sorted(tag for _, tag in gmsh.model.getEntitiesInBoundingBox(*box, dim=2))


def _name_groups(gmsh, volumes: list[int], surfaces: dict[str, list[int]]) -> None:
    gmsh.model.addPhysicalGroup(3, volumes, 1)
    gmsh.model.setPhysicalName(3, 1, "specimen")
    for k, (name, tags) in enumerate(surfaces.items(), start=1):
        if not tags:
            raise RuntimeError(f"specimen generator: no surface found for boundary '{name}'")
        gmsh.model.addPhysicalGroup(2, tags, k)
        gmsh.model.setPhysicalName(2, k, name)


def _write(gmsh, path: str | Path) -> Path:
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    with atomic_path(path) as tmp:
        named = tmp.with_name(tmp.name + ".msh")  # gmsh picks the format from the extension
        try:
            gmsh.write(str(named))
            named.rename(tmp)
        finally:
            named.unlink(missing_ok=True)
    return Path(path)


def compact_tension(
    path: str | Path,
    width: float = 0.04,
    a_over_w: float = 0.5,
    thickness: float | None = None,
    half: bool = True,
    notch_width: float | None = None,
    mesh_size: float | None = None,
) -> Path:
    """Write a C(T) specimen (ASTM E399 proportions) to ``path``; returns the path.

    ``width`` is W (load line to back edge), ``thickness`` B (default W / 4, SCEMa's 10 mm at
    W = 40 mm), ``a_over_w`` the crack length ratio (E399: 0.45 .. 0.55). The half model keeps
    y >= 0 and has no notch volume (its crack is the free part of the y = 0 face); the full
    model cuts a notch of ``notch_width`` (default W / 20) from the front edge to x = a.
    ``mesh_size`` is the target element edge (default W / 3: about 250 tetrahedra in the half
    model, the size of SCEMa's 242-cell CT mesh; W / 6 gives about 480).
    """
    w = float(width)
    b = float(thickness) if thickness is not None else w / 4.0
    a = float(a_over_w) * w
    if not 0.2 <= a_over_w <= 0.8:
        raise ParameterError("a_over_w", f"compact_tension: a_over_w must be in [0.2, 0.8], got {a_over_w}")
    x0, x1, h = -0.25 * w, w, 0.6 * w
    r, yc = 0.125 * w, 0.275 * w
    size = float(mesh_size) if mesh_size is not None else w / 3.0
    tol = 1e-9 * w
    with _gmsh_model("compact_tension") as gmsh:
        occ = gmsh.model.occ
        if half:
            # two blocks meeting at x = a, so the y = 0 face splits into crack face and ligament
            front = occ.addBox(x0, 0.0, 0.0, a - x0, h, b)
            back = occ.addBox(a, 0.0, 0.0, x1 - a, h, b)
            pin = occ.addCylinder(0.0, yc, 0.0, 0.0, 0.0, b, r)
            cut, _ = occ.cut([(3, front)], [(3, pin)])
            occ.fragment(cut, [(3, back)])
        else:
            body = occ.addBox(x0, -h, 0.0, x1 - x0, 2 * h, b)
            nw = float(notch_width) if notch_width is not None else w / 20.0
            notch = occ.addBox(x0 - tol * 10, -nw / 2, 0.0, a - x0 + tol * 10, nw, b)
            pins = [occ.addCylinder(0.0, s * yc, 0.0, 0.0, 0.0, b, r) for s in (1.0, -1.0)]
            occ.cut([(3, body)], [(3, notch)] + [(3, p) for p in pins])
        occ.synchronize()
        volumes = [tag for _, tag in gmsh.model.getEntities(3)]

        slack = 1e-3 * w

        def pin(y):
            return _surfaces_in(gmsh, (-r, y - r, 0.0), (r, y + r, b), slack)

        surfaces = {"upper_pin": pin(yc)}
        if half:
            surfaces["ligament"] = _surfaces_in(gmsh, (a, 0.0, 0.0), (x1, 0.0, b), slack)
            surfaces["crack_face"] = _surfaces_in(gmsh, (x0, 0.0, 0.0), (a, 0.0, b), slack)
        else:
            surfaces["lower_pin"] = pin(-yc)
        _name_groups(gmsh, volumes, surfaces)
        gmsh.model.mesh.setSize(gmsh.model.getEntities(0), size)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.model.mesh.generate(3)
        return _write(gmsh, path)


def _structured_hexahedra(
    gmsh, boxes: list[tuple[float, float, float, float, float, float]], spacing: tuple[float, float, float]
) -> list[int]:
    """Fuse axis-aligned boxes (x, y, z, dx, dy, dz) into one conforming body of structured
    hexahedra with about ``spacing`` (hx, hy, hz) element edges; returns the volume tags.

    Every box face is a rectangle, so every surface has four corners and can be transfinite.
    """
    occ = gmsh.model.occ
    tags = [(3, occ.addBox(*box)) for box in boxes]
    if len(tags) > 1:
        occ.fragment(tags[:1], tags[1:])
    occ.synchronize()
    for _, curve in gmsh.model.getEntities(1):
        bb = gmsh.model.getBoundingBox(1, curve)
        extent = [bb[3 + k] - bb[k] for k in range(3)]
        axis = max(range(3), key=lambda k: extent[k])
        gmsh.model.mesh.setTransfiniteCurve(curve, max(1, round(extent[axis] / spacing[axis])) + 1)
    for _, surf in gmsh.model.getEntities(2):
        gmsh.model.mesh.setTransfiniteSurface(surf)
        gmsh.model.mesh.setRecombine(2, surf)
    volumes = [tag for _, tag in gmsh.model.getEntities(3)]
    for vol in volumes:
        gmsh.model.mesh.setTransfiniteVolume(vol)
    return volumes


def _cuts(values: list[float]) -> list[float]:
    """Sorted distinct coordinates (a grip as wide as the gauge adds no column)."""
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > 1e-12:
            out.append(v)
    return out


def dogbone(
    path: str | Path,
    gauge_length: float = 8e-3,
    gauge_width: float = 3e-3,
    thickness: float = 3e-3,
    grip_length: float = 2e-3,
    grip_width: float = 5e-3,
    divisions: tuple[int, int, int] = (3, 3, 8),
) -> Path:
    """Write a flat tensile bar (grips, straight gauge, square shoulders) to ``path``.

    The bar runs along z (bottom grip, gauge, top grip), its width along x, its thickness
    along y. ``divisions`` = elements across the gauge width, through the thickness and along
    the gauge (SCEMa's dogbone: 3 x 3 x 8 hexahedra); the grips get elements of the same
    size. Structured hexahedra.
    """
    nx, ny, nz = (int(d) for d in divisions)
    lg, wg, t, lgrip, wgrip = (float(v) for v in (gauge_length, gauge_width, thickness, grip_length, grip_width))
    if wgrip < wg:
        raise ParameterError("grip_width", f"dogbone: grip_width {wgrip} must be >= gauge_width {wg}")
    off = (wgrip - wg) / 2.0
    xs = _cuts([0.0, off, off + wg, wgrip])
    z_top = 2 * lgrip + lg
    boxes = []
    for z0, z1 in ((0.0, lgrip), (lgrip + lg, z_top)):  # grips: full width
        boxes += [(x0, 0.0, z0, x1 - x0, t, z1 - z0) for x0, x1 in zip(xs[:-1], xs[1:])]
    boxes.append((off, 0.0, lgrip, wg, t, lg))  # gauge
    with _gmsh_model("dogbone") as gmsh:
        volumes = _structured_hexahedra(gmsh, boxes, (wg / nx, t / ny, lg / nz))
        slack = 1e-3 * wg
        surfaces = {
            "grip_bottom": _surfaces_in(gmsh, (0.0, 0.0, 0.0), (wgrip, t, 0.0), slack),
            "grip_top": _surfaces_in(gmsh, (0.0, 0.0, z_top), (wgrip, t, z_top), slack),
        }
        _name_groups(gmsh, volumes, surfaces)
        gmsh.model.mesh.generate(3)
        return _write(gmsh, path)


def plate(
    path: str | Path,
    side: float = 6e-3,
    thickness: float = 1e-3,
    divisions: tuple[int, int, int] = (6, 6, 1),
    impact_fraction: float = 1.0 / 3.0,
) -> Path:
    """Write a square plate (x, y in [0, side], z in [0, thickness]) of structured hexahedra.

    ``impact`` is the central square of the top face with edge ``impact_fraction * side``
    (element boundaries are placed on it), ``clamp`` the four side faces. SCEMa's drop weight:
    6 x 6 x 1 hexahedra.
    """
    nx, ny, nz = (int(d) for d in divisions)
    if not 0.0 < impact_fraction < 1.0:
        raise ParameterError("impact_fraction", f"plate: impact_fraction must be in (0, 1), got {impact_fraction}")
    lo = side * (1.0 - impact_fraction) / 2.0
    hi = side - lo
    cuts = [0.0, lo, hi, side]
    boxes = [
        (cuts[i], cuts[j], 0.0, cuts[i + 1] - cuts[i], cuts[j + 1] - cuts[j], thickness)
        for i in range(3)
        for j in range(3)
    ]
    with _gmsh_model("plate") as gmsh:
        volumes = _structured_hexahedra(gmsh, boxes, (side / nx, side / ny, thickness / nz))
        slack = 1e-3 * side
        sides = [
            ((0, 0, 0), (0, side, thickness)),
            ((side, 0, 0), (side, side, thickness)),
            ((0, 0, 0), (side, 0, thickness)),
            ((0, side, 0), (side, side, thickness)),
        ]
        surfaces = {
            "impact": _surfaces_in(gmsh, (lo, lo, thickness), (hi, hi, thickness), slack),
            "clamp": sorted({tag for a, b in sides for tag in _surfaces_in(gmsh, a, b, slack)}),
        }
        _name_groups(gmsh, volumes, surfaces)
        gmsh.model.mesh.generate(3)
        return _write(gmsh, path)


GENERATORS = {"compact_tension": compact_tension, "dogbone": dogbone, "plate": plate}


def generate(specimen: str, path: str | Path, **parameters) -> Path:
    """Write the mesh of ``specimen`` (one of :data:`SPECIMENS`) with ``parameters`` to ``path``."""
    if specimen not in GENERATORS:
        raise ValueError(f"unknown specimen '{specimen}' (one of {', '.join(SPECIMENS)})")
    return GENERATORS[specimen](path, **parameters)
