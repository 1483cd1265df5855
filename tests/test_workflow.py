"""The real loop end to end: Snakemake runs dolfinx and LAMMPS in temporary directories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import (
    REPO,
    kill_run_when,
    load_default_config,
    resume_run,
    run_workflow,
    seed_materials,
    small_config,
)
from scema.config import validate_config
from scema.stages import fe_step
from xdmf_files import match, read_xdmf

VOIGT = ["xx", "yy", "zz", "yz", "xz", "xy"]


def _open(path: Path) -> xr.Dataset:
    with xr.open_dataset(path) as ds:
        return ds.load()


def _assert_cf(ds: xr.Dataset) -> None:
    for attr in ("Conventions", "source", "history"):
        assert ds.attrs.get(attr), attr
    for name, var in list(ds.data_vars.items()) + list(ds.coords.items()):
        assert "units" in var.attrs and "long_name" in var.attrs, name


@pytest.mark.workflow
def test_default_workflow_writes_every_file_with_its_dimensions_and_units(tmp_path):
    cfg = load_default_config()
    run_workflow(tmp_path, cfg)
    res = tmp_path / "results"
    full = validate_config(cfg, search_dirs=[tmp_path, Path(__file__).resolve().parents[1]])
    steps, replicas = cfg["run"]["steps"], cfg["md"]["replicas"]
    nx, ny, nz = cfg["specimen"]["mesh"]["divisions"]
    n_qp = 8 * nx * ny * nz
    inc = cfg["specimen"]["boundary_conditions"][1]["increment"][2]

    mat = _open(res / "materials" / "copper" / "material.nc")
    _assert_cf(mat)
    assert mat["stiffness"].dims == ("replica", "i", "j") and mat["stiffness"].attrs["units"] == "Pa"
    assert mat["reference_stress"].dims == ("replica", "component")
    assert mat.sizes["replica"] == replicas
    for f in mat["state_file"].values:
        assert (tmp_path / str(f)).is_file()
    c = mat["stiffness"].mean("replica").values
    # 300 K copper (Mishin potential): softer than the 0 K 169.9 / 122.6 / 76.2 GPa, same order
    assert 140e9 < c[0, 0] < 175e9 and 100e9 < c[0, 1] < 135e9 and 60e9 < c[3, 3] < 80e9

    summary = _open(res / "summary.nc")
    _assert_cf(summary)
    assert list(summary["step"].values) == list(range(1, steps + 1))
    for name in ("applied_displacement", "reaction_force", "md_updates", "wall_time"):
        assert summary[name].dims[0] == "step"
    assert summary["reaction_force"].attrs["units"] == "N"
    np.testing.assert_array_equal(summary["md_updates"].values, n_qp * replicas)
    np.testing.assert_allclose(summary["applied_displacement"].sel(xyz="z").values, inc * np.arange(1, steps + 1))
    assert (summary["wall_time"].sel(stage="md_batch") > 0).all()

    for step in range(1, steps + 1):
        d = res / f"step_{step:04d}"
        strain = _open(d / "strain.nc")
        _assert_cf(strain)
        assert strain["strain"].dims == ("qp", "component") and strain.sizes["qp"] == n_qp
        assert list(strain["component"].values) == VOIGT
        assert strain["qp_coordinates"].dims == ("qp", "xyz") and strain["qp_coordinates"].attrs["units"] == "m"
        for name in ("strain_increment", "cell", "material"):
            assert name in strain
        assert strain.attrs["shear_convention"] == "engineering"
        stress = _open(d / "stress.nc")
        _assert_cf(stress)
        assert stress["stress"].attrs["units"] == "Pa" and stress["stress_replica_std"].attrs["units"] == "Pa"
        assert stress["source"].attrs["flag_meanings"] == "md cluster committee"
        assert (stress["source"].values == 0).all()
        batches = sorted((d / "md").glob("batch_*.nc"))
        assert 1 <= len(batches) <= cfg["md"]["batches"]
        assert sum(_open(b).sizes["update"] for b in batches) == n_qp * replicas
        # the ParaView file: the step's nodal displacement at the step's time, as fe_state.nc has it
        # (written from the same array by another writer); the faces carry the prescribed values
        state = _open(d / "fe_state.nc")
        assert state.attrs["time"] == pytest.approx(step * full["fe"]["time_step"], rel=1e-12)
        topology, geometry, fields = read_xdmf(d / "displacement.xdmf")
        assert list(fields) == ["displacement"] and len(fields["displacement"]) == 1
        time, u, _ = fields["displacement"][0]
        assert time == pytest.approx(state.attrs["time"], rel=1e-6)  # the XDMF's time is text
        assert topology.shape == (nx * ny * nz, 8) and len(geometry) == state.sizes["node"]
        u_state = state["displacement"].values[match(geometry, state["node_coordinates"].values)]
        np.testing.assert_allclose(u, u_state, rtol=1e-12, atol=1e-12 * np.abs(u_state).max())
        top, bottom = geometry[:, 2] == geometry[:, 2].max(), geometry[:, 2] == geometry[:, 2].min()
        np.testing.assert_allclose(u[top, 2], inc * step, rtol=1e-12)
        np.testing.assert_allclose(u[bottom], 0.0, atol=1e-12 * inc * step)  # fixed; ~1e-23 m of round-off
        inside = u[~top & ~bottom, 2]
        assert (inside > 0).all() and (inside < inc * step).all()  # a pulled bar: between its faces

    # independent check: the MD-driven reaction follows the linear-elastic FE prediction with the
    # material's own homogenised stiffness (small strains), within the MD noise
    from scema.fe.boundary import prescribed_increments
    from scema.fe.scheme import quasistatic_increment
    from scema.specimen import build_model

    model, _ = build_model(full, {"copper": str(res / "materials" / "copper" / "material.nc")})
    du = quasistatic_increment(
        model, np.zeros((n_qp, 6)), prescribed_increments(full["specimen"]["boundary_conditions"])
    )
    stress_lin = model.qp_strain(du) @ model.stiffness[0].T
    r_lin = model.internal_force(stress_lin)[model.face_nodes("zmax")].sum(axis=0)[2]
    r_md = summary["reaction_force"].sel(xyz="z").values
    # MD noise of the reaction: replica-mean stress noise over the loaded face's area. Every qp's
    # replica r starts from the same reference box, so the noise is common to all qps (no 1/sqrt(n_qp)).
    area = cfg["specimen"]["mesh"]["size"][0] * cfg["specimen"]["mesh"]["size"][1]
    noise = (
        np.array(
            [
                _open(res / f"step_{t:04d}/stress.nc")["stress_replica_std"].sel(component="zz").mean().item()
                for t in range(1, steps + 1)
            ]
        )
        / np.sqrt(replicas)
        * area
    )
    deviation = np.abs(r_md - r_lin * np.arange(1, steps + 1))
    assert np.all(deviation <= 0.1 * np.abs(r_lin) * np.arange(1, steps + 1) + 4 * noise), (r_md, r_lin, noise)
    assert r_md[-1] > 3 * r_md[0] > 0  # the specimen carries more load as it is pulled further


@pytest.mark.workflow
def test_uniform_strain_specimen_gives_every_qp_the_same_stress(tmp_path, copper_cache):
    cfg = small_config()
    cfg["run"]["steps"] = 1
    cfg["specimen"]["boundary_conditions"] = [
        {"face": "xmin", "type": "displacement", "increment": [0.0, None, None]},
        {"face": "ymin", "type": "displacement", "increment": [None, 0.0, None]},
        {"face": "zmin", "type": "displacement", "increment": [None, None, 0.0]},
        {"face": "zmax", "type": "displacement", "increment": [None, None, 2.0e-5]},  # 1 % strain
    ]
    seed_materials(tmp_path, copper_cache)
    run_workflow(tmp_path, cfg)
    strain = _open(tmp_path / "results/step_0001/strain.nc")["strain"].values
    np.testing.assert_allclose(strain, np.broadcast_to(strain[0], strain.shape), atol=1e-12)
    stress = _open(tmp_path / "results/step_0001/stress.nc")
    sigma, std = stress["stress"].values, stress["stress_replica_std"].values
    # MD noise of a replica mean per component, pooled over qps (2 replicas alone say little);
    # normal and shear components differ by ~2x, so one pooled figure would be wrong for both.
    # 4.5 sigma: n_qp x 6 comparisons (96 here) must not fail by chance (p ~ 7e-6 each), while a
    # qp given another strain or state would be off by the full stress (~600 MPa, > 7 sigma).
    noise_c = np.sqrt(np.mean(std**2, axis=0) / cfg["md"]["replicas"])
    noise = float(np.mean(noise_c))
    assert np.all(np.abs(sigma - np.median(sigma, axis=0)) <= 4.5 * noise_c)
    # and that stress is the material's response C eps within the noise (+5 % for nonlinearity)
    c = _open(tmp_path / "results/materials/copper/material.nc")["stiffness"].mean("replica").values
    expected = 0.5 * (c + c.T) @ strain[0]
    assert abs(expected[2]) > 5 * noise  # the check below is not swamped by noise
    assert np.all(np.abs(sigma.mean(axis=0) - expected) <= 4 * noise + 0.05 * np.abs(expected).max())


def _state_files(workdir: Path, step: int) -> list[Path]:
    return list((workdir / f"results/step_{step:04d}/md/state").glob("*.nc"))


@pytest.mark.workflow
def test_resume_after_kill_during_md_batch_equals_uninterrupted_run(tmp_path, copper_cache, brute_force_run):
    cfg = small_config()
    reference, resumed = brute_force_run, tmp_path / "resumed"
    seed_materials(resumed, copper_cache)

    config_path = kill_run_when(resumed, cfg, lambda: _state_files(resumed, 2), timeout=300)
    assert not (resumed / "results/step_0002/stress.nc").exists()
    finished = sorted((resumed / "results/step_0001").glob("*.nc"))
    mtimes = {p: p.stat().st_mtime_ns for p in finished}

    resume_run(resumed, cfg, config_path)

    assert {p: p.stat().st_mtime_ns for p in finished} == mtimes, "a finished step was recomputed"
    for step in (1, 2):
        a = _open(reference / f"results/step_{step:04d}/stress.nc")["stress"].values
        b = _open(resumed / f"results/step_{step:04d}/stress.nc")["stress"].values
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        _open(reference / "results/summary.nc")["reaction_force"].values,
        _open(resumed / "results/summary.nc")["reaction_force"].values,
    )


@pytest.mark.workflow
@pytest.mark.parametrize("step", [1, 2])
def test_fe_step_in_the_run_equals_fe_step_from_the_files_of_the_step_before(
    tmp_path, brute_force_run, monkeypatch, step
):
    """fe_step does not wait for the files of the step before: at step 1 it starts from rest
    (not from initial_state's step 0 files), later it aggregates the previous step's MD results
    itself (not aggregate_stress's stress.nc and md_state.nc). From those files instead: the
    same strain and MD schedule, bit for bit."""
    monkeypatch.chdir(brute_force_run)
    cfg = validate_config(small_config(), search_dirs=[REPO])
    fe_step.run(
        model_settings=cfg,
        # the rule's solver settings (get_fe_settings): another solver agrees only to round-off
        fe={
            "integrator": cfg["fe"]["integrator"],
            "time_step": cfg["fe"]["time_step"],
            "petsc_options": cfg["fe"]["petsc_options"].get(cfg["fe"]["solver"], {}),
        },
        boundary_conditions=cfg["specimen"]["boundary_conditions"],
        step=step,
        material_files={"copper": "results/materials/copper/material.nc"},
        prev_fe_state=f"results/step_{step - 1:04d}/fe_state.nc",
        prev_stress=f"results/step_{step - 1:04d}/stress.nc",
        out_fe_state=str(tmp_path / "fe_state.nc"),
        out_strain=str(tmp_path / "strain.nc"),
        out_displacement=str(tmp_path / "displacement.xdmf"),
        plan={
            "settings": {
                "batches": cfg["md"]["batches"],
                "replicas": cfg["md"]["replicas"],
                "seed": cfg["run"]["seed"],
                "materials": ["copper"],
                "state_suffixes": [".nc"],
            },
            "prev_md_state": f"results/step_{step - 1:04d}/md_state.nc",
            "out_schedule": str(tmp_path / "md_schedule.nc"),
        },
    )
    for name in ("strain.nc", "md_schedule.nc"):
        from_files, in_run = _open(tmp_path / name), _open(brute_force_run / f"results/step_{step:04d}" / name)
        for var in in_run.data_vars:
            got, want = from_files[var].values, in_run[var].values
            if var == "state_out":  # written next to the schedule: compare the file names
                got, want = [Path(p).name for p in got], [Path(p).name for p in want]
            np.testing.assert_array_equal(got, want, err_msg=f"{name}: {var}")
