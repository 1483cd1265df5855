"""Specimen generators: geometry against the analytic proportions, named boundaries, cell types."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from scema import specimens

# gmsh element types: 2 triangle, 3 quadrangle, 4 tetrahedron, 5 hexahedron
_TET_OF_HEX = ((0, 1, 3, 4), (1, 2, 3, 6), (1, 3, 4, 6), (3, 4, 6, 7), (1, 4, 5, 6))


def _tet_volumes(x: np.ndarray) -> np.ndarray:
    """Volumes of tetrahedra x (n, 4, 3)."""
    return np.abs(np.einsum("ij,ij->i", x[:, 1] - x[:, 0], np.cross(x[:, 2] - x[:, 0], x[:, 3] - x[:, 0]))) / 6


def _triangle_areas(x: np.ndarray) -> np.ndarray:
    return 0.5 * np.linalg.norm(np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0]), axis=1)


def _read(path):
    """(volume, {group: area}, {element type: count}) of a .msh file, from its elements."""
    import gmsh

    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.merge(str(path))
        tags, coords, _ = gmsh.model.mesh.getNodes()
        xyz = np.zeros((int(tags.max()) + 1, 3))
        xyz[tags.astype(int)] = coords.reshape(-1, 3)
        volume, counts = 0.0, {}
        for etype, _, nodes in zip(*gmsh.model.mesh.getElements(3)):
            n = {4: 4, 5: 8}[int(etype)]
            x = xyz[nodes.astype(int).reshape(-1, n)]
            counts[int(etype)] = x.shape[0]
            if n == 4:
                volume += _tet_volumes(x).sum()
            else:
                volume += sum(_tet_volumes(x[:, list(t)]).sum() for t in _TET_OF_HEX)
        areas = {}
        for dim, group in gmsh.model.getPhysicalGroups(2):
            area = 0.0
            for entity in gmsh.model.getEntitiesForPhysicalGroup(dim, group):
                for etype, _, nodes in zip(*gmsh.model.mesh.getElements(2, entity)):
                    n = {2: 3, 3: 4}[int(etype)]
                    x = xyz[nodes.astype(int).reshape(-1, n)]
                    area += _triangle_areas(x[:, :3]).sum()
                    if n == 4:
                        area += _triangle_areas(x[:, [0, 2, 3]]).sum()
            areas[gmsh.model.getPhysicalName(dim, group)] = area
        names3 = [gmsh.model.getPhysicalName(3, g) for _, g in gmsh.model.getPhysicalGroups(3)]
        assert names3 == ["specimen"]
    finally:
        gmsh.finalize()
    return volume, areas, counts


def test_compact_tension_half_model_has_astm_e399_proportions(tmp_path):
    w, a_w = 0.04, 0.5
    b, r, a = w / 4, 0.125 * w, a_w * w
    volume, areas, counts = _read(specimens.compact_tension(tmp_path / "ct.msh", width=w, a_over_w=a_w))
    assert set(counts) == {4}
    assert set(areas) == {"upper_pin", "ligament", "crack_face"}
    # 1.25 W x 0.6 W x B minus one pin hole of diameter W/4 (polygonal hole: slightly more material)
    exact = (1.25 * w * 0.6 * w - math.pi * r**2) * b
    assert exact < volume < exact * 1.015
    np.testing.assert_allclose(areas["ligament"], (w - a) * b, rtol=1e-9)
    np.testing.assert_allclose(areas["crack_face"], (a + 0.25 * w) * b, rtol=1e-9)
    np.testing.assert_allclose(areas["upper_pin"], 2 * math.pi * r * b, rtol=0.05)


def test_compact_tension_full_model_has_two_pins_and_a_notch(tmp_path):
    w, a_w, nw = 0.04, 0.5, 0.002
    b, r, a = w / 4, 0.125 * w, a_w * w
    volume, areas, _ = _read(
        specimens.compact_tension(tmp_path / "ct.msh", width=w, a_over_w=a_w, half=False, notch_width=nw)
    )
    assert set(areas) == {"upper_pin", "lower_pin"}
    exact = (1.25 * w * 1.2 * w - 2 * math.pi * r**2 - nw * (a + 0.25 * w)) * b
    assert exact < volume < exact * 1.015
    np.testing.assert_allclose(areas["upper_pin"], areas["lower_pin"], rtol=0.02)


def test_dogbone_is_structured_hexahedra_with_grips(tmp_path):
    lg, wg, t, lgrip, wgrip = 8e-3, 3e-3, 3e-3, 2e-3, 5e-3
    volume, areas, counts = _read(
        specimens.dogbone(
            tmp_path / "dog.msh",
            gauge_length=lg,
            gauge_width=wg,
            thickness=t,
            grip_length=lgrip,
            grip_width=wgrip,
            divisions=(3, 3, 8),
        )
    )
    assert set(counts) == {5}
    # gauge 3 x 3 x 8; each grip (5 mm wide at 1 mm elements, 3 layers, 2 mm long) 5 x 3 x 2
    assert counts[5] == 3 * 3 * 8 + 2 * (5 * 3 * 2)
    np.testing.assert_allclose(volume, (lg * wg + 2 * lgrip * wgrip) * t, rtol=1e-9)
    np.testing.assert_allclose(areas["grip_bottom"], wgrip * t, rtol=1e-9)
    np.testing.assert_allclose(areas["grip_top"], wgrip * t, rtol=1e-9)


def test_plate_has_scemas_6x6x1_hexahedra_and_a_central_impact_patch(tmp_path):
    side, t = 6e-3, 1e-3
    volume, areas, counts = _read(specimens.plate(tmp_path / "plate.msh", side=side, thickness=t))
    assert counts == {5: 36}
    np.testing.assert_allclose(volume, side * side * t, rtol=1e-9)
    np.testing.assert_allclose(areas["impact"], (side / 3) ** 2, rtol=1e-9)
    np.testing.assert_allclose(areas["clamp"], 4 * side * t, rtol=1e-9)


def test_unknown_specimen_and_bad_proportions_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown specimen 'ct'"):
        specimens.generate("ct", tmp_path / "x.msh")
    with pytest.raises(ValueError, match="a_over_w"):
        specimens.compact_tension(tmp_path / "x.msh", a_over_w=0.95)
    assert not (tmp_path / "x.msh").exists()


@pytest.mark.workflow
def test_generated_compact_tension_opens_its_crack_under_pin_loading(tmp_path, copper_cache):
    """Through the workflow: the mesh rule, named boundaries on physical groups, one FE step.

    The upper pin moves up, the ligament keeps u_y = 0 (symmetry): the crack face ahead of the
    notch must open (u_y > 0 on y = 0, x < a), and the pin nodes carry exactly the prescribed
    displacement.
    """
    from conftest import run_workflow, seed_materials, small_config

    w, a_w, dy = 0.04, 0.5, 4e-6
    cfg = small_config()
    cfg["specimen"] = {
        "mesh": {
            "type": "generated",
            "generator": "compact_tension",
            "parameters": {"width": w, "a_over_w": a_w, "mesh_size": w / 2},
        },
        "material": "copper",
        "boundaries": {"upper_pin": {"physical_group": "upper_pin"}, "ligament": {"physical_group": "ligament"}},
        "boundary_conditions": [
            {"face": "ligament", "type": "displacement", "increment": [None, 0.0, None]},
            {"face": "upper_pin", "type": "displacement", "increment": [0.0, dy, 0.0]},
        ],
        "reaction_face": "upper_pin",
    }
    seed_materials(tmp_path, copper_cache)
    run_workflow(tmp_path, cfg, "results/step_0001/fe_state.nc")
    assert (tmp_path / "results" / "mesh" / "specimen.msh").is_file()
    with xr.open_dataset(tmp_path / "results" / "step_0001" / "fe_state.nc") as ds:
        x, u = ds["node_coordinates"].values, ds["displacement"].values
    r, yc, a = 0.125 * w, 0.275 * w, a_w * w
    on_pin = np.abs(np.hypot(x[:, 0], x[:, 1] - yc) - r) < 1e-6 * w
    on_y0 = np.abs(x[:, 1]) < 1e-9
    assert on_pin.sum() >= 8
    np.testing.assert_allclose(u[on_pin], np.tile([0.0, dy, 0.0], (on_pin.sum(), 1)), atol=1e-15)
    np.testing.assert_allclose(u[on_y0 & (x[:, 0] > a + 1e-9), 1], 0.0, atol=1e-15)
    crack = on_y0 & (x[:, 0] < a - 1e-9)
    assert crack.sum() >= 2 and np.all(u[crack, 1] > 0.0)
    # the mouth (front edge) opens more than points nearer the crack tip
    mouth = crack & (x[:, 0] < -0.2 * w)
    assert u[mouth, 1].min() > u[crack & (x[:, 0] > 0.25 * w), 1].max()
