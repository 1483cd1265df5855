"""The explicit time-step limit known at config time equals the one step 1 computes."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import load_default_config
from scema.config import ConfigError, validate_config
from scema.fe.stability import check_time_step, mesh_length, shortest_length, wave_speed


def dolfinx_length(mesh: dict) -> float:
    """min_cell_size of the FE model on the mesh dolfinx builds: the length step 1 uses."""
    from scema.fe.dolfinx_backend import FEModel, MeshSpec, create_mesh

    kind = "box" if mesh["type"] == "box" else "gmsh"
    spec = MeshSpec(
        kind,
        tuple(mesh.get("size", (1, 1, 1))),
        tuple(mesh.get("divisions", (1, 1, 1))),
        mesh.get("cell", "hexahedron"),
        mesh.get("file"),
    )
    msh, _ = create_mesh(spec)
    n = msh.topology.index_map(3).size_local
    return FEModel(msh, np.zeros(n, np.int32), {0: np.eye(6)}).min_cell_size()


@pytest.mark.parametrize("cell", ["hexahedron", "tetrahedron"])
def test_box_length_from_config_equals_the_length_of_the_dolfinx_mesh(cell):
    mesh = {"type": "box", "size": [1.0e-3, 2.0e-3, 3.0e-3], "divisions": [2, 3, 2], "cell": cell}
    assert mesh_length(mesh) == pytest.approx(dolfinx_length(mesh), rel=1e-12)


def test_generated_and_file_meshes_are_measured_like_the_fe_model(tmp_path):
    from scema.specimens import generate

    parameters = {"side": 6.0e-3, "thickness": 1.0e-3, "divisions": [6, 6, 2]}
    assert mesh_length({"type": "generated", "generator": "plate", "parameters": parameters}) == pytest.approx(5e-4)
    ct = generate("compact_tension", tmp_path / "ct.msh", width=0.04)
    mesh = {"type": "gmsh", "file": str(ct)}
    assert mesh_length(mesh) == pytest.approx(dolfinx_length(mesh), rel=1e-9)


def test_sliver_tetrahedron_is_limited_by_its_altitude_not_its_edges():
    sliver = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.5, 0.5, 1e-3]]])
    assert shortest_length(sliver) == pytest.approx(1e-3, rel=1e-6)  # the apex height; edges are >= 0.7


def test_wave_speed_of_an_isotropic_solid_is_its_largest_modal_speed():
    """Isotropic C: largest eigenvalue 3K (volumetric mode) or 2G; sqrt(3K / rho) for steel-like."""
    e, nu, rho = 200e9, 0.3, 7800.0
    lam, mu = e * nu / ((1 + nu) * (1 - 2 * nu)), e / (2 * (1 + nu))
    c = np.zeros((6, 6))
    c[:3, :3] = lam
    c[np.arange(3), np.arange(3)] += 2 * mu
    c[np.arange(3, 6), np.arange(3, 6)] = mu
    assert wave_speed(c, rho) == pytest.approx(np.sqrt((3 * lam + 2 * mu) / rho))


def test_time_step_check_uses_the_bound_and_accepts_a_stable_step(tmp_path):
    cfg = load_default_config()
    cfg["fe"].update(integrator="explicit_dynamic", time_step=6.0e-8)  # h = 0.5 mm: limit 6.25e-8 s
    check_time_step(validate_config(cfg), run_dir=tmp_path)
    cfg["fe"]["max_wave_speed"] = 9000.0
    with pytest.raises(ConfigError, match=r"'fe.time_step'.*5\.556e-08 s.*fe.max_wave_speed"):
        check_time_step(validate_config(cfg), run_dir=tmp_path)
