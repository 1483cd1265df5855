"""The explicit integrator's stable time step (CFL), refused when the config is validated.

dt_max = h / c: h the shortest cell length (the shortest *altitude* of a tetrahedron, which a
sliver has short although its edges are long; the shortest edge of a hexahedron), c the
fastest wave speed, sqrt(largest eigenvalue of C / density), an upper bound of every
material's longitudinal speed. The FE step applies the same formula to the real mesh and the
MD stiffness (scema.fe.scheme); this module gets both before any job runs:

- h from the mesh as the config defines it: a box from size and divisions (its cells are
  congruent), a gmsh file read with the gmsh API, a generated specimen generated once into a
  temporary directory (``scema.gmsh_file``, the reader the config check uses too).
- c per material from the cached ``results/materials/<name>/material.nc`` when it exists (the
  stiffness step 1 will use), else ``fe.max_wave_speed``, an upper bound the user declares
  (default 8000 m/s; copper's c is 6.8 km/s). A bound too low is still caught in step 1. The
  bound sits in ``fe``, not in each material, so that it never changes a material's params
  (which would rerun material_init and every MD batch of a finished run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# dolfinx's create_box splits each box cell (vertex k at offsets (k & 1, k >> 1 & 1, k >> 2 & 1))
# into these six tetrahedra
BOX_TETRAHEDRA = ((0, 1, 3, 7), (0, 1, 7, 5), (0, 5, 7, 4), (0, 3, 2, 7), (0, 6, 4, 7), (0, 2, 6, 7))


def shortest_length(cells: np.ndarray) -> float:
    """Shortest altitude of tetrahedra (n, 4, 3) or shortest edge of hexahedra (n, 8, 3), m."""
    cells = np.asarray(cells, dtype=float)
    if cells.shape[1] == 4:  # altitude from vertex i = 6 V / (2 area of the opposite face)
        six_volume = np.abs(np.linalg.det(cells[:, 1:] - cells[:, :1]))
        altitudes = []
        for i in range(4):
            a, b, d = (cells[:, j] for j in range(4) if j != i)
            altitudes.append(six_volume / np.linalg.norm(np.cross(b - a, d - a), axis=1))
        return float(np.min(altitudes))
    distance = np.linalg.norm(cells[:, :, None, :] - cells[:, None, :, :], axis=-1)
    return float(distance[distance > 0].min())


def wave_speed(stiffness: np.ndarray, density: float) -> float:
    """sqrt(largest eigenvalue of the (symmetrised) 6x6 Voigt stiffness / density), m/s."""
    c = np.asarray(stiffness, dtype=float)
    return float(np.sqrt(np.linalg.eigvalsh(0.5 * (c + c.T)).max() / density))


def box_cells(size, divisions, cell: str) -> np.ndarray:
    """One cell of a box mesh (all are congruent): a hexahedron or its six tetrahedra."""
    step = np.asarray(size, dtype=float) / np.asarray(divisions, dtype=float)
    vertices = np.array([[k & 1, k >> 1 & 1, k >> 2 & 1] for k in range(8)], dtype=float) * step
    if cell == "hexahedron":
        return vertices[None]
    return vertices[np.array(BOX_TETRAHEDRA)]


def gmsh_length(path: str | Path) -> float:
    """Shortest cell length of the 3D linear cells of a gmsh ``.msh`` file."""
    from scema.gmsh_file import read_gmsh

    return _cells_length(read_gmsh(path).cells, str(path))


def generated_length(generator: str, parameters: dict) -> float:
    """Shortest cell length of a generated specimen (generated into a temporary directory, the
    same generation the config check reads)."""
    from scema.gmsh_file import read_generated

    return _cells_length(read_generated(generator, parameters).cells, f"the generated {generator} mesh")


def _cells_length(cells: list[np.ndarray], where: str) -> float:
    if not cells:
        raise ValueError(f"{where}: no linear tetrahedra or hexahedra")
    return min(shortest_length(c) for c in cells)


def mesh_length(mesh: dict) -> float:
    """Shortest cell length (m) of ``specimen.mesh``."""
    if mesh["type"] == "box":
        return shortest_length(box_cells(mesh["size"], mesh["divisions"], mesh["cell"]))
    try:
        if mesh["type"] == "gmsh":
            return gmsh_length(mesh["file"])
        return generated_length(mesh["generator"], dict(mesh["parameters"]))
    except Exception as error:  # gmsh raises plain Exception; the caller names the key
        raise ValueError(f"could not measure the mesh: {error}") from None


def material_speed(name: str, material: dict, bound: float, run_dir: Path) -> tuple[float, str]:
    """(wave speed, where it came from): the cached material file, else the declared bound."""
    cached = Path("results") / "materials" / name / "material.nc"
    if (run_dir / cached).is_file():
        from scema.io.netcdf import read_dataset
        from scema.symmetry import project

        ds = read_dataset(run_dir / cached)
        stiffness = project(ds["stiffness"].mean("replica").values, material["stiffness_symmetry"])
        return wave_speed(stiffness, float(ds["density"].mean("replica"))), str(cached)
    return float(bound), "fe.max_wave_speed"


def check_time_step(config: dict, run_dir: str | Path = ".") -> None:
    """Refuse fe.time_step above the CFL limit of the specimen (explicit_dynamic only)."""
    from scema.config import ConfigError, used_materials

    fe = config["fe"]
    if fe["integrator"] != "explicit_dynamic":
        return
    try:
        h = mesh_length(config["specimen"]["mesh"])
    except ValueError as error:
        raise ConfigError(f"config error: 'specimen.mesh': {error}") from None
    bound = fe["max_wave_speed"]
    speeds = {m: material_speed(m, config["materials"][m], bound, Path(run_dir)) for m in used_materials(config)}
    fastest = max(speeds, key=lambda m: speeds[m][0])
    speed, origin = speeds[fastest]
    limit = h / speed
    if fe["time_step"] > limit:
        raise ConfigError(
            f"config error: 'fe.time_step': {fe['time_step']:.3e} s exceeds the stable explicit limit {limit:.3e} s "
            f"(shortest cell length {h:.3e} m / wave speed {speed:.4g} m/s of material {fastest}, from {origin}); "
            "lower fe.time_step or coarsen the mesh"
        )
