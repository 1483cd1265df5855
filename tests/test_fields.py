"""ParaView fields: one XDMF time series whose values are those of the run's NetCDF files.

The file is read the way ParaView reads it (tests/xdmf_files.py) and compared with the NetCDF
files cell by cell.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import xarray as xr

from conftest import REPO, run_workflow, seed_materials, small_config
from scema.fe.fields import cell_mode, von_mises
from xdmf_files import match, read_xdmf

FIELDS = {"displacement", "stress", "von_mises", "source", "committee_spread", "cluster_id"}


# ---------------------------------------------------------------------- formulas
def test_von_mises_matches_the_deviatoric_invariant():
    """sqrt(3 J2) with J2 = s:s / 2 of the deviator: uniaxial gives |sigma|, pure shear sqrt(3) tau."""
    rng = np.random.default_rng(1)
    voigt = rng.normal(size=(20, 6)) * 1e8
    tensor = np.zeros((20, 3, 3))
    for k, (i, j) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
        tensor[:, i, j] = tensor[:, j, i] = voigt[:, k]
    dev = tensor - np.trace(tensor, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    j2 = 0.5 * np.einsum("nij,nij->n", dev, dev)
    np.testing.assert_allclose(von_mises(voigt), np.sqrt(3 * j2), rtol=1e-12)
    assert von_mises(np.array([-2e8, 0, 0, 0, 0, 0])) == pytest.approx(2e8)
    assert von_mises(np.array([0, 0, 0, 0, 0, 1e8])) == pytest.approx(np.sqrt(3) * 1e8)


def test_cell_mode_takes_the_most_frequent_code_and_the_lower_one_on_ties():
    codes = np.array([2, 2, 1, 0, 1, 1, 0, 2, 0, 0, 2, 2])  # cells of four points
    assert cell_mode(codes, 4).tolist() == [2, 1, 0]
    assert cell_mode(np.array([1, 2, 2, 1]), 4).tolist() == [1]


@pytest.mark.parametrize("cell", ["hexahedron", "tetrahedron"])
def test_values_land_on_their_cells_and_nodes(tmp_path, cell):
    """Fields made from positions (cell centre, node position) read back at those positions."""
    from scema.fe.dolfinx_backend import FEModel, MeshSpec, create_mesh

    msh, _ = create_mesh(MeshSpec("box", (1e-3, 2e-3, 3e-3), (2, 2, 3), cell))
    model = FEModel(msh, np.zeros(msh.topology.index_map(3).size_local, np.int32), {0: np.eye(6)})
    qp_cell, qp_xyz = model.qp_cell(), model.qp_coordinates()
    centre = np.array([qp_xyz[qp_cell == c].mean(axis=0) for c in range(qp_cell.max() + 1)])  # by input cell
    nodes = model.node_coordinates()
    frames = [
        (
            t,
            {
                "nodes": {"displacement": t * nodes},
                "cells": {"von_mises": t * centre[:, 0], "stress": t * centre[:, :, None] * np.ones(3)},
            },
        )
        for t in (0.5, 1.5)
    ]
    out = tmp_path / "fields.xdmf"
    model.write_time_series(out, frames, {"von_mises": "centre x"})
    topology, geometry, fields = read_xdmf(out)
    centroids = geometry[topology].mean(axis=1)
    for k, t in enumerate((0.5, 1.5)):
        assert fields["von_mises"][k][0] == t and fields["von_mises"][k][2] == "centre x"
        np.testing.assert_allclose(fields["von_mises"][k][1][:, 0], t * centroids[:, 0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(
            fields["stress"][k][1].reshape(-1, 3, 3)[:, :, 0], t * centroids, rtol=1e-12, atol=1e-15
        )
        np.testing.assert_allclose(fields["displacement"][k][1], t * geometry, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------- the file of a run
@pytest.fixture(scope="module")
def clustered_run(tmp_path_factory, copper_cache):
    """The small run with clustering on, so provenance holds MD and cluster members."""
    workdir = tmp_path_factory.mktemp("fields_run")
    seed_materials(workdir, copper_cache)
    cfg = small_config()
    cfg["clustering"].update(enabled=True, alpha=0.01)
    run_workflow(workdir, cfg)
    return workdir


@pytest.mark.workflow
def test_fields_file_holds_every_step_with_the_values_of_the_netcdf_files(clustered_run):
    results = clustered_run / "results"
    topology, geometry, fields = read_xdmf(results / "fields" / "fields.xdmf")
    steps = sorted(results.glob("step_0*/fe_state.nc"))[1:]  # step 0 is the unloaded state
    times = [xr.open_dataset(p).attrs["time"] for p in steps]

    assert set(fields) == FIELDS
    for name, frames in fields.items():
        assert [t for t, _, _ in frames] == pytest.approx(times), name  # one time per step, in order
    assert "0 md, 1 cluster, 2 committee" in fields["source"][0][2]

    centroids = geometry[topology].mean(axis=1)  # the XDMF's cell order
    sources = set()
    for k, step_dir in enumerate(p.parent for p in steps):
        state = xr.open_dataset(step_dir / "fe_state.nc")
        stress = xr.open_dataset(step_dir / "stress.nc")
        strain = xr.open_dataset(step_dir / "strain.nc")
        clusters = xr.open_dataset(step_dir / "clusters.nc")
        node = match(geometry, state["node_coordinates"].values)
        np.testing.assert_allclose(fields["displacement"][k][1], state["displacement"].values[node], atol=1e-18)

        qp_cell = strain["cell"].values
        cell_centres = np.array(
            [strain["qp_coordinates"].values[qp_cell == c].mean(axis=0) for c in np.unique(qp_cell)]
        )
        cell = np.unique(qp_cell)[match(centroids, cell_centres)]  # input cell of each XDMF cell
        for row, c in enumerate(cell):
            qps = qp_cell == c
            mean = stress["stress"].values[qps].mean(axis=0)
            xx, yy, zz, yz, xz, xy = mean
            np.testing.assert_allclose(
                fields["stress"][k][1][row], [xx, xy, xz, xy, yy, yz, xz, yz, zz], rtol=1e-12, atol=1e-3
            )
            expected_vm = np.sqrt(
                0.5 * ((xx - yy) ** 2 + (yy - zz) ** 2 + (zz - xx) ** 2) + 3 * (yz**2 + xz**2 + xy**2)
            )
            assert fields["von_mises"][k][1][row, 0] == pytest.approx(expected_vm, rel=1e-12)
            counts = Counter(stress["source"].values[qps].tolist())
            top = max(counts.values())
            assert fields["source"][k][1][row, 0] == min(s for s, n in counts.items() if n == top)
            counts = Counter(clusters["representative"].values[qps].tolist())
            top = max(counts.values())
            assert fields["cluster_id"][k][1][row, 0] == min(r for r, n in counts.items() if n == top)
            assert np.isnan(fields["committee_spread"][k][1][row, 0])  # committee off: never asked
        sources |= set(stress["source"].values.tolist())
    assert sources == {0, 1}, "the run should have MD and cluster-member qps for this test to mean much"


@pytest.mark.mpi
@pytest.mark.workflow
def test_fields_written_on_two_ranks_equal_the_serial_file(clustered_run, tmp_path):
    """Cells and nodes are placed by input index, whatever rank owns them."""
    import yaml

    from scema.config import validate_config
    from scema.parallel import run_stage

    results = clustered_run / "results"
    cfg = validate_config(
        yaml.safe_load((clustered_run / "config.yaml").read_text()), search_dirs=[clustered_run, REPO]
    )
    steps = [p.parent for p in sorted(results.glob("step_0*/stress.nc"))][1:]
    out = tmp_path / "fields.xdmf"
    run_stage(
        "scema.stages.fields:run",
        {
            "config": cfg,
            "material_files": {"copper": str(results / "materials/copper/material.nc")},
            "fe_states": [str(s / "fe_state.nc") for s in steps],
            "stresses": [str(s / "stress.nc") for s in steps],
            "clusters": [str(s / "clusters.nc") for s in steps],
            "out_fields": str(out),
        },
        tasks=2,
    )
    serial_topology, serial_geometry, serial = read_xdmf(results / "fields" / "fields.xdmf")
    topology, geometry, parallel = read_xdmf(out)
    cell = match(geometry[topology].mean(axis=1), serial_geometry[serial_topology].mean(axis=1))
    node = match(geometry, serial_geometry)
    assert set(parallel) == set(serial) == FIELDS
    for name in FIELDS:
        for (t1, v1, _), (t2, v2, _) in zip(serial[name], parallel[name], strict=True):
            assert t1 == t2
            # dolfinx evaluates P1 values at the geometry nodes: equal to round-off, not bitwise
            np.testing.assert_allclose(v1[node if name == "displacement" else cell], v2, rtol=1e-12, err_msg=name)
