"""FE alone (dolfinx), with a test-only isotropic linear-elastic law standing in for the MD."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, load_default_config
from scema.config import validate_config
from scema.fe.boundary import applied_displacement, constrained_components, prescribed_increments
from scema.fe.dolfinx_backend import FEModel, MeshSpec, cell_midpoints, create_mesh
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
    msh, _groups = create_mesh(MeshSpec("box", SIZE, divisions, cell))
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


def test_cfl_length_of_tetrahedra_is_their_shortest_altitude():
    """A cube cut into 6 tetrahedra along its diagonal: altitude h / sqrt(2), not the edge h."""
    h = 0.5e-3
    msh, _groups = create_mesh(MeshSpec("box", (2 * h, 2 * h, 2 * h), (2, 2, 2), "tetrahedron"))
    model = FEModel(msh, np.zeros(msh.topology.index_map(3).size_local, np.int32), {0: isotropic_stiffness(E, NU)})
    assert model.min_cell_size() == pytest.approx(h / np.sqrt(2), rel=1e-12)
    assert _model("hexahedron", divisions=(2, 2, 3)).min_cell_size() == pytest.approx(SIZE[1] / 2, rel=1e-12)


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
    msh, _groups = create_mesh(MeshSpec("gmsh", file=str(path)))
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


def _schema_petsc_options() -> dict:
    """The solver options a user gets by default (schema defaults through the validator)."""
    return validate_config(load_default_config(), search_dirs=[REPO])["fe"]["petsc_options"]


def _two_material_bar():
    """Two materials, 3:1 in stiffness, under a stretch with shear: a field no solver gets by luck."""
    msh, _groups = create_mesh(MeshSpec("box", SIZE, (3, 2, 6), "tetrahedron"))
    mid = cell_midpoints(msh)
    materials = (mid[:, 2] > SIZE[2] / 2).astype(np.int32)
    stiffness = {0: isotropic_stiffness(E, NU), 1: isotropic_stiffness(E / 3, 0.35)}
    bcs = [
        {"face": "zmin", "type": "fixed"},
        {"face": "zmax", "type": "displacement", "increment": [0.5 * STRETCH, None, STRETCH]},
    ]
    return FEModel(msh, materials, stiffness), prescribed_increments(bcs)


def test_iterative_solver_matches_direct():
    model, prescribed = _two_material_bar()
    options = _schema_petsc_options()
    stress = np.random.default_rng(1).normal(0.0, 1e6, size=(model.n_qp, 6))  # unbalanced: a real rhs
    direct = quasistatic_increment(model, stress, prescribed, options["direct"])
    iterative = quasistatic_increment(model, stress, prescribed, options["iterative"])
    scale = np.abs(direct).max()
    assert scale > 0.4 * STRETCH
    np.testing.assert_allclose(iterative, direct, rtol=0, atol=1e-7 * scale)


def test_petsc_options_from_config_reach_the_solver():
    model, prescribed = _two_material_bar()
    starved = {**_schema_petsc_options()["iterative"], "ksp_max_it": 1}
    with pytest.raises(RuntimeError, match="did not converge.*fe.petsc_options"):
        quasistatic_increment(model, np.zeros((model.n_qp, 6)), prescribed, starved)


def _write_gmsh_rod(path, radius: float, length: float) -> None:
    """A round rod along z with physical groups 'bottom', 'top' and 'mantle'."""
    import gmsh

    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("rod")
    gmsh.model.occ.addCylinder(0, 0, 0, 0, 0, length, radius)
    gmsh.model.occ.synchronize()
    gmsh.model.addPhysicalGroup(3, [1], 1)
    surfaces = gmsh.model.getEntities(2)
    for name, tag in (("bottom", 0.0), ("top", length)):
        ids = [s for _, s in surfaces if abs(gmsh.model.occ.getCenterOfMass(2, s)[2] - tag) < 1e-12]
        gmsh.model.setPhysicalName(2, gmsh.model.addPhysicalGroup(2, ids), name)
    mantle = [s for _, s in surfaces if 0 < gmsh.model.occ.getCenterOfMass(2, s)[2] < length]
    gmsh.model.setPhysicalName(2, gmsh.model.addPhysicalGroup(2, mantle), "mantle")
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", radius / 2)
    gmsh.model.mesh.generate(3)
    gmsh.write(str(path))
    gmsh.finalize()


def test_named_boundaries_select_the_same_nodes_as_geometry_says(tmp_path):
    radius, length = 0.5e-3, 2.0e-3
    path = tmp_path / "rod.msh"
    _write_gmsh_rod(path, radius, length)
    msh, groups = create_mesh(MeshSpec("gmsh", file=str(path)))
    assert set(groups) == {"bottom", "top", "mantle"}
    boundaries = {
        "pin": {"cylinder": {"point": [0.0, 0.0, 1.0], "axis": [0.0, 0.0, 2.0], "radius": radius}},
        "top_group": {"physical_group": "top"},
        "mantle_group": {"physical_group": "mantle"},
        "lower_half": {"box": [[-1.0, -1.0, -1.0], [1.0, 1.0, length / 2]]},
        "missing": {"physical_group": "no_such_group"},
    }
    n_cells = msh.topology.index_map(3).size_local
    model = FEModel(msh, np.zeros(n_cells, np.int32), {0: isotropic_stiffness(E, NU)}, boundaries, groups)
    x = model.node_coordinates()
    r = np.hypot(x[:, 0], x[:, 1])
    on_mantle = np.abs(r - radius) < 1e-6 * radius
    # the cylinder selector and the gmsh group agree with each other and with the geometry
    np.testing.assert_array_equal(model.face_nodes("pin"), on_mantle)
    np.testing.assert_array_equal(model.face_nodes("mantle_group"), on_mantle)
    np.testing.assert_array_equal(model.face_nodes("top_group"), np.isclose(x[:, 2], length, rtol=0, atol=1e-12))
    np.testing.assert_array_equal(model.face_nodes("top_group"), model.face_nodes("zmax"))
    # a box takes boundary nodes only: the lower half of the mantle plus the bottom disc
    lower = model.face_nodes("lower_half")
    expected = (on_mantle | np.isclose(x[:, 2], 0.0, atol=1e-12)) & (x[:, 2] <= length / 2 + 1e-8 * length)
    np.testing.assert_array_equal(lower, expected)
    assert not lower[(r < 0.9 * radius) & (x[:, 2] > 1e-9)].any()
    with pytest.raises(ValueError, match="no 2D physical group 'no_such_group'.*bottom, mantle, top"):
        model.face_nodes("missing")


def _write_gmsh_bar_with_named_faces(path) -> None:
    """The bar of SIZE with physical groups on four of its faces, named as a user would."""
    import gmsh

    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("bar")
    gmsh.model.occ.addBox(0, 0, 0, *SIZE)
    gmsh.model.occ.synchronize()
    gmsh.model.addPhysicalGroup(3, [1], 1)
    wanted = {"left": (0, 0.0), "front": (1, 0.0), "bottom": (2, 0.0), "top": (2, SIZE[2])}
    for name, (axis, value) in wanted.items():
        ids = [
            s for _, s in gmsh.model.getEntities(2) if abs(gmsh.model.occ.getCenterOfMass(2, s)[axis] - value) < 1e-12
        ]
        gmsh.model.setPhysicalName(2, gmsh.model.addPhysicalGroup(2, ids), name)
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", 0.5e-3)
    gmsh.model.mesh.generate(3)
    gmsh.write(str(path))
    gmsh.finalize()


def _gmsh_bar_model(tmp_path):
    """The isotropic bar on a gmsh mesh whose faces are physical groups left/front/bottom/top."""
    path = tmp_path / "bar.msh"
    _write_gmsh_bar_with_named_faces(path)
    msh, groups = create_mesh(MeshSpec("gmsh", file=str(path)))
    boundaries = {name: {"physical_group": name} for name in ("left", "front", "bottom", "top")}
    n_cells = msh.topology.index_map(3).size_local
    return FEModel(msh, np.zeros(n_cells, np.int32), {0: isotropic_stiffness(E, NU)}, boundaries, groups)


def test_conditions_on_physical_groups_give_the_analytic_bar(tmp_path):
    """Rollers and the stretch on gmsh groups by name: the analytic uniaxial bar, reaction E eps A."""
    model = _gmsh_bar_model(tmp_path)
    bcs = [
        {"face": "left", "type": "displacement", "increment": [0.0, None, None]},
        {"face": "front", "type": "displacement", "increment": [None, 0.0, None]},
        {"face": "bottom", "type": "displacement", "increment": [None, None, 0.0]},
        {"face": "top", "type": "displacement", "increment": [None, None, STRETCH]},
    ]
    du = quasistatic_increment(model, np.zeros((model.n_qp, 6)), prescribed_increments(bcs))
    eps_zz = STRETCH / SIZE[2]
    strain = model.qp_strain(du)
    np.testing.assert_allclose(strain[:, 2], eps_zz, rtol=1e-8)
    np.testing.assert_allclose(strain[:, :2], -NU * eps_zz, rtol=1e-8)
    reaction = model.internal_force(strain @ isotropic_stiffness(E, NU).T)[model.face_nodes("top")].sum(axis=0)
    np.testing.assert_allclose(reaction[2], E * eps_zz * SIZE[0] * SIZE[1], rtol=1e-8)


def test_load_factors_give_a_load_unload_path():
    """factors scale each step's increment: up twice, down twice is back at zero; past the
    list the boundary holds; fixed boundaries never move; free components stay NaN."""
    from scema.fe.boundary import applied_displacement, prescribed_increments

    bcs = [
        {"face": "zmin", "type": "fixed"},
        {"face": "zmax", "type": "displacement", "increment": [None, None, 2e-6], "factors": [1.0, 1.0, -1.0, -0.5]},
    ]
    path = [applied_displacement(bcs, "zmax", t)[2] for t in range(7)]
    np.testing.assert_allclose(path, [0.0, 2e-6, 4e-6, 2e-6, 1e-6, 1e-6, 1e-6], atol=1e-20)
    assert np.isnan(applied_displacement(bcs, "zmax", 3)[:2]).all()
    assert prescribed_increments(bcs, 3)[("zmax", 2)] == -2e-6
    assert all(prescribed_increments(bcs, t)[("zmin", c)] == 0.0 for t in (1, 5) for c in range(3))


# ---------------------------------------------------------------- the reaction without dolfinx
def _reaction_by_assembly(model: FEModel, stress: np.ndarray, bcs: list[dict], face: str):
    """The reference: dolfinx's assembled internal force on the model's own boundary nodes."""
    f_int = model.internal_force(stress)
    constrained = np.zeros(f_int.shape, dtype=bool)
    for name, comp in prescribed_increments(bcs):
        constrained[model.face_nodes(name), comp] = True
    components = constrained_components(bcs, face)
    reaction = np.full(3, np.nan)
    reaction[components] = f_int[model.face_nodes(face)].sum(axis=0)[components]
    return f_int, reaction, np.linalg.norm(np.where(constrained, 0.0, f_int))


def _box_case(_tmp_path):
    return _model("hexahedron"), ROLLERS, "zmax"


def _two_material_case(_tmp_path):
    model, _prescribed = _two_material_bar()
    bcs = [
        {"face": "zmin", "type": "fixed"},
        {"face": "zmax", "type": "displacement", "increment": [0.5 * STRETCH, None, STRETCH]},
    ]
    return model, bcs, "zmax"


def _physical_group_case(tmp_path):
    model = _gmsh_bar_model(tmp_path)
    bcs = [
        {"face": "left", "type": "displacement", "increment": [0.0, None, None]},
        {"face": "bottom", "type": "fixed"},
        {"face": "top", "type": "displacement", "increment": [None, 0.0, STRETCH]},
    ]
    return model, bcs, "top"


def _cylinder_case(tmp_path):
    radius, length = 0.5e-3, 2.0e-3
    path = tmp_path / "rod.msh"
    _write_gmsh_rod(path, radius, length)
    msh, groups = create_mesh(MeshSpec("gmsh", file=str(path)))
    boundaries = {
        "pin": {"cylinder": {"point": [0.0, 0.0, 1.0], "axis": [0.0, 0.0, 2.0], "radius": radius}},
        "base": {"physical_group": "bottom"},
    }
    n_cells = msh.topology.index_map(3).size_local
    model = FEModel(msh, np.zeros(n_cells, np.int32), {0: isotropic_stiffness(E, NU)}, boundaries, groups)
    bcs = [
        {"face": "base", "type": "fixed"},
        {"face": "pin", "type": "displacement", "increment": [STRETCH, None, None]},
    ]
    return model, bcs, "pin"


@pytest.mark.parametrize("case", [_box_case, _two_material_case, _physical_group_case, _cylinder_case])
def test_reaction_from_the_stored_operator_equals_the_dolfinx_assembly(tmp_path, case):
    """aggregate_stress's reaction (numpy on internal_force.nc) is the assembled one, to round-off,
    on box faces, two materials, gmsh physical groups and a cylinder selector, for unbalanced
    stresses (every component of the reaction and the residual is non-zero)."""
    from scema.io.datasets import stress_dataset
    from scema.io.netcdf import read_dataset, write_dataset
    from scema.stages.reaction import internal_force, operator_dataset, run

    model, bcs, face = case(tmp_path)
    stress = np.random.default_rng(7).normal(0.0, 1e8, size=(model.n_qp, 6))
    f_ref, reaction_ref, residual_ref = _reaction_by_assembly(model, stress, bcs, face)
    write_dataset(
        operator_dataset(model, bcs, "quasistatic"), tmp_path / "internal_force.nc", "internal force operator"
    )
    operator = read_dataset(tmp_path / "internal_force.nc")
    scale = np.abs(f_ref).max()
    np.testing.assert_allclose(internal_force(operator, stress), f_ref, rtol=0, atol=1e-13 * scale)

    zeros = np.zeros_like(stress)
    write_dataset(stress_dataset(3, stress, zeros, np.zeros(model.n_qp), zeros), tmp_path / "stress.nc", "stress")
    run(3, str(tmp_path / "internal_force.nc"), bcs, str(tmp_path / "stress.nc"), str(tmp_path / "r.nc"))
    every = read_dataset(tmp_path / "r.nc")
    assert set(every["boundary"].values) == {name for name, _comp in prescribed_increments(bcs)}
    ds = every.sel(boundary=face)
    prescribed = ~np.isnan(reaction_ref)
    np.testing.assert_array_equal(np.isnan(ds["reaction_force"].values), ~prescribed)
    face_scale = np.abs(f_ref[model.face_nodes(face)]).sum()
    face_sum = ds["reaction_force"].values - ds["out_of_balance_force"].values  # the lifted one, less the weighted rest
    np.testing.assert_allclose(face_sum[prescribed], reaction_ref[prescribed], rtol=0, atol=1e-12 * face_scale)
    assert np.abs(reaction_ref[prescribed]).min() > 1e-6 * face_scale  # not a sum that cancels to nothing
    np.testing.assert_allclose(float(ds["residual_norm"]), residual_ref, rtol=1e-12)
    labels = " ".join("xyz"[c] for c in constrained_components(bcs, face))
    assert f"{face}: {labels}" in ds.attrs["constrained_components"].split("; ")
    assert ds.attrs["step"] == 3
    np.testing.assert_array_equal(ds["applied_displacement"].values, applied_displacement(bcs, face, 3))


def test_the_reaction_stage_imports_no_dolfinx():
    """aggregate_stress computes the reaction: its stages must not pay dolfinx's import."""
    import subprocess
    import sys

    code = (
        "import sys, scema.stages.aggregate, scema.stages.reaction\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dolfinx', 'ufl', 'ffcx', 'petsc4py')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO / "workflow"
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_fenicsx_imports_without_pkg_resources_and_keeps_the_versions():
    """dolfinx_backend imports ufl/ffcx with a version-only stand-in for pkg_resources (the FE
    jobs' largest import); the versions they report are the installed ones, and a later import
    of pkg_resources gets the real module."""
    code = (
        "import sys, importlib.metadata as m\n"
        "import scema.fe.dolfinx_backend\n"
        "import ufl, ffcx\n"
        "print('pkg_resources' in sys.modules)\n"
        "print(ufl.__version__ == m.version('fenics-ufl'), ffcx.__version__ == m.version('fenics-ffcx'))\n"
        "import pkg_resources\n"
        "print(pkg_resources.get_distribution('fenics-ufl').version == ufl.__version__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["False", "True", "True", "True"], out.stderr[-2000:]


def test_a_write_to_a_closed_socket_raises_broken_pipe_after_the_fe_import():
    """PETSc's initialisation takes SIGPIPE from Python; dolfinx_backend gives it back, so a write
    to an exited MD worker is a BrokenPipeError (which the supervisor handles) and not a PETSc
    abort (status 59) or a SEGV. Was: this test's pytest session crashed after test_md_batch."""
    code = (
        "import os, socket\n"
        "import scema.fe.dolfinx_backend\n"
        "mine, theirs = socket.socketpair()\n"
        "theirs.close()\n"
        "try:\n"
        "    os.write(mine.fileno(), b'12345678')\n"
        "except BrokenPipeError:\n"
        "    print('BrokenPipeError')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert (out.returncode, out.stdout.strip()) == (0, "BrokenPipeError"), out.stdout[-2000:] + out.stderr[-2000:]
