"""Bad input: one clear line naming the key or file, before any job runs, nothing touched."""

from __future__ import annotations

import pytest

from conftest import load_default_config, run_workflow

SENTINEL = "results/step_0001/stress.nc"


def _set(cfg, path, value):
    *parents, last = path.split(".")
    node = cfg
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    node[last] = value


def _drop(cfg, path):
    *parents, last = path.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    del node[last]


CASES = [
    # (id, mutation, text that must appear in the error line)
    ("unknown top-level key", lambda c: c.update(optimiser={"x": 1}), "optimiser"),
    ("unknown nested key", lambda c: _set(c, "md.replica_count", 3), "md.replica_count"),
    ("wrong type", lambda c: _set(c, "md.replicas", "two"), "md.replicas"),
    ("zero steps", lambda c: _set(c, "run.steps", 0), "run.steps"),
    ("negative steps", lambda c: _set(c, "run.steps", -3), "run.steps"),
    ("missing steps", lambda c: _drop(c, "run.steps"), "run.steps"),
    ("unknown material", lambda c: _set(c, "specimen.material", "unobtainium"), "specimen.material"),
    (
        "unreadable mesh file",
        lambda c: c["specimen"].update(mesh={"type": "gmsh", "file": "no/such/mesh.msh"}),
        "no/such/mesh.msh",
    ),
    (
        "strain rate out of range",
        lambda c: _set(c, "materials.copper.strain_rate", 1.0e15),
        "materials.copper.strain_rate",
    ),
    ("time step out of range", lambda c: _set(c, "materials.copper.timestep", 1.0e-9), "materials.copper.timestep"),
    ("negative fe time step", lambda c: _set(c, "fe.time_step", -1.0), "fe.time_step"),
    ("zero batches", lambda c: _set(c, "md.batches", 0), "md.batches"),
    (
        "unknown face",
        lambda c: _set(c, "specimen.boundary_conditions.1.face", "top"),
        "specimen.boundary_conditions.1.face",
    ),
    (
        "missing potential file",
        lambda c: _set(c, "materials.copper.variables.potential_file", "/nope/Cu.eam"),
        "/nope/Cu.eam",
    ),
    ("unknown unit style", lambda c: _set(c, "materials.copper.units", "lj"), "materials.copper.units"),
    ("exponent read as text", lambda c: _set(c, "materials.copper.strain_rate", "1.0e10"), "1.0e+10"),
    (
        "reaction on a boundary without condition",
        lambda c: _set(c, "specimen.reaction_face", "xmax"),
        "specimen.reaction_face",
    ),
    ("committee of one member", lambda c: _set(c, "committee.size", 1), "committee.size"),
    (
        "negative stress accuracy",
        lambda c: _set(c, "committee.stress_accuracy_mpa", -30.0),
        "committee.stress_accuracy_mpa",
    ),
    ("negative clustering alpha", lambda c: _set(c, "clustering.alpha", -1e-3), "clustering.alpha"),
    ("no replicas", lambda c: _set(c, "md.replicas", 0), "md.replicas"),
    (
        "region of an undefined material",
        lambda c: _set(c, "specimen.regions", [{"material": "glass", "box": [[0, 0, 0], [1, 1, 1]]}]),
        "specimen.regions.0.material",
    ),
    (
        "unknown generator parameter",
        lambda c: c["specimen"].update(
            mesh={"type": "generated", "generator": "compact_tension", "parameters": {"crack": 0.5}}
        ),
        "specimen.mesh.parameters.crack",
    ),
    (
        "unknown specimen generator",
        lambda c: c["specimen"].update(mesh={"type": "generated", "generator": "ct"}),
        "specimen.mesh.generator",
    ),
    (
        "physical group on a box mesh",
        lambda c: _set(c, "specimen.boundaries", {"pin": {"physical_group": "upper_pin"}}),
        "specimen.boundaries.pin.physical_group",
    ),
    (
        "boundary named like a face",
        lambda c: _set(c, "specimen.boundaries", {"zmax": {"box": [[0, 0, 0], [1, 1, 1]]}}),
        "specimen.boundaries.zmax",
    ),
    (
        "two selectors in one boundary",
        lambda c: _set(c, "specimen.boundaries", {"pin": {"box": [[0, 0, 0], [1, 1, 1]], "physical_group": "a"}}),
        "specimen.boundaries.pin",
    ),
    (
        "cylinder without direction",
        lambda c: _set(
            c, "specimen.boundaries", {"pin": {"cylinder": {"point": [0, 0, 0], "axis": [0, 0, 0], "radius": 1e-4}}}
        ),
        "specimen.boundaries.pin.cylinder.axis",
    ),
    (
        "petsc option of the wrong type",
        lambda c: _set(c, "fe.petsc_options", {"iterative": {"ksp_rtol": "tight"}}),
        "fe.petsc_options.iterative.ksp_rtol",
    ),
]


@pytest.mark.workflow
@pytest.mark.parametrize("name,mutate,needle", CASES, ids=[c[0] for c in CASES])
def test_bad_config_is_refused_before_any_job(tmp_path, name, mutate, needle):
    cfg = load_default_config()
    mutate(cfg)
    sentinel = tmp_path / SENTINEL
    sentinel.parent.mkdir(parents=True)
    sentinel.write_bytes(b"computed earlier")
    proc = run_workflow(tmp_path, cfg, check=False)
    assert proc.returncode != 0
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("config error")]
    assert len(error_lines) == 1, proc.stderr
    assert needle in error_lines[0]
    # nothing ran and nothing earlier was touched
    assert sentinel.read_bytes() == b"computed earlier"
    assert not (tmp_path / "logs").exists()
    assert not (tmp_path / "results" / "materials").exists()


@pytest.mark.workflow
def test_unstable_explicit_time_step_is_refused_before_any_job(tmp_path):
    """The CFL limit is known before material_init: the box's shortest edge (0.5 mm) over the
    declared wave-speed bound fe.max_wave_speed (8000 m/s) gives 6.25e-8 s."""
    test_bad_config_is_refused_before_any_job(
        tmp_path,
        "unstable explicit time step",
        lambda c: c["fe"].update(integrator="explicit_dynamic", time_step=1.0e-6),
        "'fe.time_step': 1.000e-06 s exceeds the stable explicit limit 6.250e-08 s",
    )
