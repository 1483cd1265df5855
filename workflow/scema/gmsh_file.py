"""What the config check needs from a gmsh ``.msh`` file, read in one pass of the gmsh API.

Why one reader: the config check (volumes, named surfaces, bounding box) and the explicit time
step check (shortest cell length) both look into the mesh before any job runs; they read it
the same way. ``gmsh.finalize`` restores the SIGINT handler that importing gmsh replaces, so
reading in the Snakemake process leaves Ctrl-C working.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

GMSH_TETRAHEDRON, GMSH_HEXAHEDRON = 4, 5  # gmsh element types (linear)


@dataclass(frozen=True)
class GmshMesh:
    has_volumes: bool
    surface_groups: list[str]  # names of the 2D physical groups
    lower: np.ndarray  # (3,) bounding box, m
    upper: np.ndarray
    cells: list[np.ndarray]  # vertex coordinates of the linear tetrahedra (n, 4, 3) and hexahedra (n, 8, 3)


def read_gmsh(path: str | Path) -> GmshMesh:
    """Volumes, surface group names, bounding box and linear 3D cells of ``path``."""
    import gmsh

    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.merge(str(path))
        volumes = gmsh.model.getEntities(3)
        groups = sorted(gmsh.model.getPhysicalName(2, tag) for _dim, tag in gmsh.model.getPhysicalGroups(2))
        box = gmsh.model.getBoundingBox(-1, -1)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        position = np.zeros((int(tags.max()) + 1 if len(tags) else 0, 3))
        position[tags.astype(np.int64)] = coords.reshape(-1, 3)
        cells = []
        for kind, n_vertices in ((GMSH_TETRAHEDRON, 4), (GMSH_HEXAHEDRON, 8)):
            _, nodes = gmsh.model.mesh.getElementsByType(kind)
            if len(nodes):
                cells.append(position[np.asarray(nodes, dtype=np.int64).reshape(-1, n_vertices)])
    finally:
        gmsh.finalize()
    return GmshMesh(bool(volumes), groups, np.asarray(box[:3]), np.asarray(box[3:]), cells)
