"""The lifted reaction (internal force weighted by an elastic lifting) against independent references:
the analytic force of a uniform stress, the face reaction of an FE equilibrium solution, and the
variance of iid qp noise (the reason it exists)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from scema.fe.boundary import prescribed_increments
from scema.fe.scheme import quasistatic_increment
from test_fe import (
    NU,
    SIZE,
    _cylinder_case,
    _model,
    _physical_group_case,
    _reaction_by_assembly,
    _two_material_case,
)

AREA = SIZE[0] * SIZE[1]
PULL = [
    {"face": "zmin", "type": "fixed"},
    {"face": "zmax", "type": "displacement", "increment": [None, None, 2.0e-6]},
]
ROLLERS = [  # boundaries sharing edges with the loaded face: its lifting must keep 1 there
    {"face": "xmin", "type": "displacement", "increment": [0.0, None, None]},
    {"face": "ymin", "type": "displacement", "increment": [None, 0.0, None]},
    {"face": "zmin", "type": "displacement", "increment": [None, None, 0.0]},
    {"face": "zmax", "type": "displacement", "increment": [None, None, 2.0e-6]},
]


def _stage(tmp_path, model, bcs, stress, integrator="quasistatic"):
    """reaction.nc of the aggregate_stress stage for these qp stresses."""
    from scema.io.datasets import stress_dataset
    from scema.io.netcdf import read_dataset, write_dataset
    from scema.stages.reaction import operator_dataset, run

    write_dataset(operator_dataset(model, bcs, integrator), tmp_path / "internal_force.nc", "internal force operator")
    zeros = np.zeros_like(stress)
    write_dataset(stress_dataset(1, stress, zeros, np.zeros(model.n_qp), zeros), tmp_path / "stress.nc", "stress")
    run(1, str(tmp_path / "internal_force.nc"), bcs, str(tmp_path / "stress.nc"), str(tmp_path / "r.nc"))
    return read_dataset(tmp_path / "r.nc")


@pytest.mark.parametrize("cell", ["hexahedron", "tetrahedron"])
@pytest.mark.parametrize("bcs", [PULL, ROLLERS], ids=["pull", "rollers"])
def test_lifted_reaction_of_a_uniform_axial_stress_is_stress_times_area(tmp_path, cell, bcs):
    """sum_n W_n . f_int,n = int sigma : eps(W) dV = sigma_zz * A for any W equal to e_z on the face
    and 0 on every other prescribed component (sides free of traction). With rollers the
    lifting is the analytic uniaxial field W = (-nu x, -nu y, z) / L (P1 and Q1 reproduce it)."""
    from scema.io.netcdf import read_dataset

    model = _model(cell)
    sigma_zz = 7.5e8
    stress = np.zeros((model.n_qp, 6))
    stress[:, 2] = sigma_zz
    ds = _stage(tmp_path, model, bcs, stress).sel(boundary="zmax")
    assert ds.attrs["reaction_estimator"] == "lifted"
    np.testing.assert_allclose(float(ds["reaction_force"][2]), sigma_zz * AREA, rtol=1e-10)
    assert abs(float(ds["out_of_balance_force"][2])) < 1e-10 * sigma_zz * AREA  # in equilibrium: the face sum too
    if bcs is ROLLERS:
        lift = read_dataset(tmp_path / "internal_force.nc")["lifting_displacement"].sel(boundary="zmax", xyz="z")
        x = model.node_coordinates()
        expected = np.column_stack([-NU * x[:, 0], -NU * x[:, 1], x[:, 2]]) / SIZE[2]
        np.testing.assert_allclose(lift.values, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("case", [_two_material_case, _physical_group_case, _cylinder_case])
def test_lifted_reaction_is_the_face_reaction_of_a_linear_elastic_fe_solution(tmp_path, case):
    """An FE equilibrium solution (two materials, gmsh groups, a pin hole) has no out-of-balance
    force, so the lifted reaction is dolfinx's assembled face reaction to round-off, on every
    constrained component of every boundary."""
    model, bcs, face = case(tmp_path)
    du = quasistatic_increment(model, np.zeros((model.n_qp, 6)), prescribed_increments(bcs))
    strain, material = model.qp_strain(du), model.qp_material()
    stress = np.einsum("qij,qj->qi", np.array([model.stiffness[m] for m in material]), strain)
    lifted = _stage(tmp_path, model, bcs, stress)
    for name in lifted["boundary"].values:
        _f, assembled, _residual = _reaction_by_assembly(model, stress, bcs, str(name))
        prescribed = ~np.isnan(assembled)
        scale = np.abs(assembled[prescribed]).max()
        assert scale > 0
        r = lifted["reaction_force"].sel(boundary=name).values
        np.testing.assert_allclose(r[prescribed], assembled[prescribed], rtol=0, atol=1e-9 * scale)
        np.testing.assert_allclose(
            lifted["out_of_balance_force"].sel(boundary=name).values[prescribed], 0.0, atol=1e-9 * scale
        )


def test_the_explicit_integrator_reports_the_face_sum(tmp_path):
    """explicit_dynamic: the force off the boundary is inertia, so the reaction is the face's own
    nodal sum (dolfinx's assembly, for unbalanced stresses) and no lifting is computed."""
    from scema.io.netcdf import read_dataset

    model = _model("tetrahedron")
    stress = np.random.default_rng(5).normal(0.0, 1e8, size=(model.n_qp, 6))
    ds = _stage(tmp_path, model, PULL, stress, integrator="explicit_dynamic")
    assert ds.attrs["reaction_estimator"] == "face" and ds["reaction_force"].attrs["estimator"] == "face"
    assert "lifting_displacement" not in read_dataset(tmp_path / "internal_force.nc")
    for name in ("zmin", "zmax"):
        _f, assembled, _residual = _reaction_by_assembly(model, stress, PULL, name)
        prescribed = ~np.isnan(assembled)
        r = ds["reaction_force"].sel(boundary=name).values
        np.testing.assert_allclose(r[prescribed], assembled[prescribed], rtol=1e-12)
        assert np.isnan(ds["out_of_balance_force"].sel(boundary=name).values).all()


@pytest.mark.parametrize("noise,ratio", [("axial", 3.0), ("pressure", 3.0 / (1 - 2 * NU) ** 2)])
def test_lifted_reaction_averages_qp_noise_over_the_whole_bar(tmp_path, noise, ratio):
    """iid qp noise on the default bar's 2x2x3 hexahedra (96 qps), rollers: the face reaction reads
    the 32 qps of the top layer, the lifted one all 96 through eps(W) = (-nu, -nu, 1) / L. Noise on
    sigma_zz alone: the face's variance is 96/32 = 3 times the lifted one's; the same noise on
    the three normal stresses (a pressure, as MD's thermal noise largely is): 3 / (1 - 2 nu)^2,
    the lateral weights cancel it. Checked within the F distribution's 1e-6 two-sided bounds, and
    the lifted variance against its prediction within the chi-square's."""
    from scema.io.netcdf import read_dataset
    from scema.stages.reaction import internal_force

    model = _model("hexahedron")
    _stage(tmp_path, model, ROLLERS, np.zeros((model.n_qp, 6)))
    ops = read_dataset(tmp_path / "internal_force.nc")
    lift = ops["lifting_displacement"].sel(boundary="zmax", xyz="z").values
    on = ops["boundary_nodes"].sel(boundary="zmax").values.astype(bool)
    samples, s = 2000, 4.0e7
    rng = np.random.default_rng(11)
    face, lifted = np.empty(samples), np.empty(samples)
    columns = [2] if noise == "axial" else [0, 1, 2]
    for k in range(samples):
        stress = np.zeros((model.n_qp, 6))
        stress[:, columns] = rng.normal(0.0, s, size=(model.n_qp, 1))
        f = internal_force(ops, stress)
        face[k], lifted[k] = f[on, 2].sum(), np.sum(lift * f)
    observed = face.var(ddof=1) / lifted.var(ddof=1)
    low, high = stats.f.ppf([0.5e-6, 1 - 0.5e-6], samples - 1, samples - 1)
    assert ratio * low < observed < ratio * high, observed
    per_qp = s * (1.0 if noise == "axial" else 1 - 2 * NU) * (AREA * SIZE[2] / model.n_qp) / SIZE[2]
    expected = per_qp**2 * model.n_qp
    chi = stats.chi2.ppf([0.5e-6, 1 - 0.5e-6], samples - 1) / (samples - 1)
    assert expected * chi[0] < lifted.var(ddof=1) < expected * chi[1]


def _cubic(c11, c12, c44):
    stiffness = np.zeros((6, 6))
    stiffness[:3, :3] = c12
    np.fill_diagonal(stiffness[:3, :3], c11)
    stiffness[3:, 3:] = np.eye(3) * c44
    return stiffness


@pytest.mark.parametrize("md_law", ["cubic_mismatch", "isotropic"])
def test_out_of_equilibrium_the_lifted_reaction_is_nearer_the_equilibrium_one(md_law):
    """Why the lifted reaction is reaction_force: the staggered scheme (FE solve with its C, the
    previous stress carried) on the default bar with a linear 'MD' law C_md that differs from C
    leaves an out-of-balance force each step. The exact reference is the equilibrium solution of
    C_md itself. The lifted reaction (one elastic correction of that force) misses it by less than
    the face sum at every step, and by 0.2 (cubic mismatch) and 0.5 (isotropic) of the face sum's
    RMS error over the 5 steps (asserted: below 0.6)."""
    from scema.fe.dolfinx_backend import FEModel, MeshSpec, create_mesh
    from scema.stages.reaction import internal_force, operator_dataset
    from scema.voigt import isotropic_stiffness

    c_fe = _cubic(164e9, 120e9, 72e9)  # the default copper's measured C at 300 K
    c_md = _cubic(164e9, 144e9, 57.6e9) if md_law == "cubic_mismatch" else isotropic_stiffness(130e9, 0.34)
    msh, _groups = create_mesh(MeshSpec("box", (1e-3, 1e-3, 2e-3), (2, 2, 3), "hexahedron"))
    cells = np.zeros(msh.topology.index_map(3).size_local, dtype=np.int32)
    fe, md = FEModel(msh, cells, {0: c_fe}), FEModel(msh, cells, {0: c_md})
    ops = operator_dataset(fe, PULL, "quasistatic")
    lift = ops["lifting_displacement"].sel(boundary="zmax").values[2]
    on = ops["boundary_nodes"].sel(boundary="zmax").values.astype(bool)
    increments = prescribed_increments(PULL)
    u, stress = np.zeros((len(on), 3)), np.zeros((fe.n_qp, 6))
    errors = []
    for step in range(1, 6):
        u = u + quasistatic_increment(fe, stress, increments)
        stress = fe.qp_strain(u) @ c_md.T  # the 'MD' answer at the FE's strain
        f = internal_force(ops, stress)
        face, lifted = f[on, 2].sum(), float(np.sum(lift * f))
        u_exact = md.solve_increment(np.zeros_like(u), {key: value * step for key, value in increments.items()})
        exact = internal_force(ops, md.qp_strain(u_exact) @ c_md.T)[on, 2].sum()
        assert abs(face - exact) > 1e-3 * abs(exact)  # out of equilibrium indeed
        assert abs(lifted - exact) < abs(face - exact), (step, face, lifted, exact)
        errors.append((face - exact, lifted - exact))
    face_rms, lifted_rms = np.sqrt(np.mean(np.square(errors), axis=0))
    assert lifted_rms < 0.6 * face_rms, (face_rms, lifted_rms)
