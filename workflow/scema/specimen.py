"""Build the FE model of the specimen from config and the initialised materials."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scema.config import material_names
from scema.io.netcdf import read_contents
from scema.mesh_view import cell_regions
from scema.symmetry import project


def cell_materials(config: dict, midpoints: np.ndarray) -> np.ndarray:
    """Material index (position in ``materials``) of each cell; regions are first-match boxes."""
    names = material_names(config)
    specimen = config["specimen"]
    regions = specimen.get("regions", [])
    index = [names.index(specimen["material"])] + [names.index(r["material"]) for r in regions]
    return np.asarray(index, dtype=np.int32)[cell_regions(regions, midpoints) + 1]


def _replica_mean(ds, name: str, path: str) -> np.ndarray:
    """Mean over the leading ``replica`` axis, NaN skipped (as xarray's ``mean("replica")``)."""
    dims = ds.data_vars[name][0]
    if dims[:1] != ("replica",):
        raise ValueError(f"{path}: {name} has dimensions {dims}, expected replica first")
    return np.nanmean(ds[name], axis=0)


def material_properties(config: dict, material_files: dict[str, str]) -> tuple[dict, dict]:
    """Replica-mean stiffness projected on the material symmetry (6x6, Pa) and density (kg/m3).
    Read as numpy (``Contents``): every fe_step builds the model, and imports no xarray."""
    names = material_names(config)
    stiffness, density = {}, {}
    for name, path in material_files.items():
        ds = read_contents(path)
        symmetry = config["materials"][name]["stiffness_symmetry"]
        stiffness[names.index(name)] = project(_replica_mean(ds, "stiffness", path), symmetry)
        density[names.index(name)] = float(_replica_mean(ds, "density", path))
    return stiffness, density


def build_model(config: dict, material_files: dict[str, str], base_dir: str | Path = "."):
    """Mesh + materials -> FEModel (imports dolfinx lazily: only FE stages pay for it)."""
    from scema.fe.dolfinx_backend import FEModel, MeshSpec, cell_midpoints, create_mesh

    mesh_cfg = config["specimen"]["mesh"]
    spec = MeshSpec(
        kind="box" if mesh_cfg["type"] == "box" else "gmsh",
        size=tuple(mesh_cfg["size"]),
        divisions=tuple(mesh_cfg["divisions"]),
        cell=mesh_cfg["cell"],
        file=str(Path(base_dir) / mesh_cfg["file"]) if mesh_cfg["type"] != "box" else None,
    )
    msh, facet_groups = create_mesh(spec)
    stiffness, density = material_properties(config, material_files)
    materials = cell_materials(config, cell_midpoints(msh))
    boundaries = config["specimen"].get("boundaries", {})
    model = FEModel(msh, materials, stiffness, boundaries=boundaries, facet_groups=facet_groups)
    return model, density
