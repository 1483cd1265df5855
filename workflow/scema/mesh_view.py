"""The specimen's mesh as the FE model will see it, computed without dolfinx.

Why: a region or a named boundary that selects nothing used to pass the config check and fail
inside a job, after the material runs. The config check asks the same questions here, before
any job: which cell midpoints a region claims (:func:`cell_regions`, the rule
``scema.specimen.cell_materials`` applies) and which exterior facets a boundary selects
(:func:`selected_facets`: ``scema.fe.boundary.boundary_marker`` true at every vertex of the
facet, as dolfinx's ``locate_entities_boundary`` applies it in ``FEModel.face_facets``).

- a box: dolfinx's ``create_box`` cells from size and divisions (hexahedra, or each split
  into :data:`scema.fe.stability.BOX_TETRAHEDRA`); only the boundary layer is built for facets.
- a gmsh file: its linear 3D cells (``scema.gmsh_file.read_gmsh``); exterior facets are the
  cell faces no other cell shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

# Faces of a hexahedron in dolfinx's tensor-product vertex order (vertex k at (k & 1, k >> 1 & 1, k >> 2 & 1)):
# the four vertices with bit `axis` equal to `side`, for (axis, side).
_BOX_HEX_FACES = {
    (axis, side): [k for k in range(8) if (k >> axis) & 1 == side] for axis in range(3) for side in (0, 1)
}
# Faces of a hexahedron in gmsh's vertex order (bottom 0-3, top 4-7).
_GMSH_HEX_FACES = ((0, 1, 2, 3), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7))
_TET_FACES = tuple(combinations(range(4), 3))


@dataclass(frozen=True)
class MeshView:
    lower: np.ndarray  # (3,) bounding box of the cell vertices, m (what FEModel.face_facets uses)
    upper: np.ndarray
    midpoints: np.ndarray  # (n_cells, 3) vertex averages (dolfinx's compute_midpoints)
    facets: list[np.ndarray]  # exterior facets' vertex coordinates, (n, 3 or 4, 3) per facet kind


def _corners() -> np.ndarray:
    return np.array([[k & 1, k >> 1 & 1, k >> 2 & 1] for k in range(8)])


def box_view(size, divisions, cell: str) -> MeshView:
    """The cells dolfinx's ``create_box([0, size], divisions, cell)`` makes."""
    from scema.fe.stability import BOX_TETRAHEDRA

    size, n = np.asarray(size, dtype=float), np.asarray(divisions, dtype=int)
    step = size / n
    corners = _corners()
    local = [tuple(range(8))] if cell == "hexahedron" else BOX_TETRAHEDRA
    grid = np.stack(np.meshgrid(*(np.arange(d) for d in n), indexing="ij"), axis=-1).reshape(-1, 3)
    offsets = np.array([corners[list(c)].mean(axis=0) for c in local])  # (cells per box, 3)
    midpoints = ((grid[:, None, :] + offsets[None]) * step).reshape(-1, 3)
    # a cell face is exterior iff it lies on a face of the box: (axis, side) of the unit cell's faces
    if cell == "hexahedron":
        faces = [(axis_side, vertices) for axis_side, vertices in _BOX_HEX_FACES.items()]
    else:
        faces = []
        for tet in BOX_TETRAHEDRA:
            for face in _TET_FACES:
                vertices = [tet[i] for i in face]
                for axis_side, on_side in _BOX_HEX_FACES.items():
                    if set(vertices) <= set(on_side):
                        faces.append((axis_side, vertices))
    facets: dict[int, list[np.ndarray]] = {}
    for (axis, side), vertices in faces:
        boxes = grid[grid[:, axis] == (0 if side == 0 else n[axis] - 1)]
        facets.setdefault(len(vertices), []).append((boxes[:, None, :] + corners[vertices][None]) * step)
    return MeshView(np.zeros(3), size, midpoints, [np.concatenate(f) for f in facets.values()])


def gmsh_view(cells: list[np.ndarray], cell_nodes: list[np.ndarray]) -> MeshView:
    """From a gmsh file's linear 3D cells: vertex coordinates and node tags, per cell kind."""
    facets = []
    for coords, tags in zip(cells, cell_nodes):
        table = np.array(_TET_FACES if coords.shape[1] == 4 else _GMSH_HEX_FACES)
        keys = np.sort(tags[:, table], axis=2).reshape(-1, table.shape[1])  # (cells * faces, k)
        exterior = _unshared(keys)
        facets.append(coords[:, table].reshape(-1, table.shape[1], 3)[exterior])
    vertices = np.concatenate([c.reshape(-1, 3) for c in cells])
    midpoints = np.concatenate([c.mean(axis=1) for c in cells])
    return MeshView(vertices.min(axis=0), vertices.max(axis=0), midpoints, facets)


def _unshared(keys: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``keys`` (sorted node tags) that occur once: faces of one cell
    only, the exterior. Rows packed into one integer when they fit in 63 bits (tetrahedra up to
    2 million nodes), else a lexicographic sort: both much faster than ``np.unique(axis=0)`` on
    a 400,000-cell mesh, which the Snakefile checks at every parse."""
    base, width = int(keys.max(initial=0)) + 1, keys.shape[1]
    if base**width < 2**63:
        packed = np.zeros(len(keys), dtype=np.int64)
        for column in keys.T:
            packed = packed * base + column
        _, first, counts = np.unique(packed, return_index=True, return_counts=True)
        return np.sort(first[counts == 1])
    order = np.lexsort(keys.T[::-1])
    ordered = keys[order]
    same = np.all(ordered[1:] == ordered[:-1], axis=1)
    alone = np.concatenate([[True], ~same]) & np.concatenate([~same, [True]])
    return np.sort(order[alone])


def selected_facets(name: str, selectors: dict[str, dict], view: MeshView) -> int | None:
    """How many exterior facets boundary ``name`` selects; None for a physical group (its facets
    are the group's)."""
    chosen = _selected(name, selectors, view)
    return None if chosen is None else sum(len(facets) for facets in chosen)


def selected_points(name: str, selectors: dict[str, dict], view: MeshView) -> np.ndarray | None:
    """The vertices (m, 3) of the exterior facets boundary ``name`` selects, where its Dirichlet
    components act; None for a physical group."""
    chosen = _selected(name, selectors, view)
    if chosen is None:
        return None
    return np.unique(np.concatenate([facets.reshape(-1, 3) for facets in chosen] + [np.zeros((0, 3))]), axis=0)


def _selected(name: str, selectors: dict[str, dict], view: MeshView) -> list[np.ndarray] | None:
    """Per facet kind, the exterior facets whose every vertex is on boundary ``name``."""
    from scema.fe.boundary import boundary_marker

    marker = boundary_marker(name, selectors, view.lower, view.upper)
    if marker is None:
        return None
    chosen = []
    for facets in view.facets:
        on = marker(facets.reshape(-1, 3).T).reshape(facets.shape[:2])
        chosen.append(facets[on.all(axis=1)])
    return chosen


RIGID_MODES = (
    "translation along x",
    "translation along y",
    "translation along z",
    "rotation about x",
    "rotation about y",
    "rotation about z",
)


def free_rigid_modes(constraints: list[tuple[np.ndarray, list[int]]], view: MeshView) -> list[str]:
    """The rigid-body motions no prescribed component holds: the names of the modes in the null
    space of the constraints (points (m, 3) with their prescribed components). Empty when the six
    are held, as a quasistatic solve needs (else its matrix is singular: LU returns a solution
    plus an arbitrary rigid motion, an iterative solver does not converge)."""
    centre, size = (view.lower + view.upper) / 2, float(np.max(view.upper - view.lower)) or 1.0
    rows = []
    for points, components in constraints:
        if not len(points) or not components:
            continue
        keep = np.linspace(0, len(points) - 1, min(len(points), 400)).astype(int)  # enough to span the face
        r = (points[keep] - centre) / size
        zero = np.zeros(len(r))
        # displacement of each mode at r: translations e_i, rotations e_a x r
        modes = [np.eye(3)[i][None].repeat(len(r), 0) for i in range(3)] + [
            np.stack([zero, -r[:, 2], r[:, 1]], 1),
            np.stack([r[:, 2], zero, -r[:, 0]], 1),
            np.stack([-r[:, 1], r[:, 0], zero], 1),
        ]
        for k in components:
            rows.append(np.stack([mode[:, k] for mode in modes], 1))
    matrix = np.concatenate(rows) if rows else np.zeros((0, 6))
    _, singular, vt = np.linalg.svd(np.vstack([matrix, np.zeros((6, 6))]), full_matrices=True)
    free = vt[singular <= 1e-8 * max(float(singular[0]), 1e-300)]
    involved = np.any(np.abs(free) > 1e-6, axis=0) if len(free) else np.zeros(6, dtype=bool)
    return [name for name, used in zip(RIGID_MODES, involved) if used]


def cell_regions(regions: list[dict], midpoints: np.ndarray) -> np.ndarray:
    """Index of the region claiming each cell, -1 for none: the first region whose closed box
    holds the cell's midpoint (first match wins)."""
    owner = np.full(len(midpoints), -1, dtype=np.int64)
    for i, region in enumerate(regions):
        lo, hi = np.asarray(region["box"], dtype=float)
        inside = np.all((midpoints >= lo) & (midpoints <= hi), axis=1) & (owner < 0)
        owner[inside] = i
    return owner
