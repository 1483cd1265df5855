"""FE alone (dolfinx), with a test-only isotropic linear-elastic law standing in for the MD."""

from __future__ import annotations

import numpy as np
import pytest

from scema.fe.boundary import prescribed_increments
from scema.fe.dolfinx_backend import FEModel, MeshSpec, create_mesh
from scema.fe.scheme import UnstableTimeStep, explicit_increment, quasistatic_increment, stable_time_step
from scema.voigt import isotropic_stiffness

E, NU = 120e9, 0.3
SIZE = (1.0e-3, 0.5e-3, 2.0e-3)
STRETCH = 2.0e-6  # m on the zmax face
ROLLERS = [
    {"face": "xmin", "type": "displacement", "increment": [0.0, None, None]},
    {"face": "ymin", "type": "displacement", "increment": [None, 0.0, None]},
    {"face": "zmin", "type": "displacement", "increment": [None, None, 0.0]},
    {"face": "zmax", "type": "displacement", "increment": [None, None, STRETCH]},
]


def _model(cell: str, divisions=(2, 2, 3)) -> FEModel:
    msh = create_mesh(MeshSpec("box", SIZE, divisions, cell))
    n_cells = msh.topology.index_map(3).size_local
    return FEModel(msh, np.zeros(n_cells, dtype=np.int32), {0: isotropic_stiffness(E, NU)})


@pytest.mark.parametrize("cell,points", [("hexahedron", 8), ("tetrahedron", 4)])
def test_uniaxial_bar_matches_analytic_solution(cell, points):
    model = _model(cell)
    du = quasistatic_increment(model, np.zeros((model.n_qp, 6)), prescribed_increments(ROLLERS))
    x = model.node_coordinates()
    eps_zz = STRETCH / SIZE[2]
    # analytic: u = (-nu eps x, -nu eps y, eps z)
    expected = np.column_stack([-NU * eps_zz * x[:, 0], -NU * eps_zz * x[:, 1], eps_zz * x[:, 2]])
    np.testing.assert_allclose(du, expected, rtol=0, atol=1e-9 * STRETCH)
    strain = model.qp_strain(du)
    assert strain.shape == (model.n_qp, 6)
    assert model.n_qp == points * len(np.unique(model.qp_cell()))
    np.testing.assert_allclose(strain[:, 2], eps_zz, rtol=1e-10)
    np.testing.assert_allclose(strain[:, :2], -NU * eps_zz, rtol=1e-10)
    # reaction force on the loaded face = E eps A
    stress = strain @ isotropic_stiffness(E, NU).T
    reaction = model.internal_force(stress)[model.face_nodes("zmax")].sum(axis=0)
    np.testing.assert_allclose(reaction[2], E * eps_zz * SIZE[0] * SIZE[1], rtol=1e-10)
    assert abs(reaction[0]) < 1e-9 * reaction[2] and abs(reaction[1]) < 1e-9 * reaction[2]


def test_equilibrium_error_is_carried_to_the_next_step():
    """A stress field out of balance is corrected by the next step even with no new load."""
    model = _model("hexahedron")
    C = isotropic_stiffness(E, NU)
    fixed_ends = [
        {"face": "zmin", "type": "fixed"},
        {"face": "zmax", "type": "displacement", "increment": [0.0, 0.0, 0.0]},
    ]
    prescribed = prescribed_increments(fixed_ends)
    rng = np.random.default_rng(0)
    stress = rng.normal(0.0, 1e6, size=(model.n_qp, 6))  # a noisy, unbalanced MD-like stress
    du = quasistatic_increment(model, stress, prescribed)
    corrected = stress + model.qp_strain(du) @ C.T
    f = model.internal_force(corrected)
    free = ~(model.face_nodes("zmin") | model.face_nodes("zmax"))
    assert np.abs(f[free]).max() < 1e-8 * np.abs(model.internal_force(stress)[free]).max()


def test_qp_ids_follow_input_cells():
    model = _model("hexahedron", divisions=(2, 1, 2))
    cells = model.qp_cell()
    np.testing.assert_array_equal(cells, np.repeat(np.arange(4), 8))
    coords = model.qp_coordinates()
    # all 8 Gauss points of a cell lie inside that cell's box: one cell = one 0.5 x 0.5 x 1 mm block
    for c in range(4):
        pts = coords[cells == c]
        assert np.ptp(pts[:, 0]) < SIZE[0] / 2 and np.ptp(pts[:, 2]) < SIZE[2] / 2


def test_explicit_integrator_refuses_unstable_time_step():
    model = _model("hexahedron")
    density = {0: 8900.0}
    limit = stable_time_step(model.min_cell_size(), model.stiffness, density)
    # the limit is h / c with c the fastest wave speed: check it independently
    c_p = np.sqrt(np.linalg.eigvalsh(isotropic_stiffness(E, NU)).max() / 8900.0)
    assert limit == pytest.approx(model.min_cell_size() / c_p)
    zeros = np.zeros((model.n_qp, 6))
    v0 = np.zeros((len(model.node_coordinates()), 3))
    with pytest.raises(UnstableTimeStep, match="fe.time_step"):
        explicit_increment(model, zeros, v0, prescribed_increments(ROLLERS), density, 1.01 * limit)
    du, v = explicit_increment(model, zeros, v0, prescribed_increments(ROLLERS), density, 0.5 * limit)
    top = model.face_nodes("zmax")
    np.testing.assert_allclose(du[top, 2], STRETCH)
    np.testing.assert_allclose(v[top, 2], STRETCH / (0.5 * limit))
    interior = ~(top | model.face_nodes("zmin"))
    # zero stress, zero initial velocity: free interior nodes do not move in the first step
    np.testing.assert_allclose(du[interior, 2], 0.0, atol=1e-20)


def _write_gmsh_bar(path) -> None:
    import gmsh

    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("bar")
    gmsh.model.occ.addBox(0, 0, 0, *SIZE)
    gmsh.model.occ.synchronize()
    gmsh.model.addPhysicalGroup(3, [1], 1)
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", 0.5e-3)
    gmsh.model.mesh.generate(3)
    gmsh.write(str(path))
    gmsh.finalize()


def test_gmsh_mesh_file_gives_the_analytic_uniaxial_solution(tmp_path):
    path = tmp_path / "bar.msh"
    _write_gmsh_bar(path)
    msh = create_mesh(MeshSpec("gmsh", file=str(path)))
    assert msh.topology.cell_name() == "tetrahedron"
    n_cells = msh.topology.index_map(3).size_local
    model = FEModel(msh, np.zeros(n_cells, dtype=np.int32), {0: isotropic_stiffness(E, NU)})
    du = quasistatic_increment(model, np.zeros((model.n_qp, 6)), prescribed_increments(ROLLERS))
    eps_zz = STRETCH / SIZE[2]
    strain = model.qp_strain(du)
    np.testing.assert_allclose(strain[:, 2], eps_zz, rtol=1e-8)
    np.testing.assert_allclose(strain[:, 0], -NU * eps_zz, rtol=1e-8)
    reaction = model.internal_force(strain @ isotropic_stiffness(E, NU).T)[model.face_nodes("zmax")].sum(axis=0)
    np.testing.assert_allclose(reaction[2], E * eps_zz * SIZE[0] * SIZE[1], rtol=1e-8)
