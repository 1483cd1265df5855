"""What the config check needs from a gmsh ``.msh`` file, read in one pass of the gmsh API.

Why one reader: the config check (volumes, named surfaces, bounding box) and the explicit time
step check (shortest cell length) both look into the mesh before any job runs; they read it
the same way. ``gmsh.finalize`` restores the SIGINT handler that importing gmsh replaces, so
reading in the Snakemake process leaves Ctrl-C working.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GMSH_TETRAHEDRON, GMSH_HEXAHEDRON = 4, 5  # gmsh element types (linear)


@dataclass(frozen=True)
class GmshMesh:
    has_volumes: bool
    surface_groups: list[str]  # names of the 2D physical groups
    lower: np.ndarray  # (3,) bounding box, m
    upper: np.ndarray
    # vertex coordinates of the linear tetrahedra (n, 4, 3) and hexahedra (n, 8, 3) of the 3D physical groups
    # (of all volumes when there is none)
    cells: list[np.ndarray]
    cell_nodes: list[np.ndarray] = field(default_factory=list)  # their node tags, (n, 4) and (n, 8)
    volume_groups: list[str] = field(default_factory=list)  # 3D physical group names (dolfinx reads their cells)
    all_cells: int = 0  # linear 3D elements in the file, in a 3D physical group or not


_READ: dict[tuple[str, int, int], GmshMesh] = {}


def read_gmsh(path: str | Path) -> GmshMesh:
    """Volumes, physical group names, bounding box and linear 3D cells of ``path``, read once per
    process and file version: at parse time the config check and the explicit time-step check
    both look at it, once per comparison mode or study point (seconds for a large mesh)."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _READ:
        _READ[key] = _read(path)
    return _READ[key]


def _read(path: str | Path) -> GmshMesh:
    import gmsh

    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.merge(str(path))
        volumes = gmsh.model.getEntities(3)
        groups = sorted(gmsh.model.getPhysicalName(2, tag) for _dim, tag in gmsh.model.getPhysicalGroups(2))
        volume_groups = sorted(gmsh.model.getPhysicalName(3, tag) for _dim, tag in gmsh.model.getPhysicalGroups(3))
        box = gmsh.model.getBoundingBox(-1, -1)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        position = np.zeros((int(tags.max()) + 1 if len(tags) else 0, 3))
        position[tags.astype(np.int64)] = coords.reshape(-1, 3)
        cells, cell_nodes = [], []
        all_cells = sum(len(gmsh.model.mesh.getElementsByType(kind)[0]) for kind in (GMSH_TETRAHEDRON, GMSH_HEXAHEDRON))
        for kind, n_vertices in ((GMSH_TETRAHEDRON, 4), (GMSH_HEXAHEDRON, 8)):
            nodes = _element_nodes(gmsh, kind)
            if len(nodes):
                cell_nodes.append(np.asarray(nodes, dtype=np.int64).reshape(-1, n_vertices))
                cells.append(position[cell_nodes[-1]])
    finally:
        gmsh.finalize()
    return GmshMesh(
        bool(volumes), groups, np.asarray(box[:3]), np.asarray(box[3:]), cells, cell_nodes, volume_groups, all_cells
    )


def _element_nodes(gmsh, kind: int) -> np.ndarray:
    """Node tags of the elements of type ``kind``: those of the volumes in 3D physical groups when
    there are any (the cells dolfinx's ``gmshio.model_to_mesh`` builds), else all of them."""
    volumes = sorted(
        {v for _dim, tag in gmsh.model.getPhysicalGroups(3) for v in gmsh.model.getEntitiesForPhysicalGroup(3, tag)}
    )
    if not volumes:
        return gmsh.model.mesh.getElementsByType(kind)[1]
    nodes = [gmsh.model.mesh.getElementsByType(kind, tag=v)[1] for v in volumes]
    return np.concatenate(nodes) if nodes else np.zeros(0, dtype=np.int64)


_GENERATED: dict[str, GmshMesh] = {}


def read_generated(generator: str, parameters: dict) -> GmshMesh:
    """A generated specimen, generated into a temporary directory and read (once per process
    and parameters: the config check and the time step check both look at it)."""
    from scema.specimens import generate

    key = json.dumps([generator, parameters], sort_keys=True, default=str)
    if key not in _GENERATED:
        with tempfile.TemporaryDirectory(prefix="scema_mesh_") as tmp:
            _GENERATED[key] = _read(generate(generator, Path(tmp) / "specimen.msh", **parameters))
    return _GENERATED[key]
