"""Bad input: one clear line naming the key or file, before any job runs, nothing touched."""

from __future__ import annotations

import subprocess

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
    (
        "sampling window not a multiple of the stride",
        lambda c: _set(c, "materials.copper.sampling_steps", 302),
        "'materials.copper.sampling_steps': sampling_steps (302) must be a multiple of sampling_stride (5)",
    ),
    (
        "deform stride longer than the shortest ramp",
        lambda c: _set(c, "materials.copper.deform_stride", 30),
        "'materials.copper.deform_stride': deform_stride (30) must not exceed min_deform_steps (25)",
    ),
    # the rules of MaterialSpec.validate, which the material job ran only after submission before
    (
        "rest updates that leave rest states out",
        lambda c: c["materials"]["copper"].update(
            reference_estimator="rest_updates", reference_updates=6, rest_states=4
        ),
        "'materials.copper.reference_updates': reference_updates (6) must be a multiple of rest_states (4)",
    ),
    (
        "equilibration shorter than five damping times",
        lambda c: _set(c, "materials.copper.equilibration_steps", 1000),
        "'materials.copper.equilibration_steps': equilibration_steps (1000) must be at least 5 x the "
        "barostat/thermostat damping (5000 steps)",
    ),
    (
        "melt shorter than five damping times",
        lambda c: _set(c, "materials.copper.preparation", {"melt_temperature": 2000.0, "melt_steps": 1000}),
        "'materials.copper.preparation.melt_steps': preparation.melt_steps (1000) must be at least 5 x",
    ),
    (
        "quench faster than five damping times",
        lambda c: _set(c, "materials.copper.preparation", {"melt_temperature": 2000.0, "quench_rate": 1.0e16}),
        "'materials.copper.preparation.quench_rate': preparation.quench_rate is too fast",
    ),
    (
        "anneal below the run temperature",
        lambda c: _set(
            c,
            "materials.copper.preparation",
            {"melt_temperature": 2000.0, "anneal_temperature": 250.0, "anneal_steps": 20000},
        ),
        "'materials.copper.preparation.anneal_temperature': preparation.anneal_temperature (250.0 K) must lie",
    ),
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
    assert_refused_before_any_job(tmp_path, cfg, needle)


@pytest.mark.workflow
def test_dry_run_of_a_bad_material_rule_names_the_key_and_plans_no_job(tmp_path):
    """A rule only MaterialSpec.validate knows (equilibration vs damping) stops ``snakemake -n``
    at parse time: the one config error line and no job table (nothing planned, so nothing submitted)."""
    cfg = load_default_config()
    cfg["materials"]["copper"]["equilibration_steps"] = 1000
    line = assert_refused_before_any_job(tmp_path, cfg, "'materials.copper.equilibration_steps'", "-n")
    assert line.startswith("config error: 'materials.copper.equilibration_steps': equilibration_steps (1000)"), line


def assert_refused_before_any_job(tmp_path, cfg, needle, *args):
    sentinel = tmp_path / SENTINEL
    sentinel.parent.mkdir(parents=True)
    sentinel.write_bytes(b"computed earlier")
    proc = run_workflow(tmp_path, cfg, *args, check=False)
    assert proc.returncode != 0
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("config error")]
    assert len(error_lines) == 1, proc.stderr
    assert needle in error_lines[0], error_lines[0]
    # nothing ran and nothing earlier was touched
    assert sentinel.read_bytes() == b"computed earlier"
    assert not (tmp_path / "logs").exists()
    assert not (tmp_path / "results" / "materials").exists()
    assert "Job stats" not in proc.stdout + proc.stderr  # no job was planned
    return error_lines[0]


def _gmsh_file(path, volume: bool, groups: dict[str, int] | None = None) -> str:
    """A unit-millimetre square (volume=False) or cube meshed by gmsh, with 2D physical groups
    {name: surface tag}."""
    import gmsh

    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        if volume:
            gmsh.model.occ.addBox(0, 0, 0, 1e-3, 1e-3, 1e-3)
        else:
            gmsh.model.occ.addRectangle(0, 0, 0, 1e-3, 1e-3)
        gmsh.model.occ.synchronize()
        for name, tag in (groups or {}).items():
            gmsh.model.setPhysicalName(2, gmsh.model.addPhysicalGroup(2, [tag]), name)
        if volume and groups:  # gmsh then writes only the elements of physical groups: the cube needs one
            gmsh.model.addPhysicalGroup(3, [1])
        gmsh.model.mesh.generate(3 if volume else 2)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()
    return str(path)


def _gmsh_specimen(cfg, path, boundaries=None):
    cfg["specimen"]["mesh"] = {"type": "gmsh", "file": path}
    if boundaries:
        cfg["specimen"]["boundaries"] = boundaries


FILE_CASES = [
    # (id, mutation given the config and a scratch directory, text that must appear in the error line)
    (
        "structure template that does not exist",
        lambda c, d: _set(c, "materials.copper.structure", str(d / "missing.lmp")),
        "materials.copper.structure",
    ),
    (
        "gmsh file without volumes",
        lambda c, d: _gmsh_specimen(c, _gmsh_file(d / "square.msh", volume=False)),
        "has no volumes",
    ),
    (
        "boundary on a physical group the gmsh file lacks",
        lambda c, d: _gmsh_specimen(
            c,
            _gmsh_file(d / "cube.msh", volume=True, groups={"bottom": 5, "top": 6}),
            {"pin": {"physical_group": "upper_pin"}},
        ),
        "specimen.boundaries.pin.physical_group",
    ),
    (
        "region outside the specimen",
        lambda c, d: _set(c, "specimen.regions", [{"material": "copper", "box": [[0, 0, 5e-3], [1e-3, 1e-3, 6e-3]]}]),
        "specimen.regions.0.box",
    ),
    (  # wrong nesting: a key under the wrong section, a section one level too deep, a section as a list
        "key under the wrong section",
        lambda c, d: _set(c, "run.replicas", 2),
        "run.replicas",
    ),
    ("section nested one level too deep", lambda c, d: c["specimen"].update(fe=c.pop("fe")), "specimen.fe"),
    ("section written as a list", lambda c, d: c.update(md=[{"replicas": 2}]), "'md'"),
]


@pytest.mark.workflow
@pytest.mark.parametrize("name,mutate,needle", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_file_or_nesting_is_refused_before_any_job(tmp_path, name, mutate, needle):
    scratch = tmp_path / "inputs"
    scratch.mkdir()
    cfg = load_default_config()
    mutate(cfg, scratch)
    assert_refused_before_any_job(tmp_path / "run", cfg, needle)


@pytest.mark.workflow
def test_yaml_syntax_error_names_the_file_and_the_line(tmp_path):
    """The workflow's own config file (config/config.yaml in the run directory), as a user edits it."""
    from conftest import DEFAULT_CONFIG, REPO, SNAKEMAKE

    broken = DEFAULT_CONFIG.read_text().splitlines()
    line = next(i for i, text in enumerate(broken) if text.strip().startswith("steps:"))
    broken[line] = "  steps: [5"  # an unclosed flow sequence
    (tmp_path / "config").mkdir()
    (tmp_path / "config/config.yaml").write_text("\n".join(broken) + "\n")
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path), "--cores", "1"]
    proc = subprocess.run(command, capture_output=True, text=True)  # no --configfile: the directive's file
    assert proc.returncode != 0
    error_lines = [text for text in proc.stderr.splitlines() if text.startswith("config error")]
    assert len(error_lines) == 1, proc.stderr
    assert "'config/config.yaml'" in error_lines[0] and f"from line {line + 1})" in error_lines[0], error_lines[0]
    assert not (tmp_path / "logs").exists() and not (tmp_path / "results").exists()


@pytest.mark.workflow
def test_template_whose_lammps_commands_fail_names_the_lammps_error(tmp_path):
    """Debian's LAMMPS ends the process on an ERROR; each material_replica job must fail with that ERROR's text."""
    from conftest import small_config

    forcefield = tmp_path / "broken_forcefield.lmp"
    forcefield.write_text("pair_style      no_such_style\n")
    cfg = small_config()
    cfg["materials"]["copper"]["forcefield"] = str(forcefield)
    for unused in ("pair_style", "element", "mass"):  # the broken template uses none of them
        del cfg["materials"]["copper"]["variables"][unused]
    proc = run_workflow(tmp_path / "run", cfg, "results/materials/copper/material.nc", check=False)
    assert proc.returncode != 0
    # one job per replica: each that ran fails with one line naming its replica (Snakemake may
    # show it again with the failed log)
    prefix = "material_replica (material copper, replica "
    named = sorted({text for text in proc.stderr.splitlines() if text.startswith(prefix)})
    assert named, proc.stderr[-3000:]
    for line in named:
        replica = int(line.removeprefix(prefix).split(")")[0])
        assert "ERROR" in line and "no_such_style" in line, line
        assert line in (tmp_path / f"run/logs/material_replica/copper_replica_{replica}.log").read_text()
    assert not (tmp_path / "run/results/materials/copper/material.nc").exists()


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
