"""The FE stages on 2 MPI ranks: same qp numbering, the same strain.nc and MD schedule as on 1 rank."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import xarray as xr

from conftest import REPO, small_config
from scema.config import validate_config
from scema.parallel import run_stage
from xdmf_files import match, read_xdmf

SCHEDULE = "results/step_0002/md_schedule.nc"  # planned by fe_step of the 1-rank run


def _open(path) -> xr.Dataset:
    with xr.open_dataset(path) as ds:
        return ds.load()


def assert_equal_variables(got: xr.Dataset, want: xr.Dataset, names: tuple[str, ...]) -> None:
    """Variables that numbering and bookkeeping decide: equal on any rank count, bit for bit."""
    for name in names:
        np.testing.assert_array_equal(got[name].values, want[name].values, err_msg=name)


@pytest.fixture
def fe_inputs(tmp_path, brute_force_run, monkeypatch) -> dict:
    """The small run's results copied into the working directory; the arguments both FE stages
    take (the config is a superset of the rules' slices: build_model reads what it needs)."""
    shutil.copytree(brute_force_run / "results", tmp_path / "results")
    monkeypatch.chdir(tmp_path)
    cfg = validate_config(small_config(), search_dirs=[REPO])
    return dict(
        model_settings=cfg,
        boundary_conditions=cfg["specimen"]["boundary_conditions"],
        material_files={"copper": "results/materials/copper/material.nc"},
    )


@pytest.mark.mpi
@pytest.mark.workflow
def test_fe_step_on_two_ranks_writes_the_same_strain_file_and_schedule(tmp_path, brute_force_run, fe_inputs):
    cfg = fe_inputs["model_settings"]
    schedule = {
        "batches": cfg["md"]["batches"],
        "seed": cfg["run"]["seed"],
        "materials": ["copper"],
        "state_suffixes": [".nc"],
    }
    kwargs = dict(
        **fe_inputs,
        fe={"integrator": "quasistatic", "time_step": cfg["fe"]["time_step"], "petsc_options": {}},
        step=2,
        prev_fe_state="results/step_0001/fe_state.nc",
        prev_stress="results/step_0001/stress.nc",
        out_fe_state="fe_state_2ranks.nc",
        out_strain="strain_2ranks.nc",
        out_displacement=str(tmp_path / "displacement_2ranks.xdmf"),
        # fe_step plans the MD when clustering and committee are off: rank 0 writes the schedule
        plan={
            "settings": schedule,
            "prev_md_state": "results/step_0001/md_state.nc",
            "out_schedule": "results/step_0002/md_schedule_2ranks.nc",
        },
    )
    run_stage("scema.stages.fe_step:run", kwargs, tasks=2)
    one = _open(brute_force_run / "results/step_0002/strain.nc")
    two = _open("strain_2ranks.nc")
    assert_equal_variables(two, one, ("cell", "qp_coordinates", "material"))
    scale = np.abs(one["strain"].values).max()
    # a parallel direct solve sums in another order: equal to round-off, nothing more
    np.testing.assert_allclose(two["strain"].values, one["strain"].values, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(
        two["strain_increment"].values, one["strain_increment"].values, rtol=0, atol=1e-12 * scale
    )
    u1 = _open(brute_force_run / "results/step_0002/fe_state.nc")["displacement"].values
    u2 = _open("fe_state_2ranks.nc")["displacement"].values
    np.testing.assert_allclose(u2, u1, rtol=0, atol=1e-12 * np.abs(u1).max())
    # the ParaView file: the same nodes, time and displacement as the 1-rank file of the step
    # (dolfinx orders nodes and cells by rank ownership: matched by position)
    topology1, geometry1, fields1 = read_xdmf(brute_force_run / "results/step_0002/displacement.xdmf")
    topology2, geometry2, fields2 = read_xdmf(tmp_path / "displacement_2ranks.xdmf")
    node = match(geometry2, geometry1)
    assert len(geometry2) == len(geometry1) and sorted(node) == list(range(len(geometry1)))
    cell = match(geometry2[topology2].mean(axis=1), geometry1[topology1].mean(axis=1))
    assert len(topology2) == len(topology1) and sorted(cell) == list(range(len(topology1)))
    ((t1, v1, _),), ((t2, v2, _),) = fields1["displacement"], fields2["displacement"]
    assert t2 == t1 == pytest.approx(_open("fe_state_2ranks.nc").attrs["time"], rel=1e-6)  # XDMF time: text
    np.testing.assert_allclose(v2, v1[node], rtol=0, atol=1e-12 * np.abs(v1).max())
    planned, reference = _open("results/step_0002/md_schedule_2ranks.nc"), _open(brute_force_run / SCHEDULE)
    assert planned.attrs["n_batches"] == reference.attrs["n_batches"]
    assert_equal_variables(
        planned, reference, ("qp_id", "replica_id", "batch", "material", "seed", "state_in", "state_out")
    )
    np.testing.assert_allclose(
        planned["target_strain"].values, reference["target_strain"].values, rtol=0, atol=1e-12 * scale
    )


@pytest.mark.mpi
@pytest.mark.workflow
def test_initial_state_on_two_ranks_writes_the_same_internal_force_operator(brute_force_run, fe_inputs):
    """The operator aggregate_stress applies for the reaction: numbered by qp and node id, so the
    file of 2 ranks is the serial run's (to round-off) and gives the same reactions."""
    from scema.stages.reaction import internal_force

    kwargs = dict(
        **fe_inputs,
        replicas=fe_inputs["model_settings"]["md"]["replicas"],
        integrator="quasistatic",
        out_stress="stress_2ranks.nc",
        out_fe_state="fe_state_2ranks.nc",
        out_md_state="md_state_2ranks.nc",
        out_internal_force="internal_force_2ranks.nc",
    )
    run_stage("scema.stages.initial_state:run", kwargs, tasks=2)
    one = _open(brute_force_run / "results/internal_force.nc")
    two = _open("internal_force_2ranks.nc")
    assert_equal_variables(two, one, ("cell_nodes", "boundary_nodes", "boundary"))
    g = one["shape_gradient"].values
    np.testing.assert_allclose(two["shape_gradient"].values, g, rtol=0, atol=1e-13 * np.abs(g).max())
    np.testing.assert_allclose(
        two["lifting_displacement"].values, one["lifting_displacement"].values, rtol=0, atol=1e-10
    )
    stress = _open(brute_force_run / "results/step_0002/stress.nc")["stress"].values
    f1, f2 = internal_force(one, stress), internal_force(two, stress)
    np.testing.assert_allclose(f2, f1, rtol=0, atol=1e-12 * np.abs(f1).max())
