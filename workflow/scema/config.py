"""Config validation: the JSON schema plus the checks a schema cannot express.

Runs when the Snakefile is parsed, i.e. before any job is submitted, and turns every problem
into one line that names the offending key or file.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import numpy as np

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config problem, phrased as one line naming the key or file."""


def load_schema(path: Path = SCHEMA_PATH) -> dict:
    """The schema as a dict. libyaml's loader when PyYAML has it (the pure-Python one took 35 ms
    of every Snakemake start on the 770-line schema; the same dict, see tests/test_thin_imports.py)."""
    import yaml

    with open(path) as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _fill_defaults(instance, schema: dict) -> None:
    """Insert schema defaults for missing keys (objects only, recursively)."""
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub and sub.get("type") == "object":
            instance[key] = copy.deepcopy(sub["default"])
        elif key not in instance and "default" in sub and key not in schema.get("required", []):
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub)
            if sub.get("type") == "array" and isinstance(instance[key], list):
                for item in instance[key]:
                    _fill_defaults(item, sub.get("items", {}))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra)


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _format(error) -> str:
    if "propertyNames" in error.schema_path:
        return _format_name(error)
    if error.validator in ("oneOf", "anyOf"):
        return _format_alternatives(error)
    if error.validator == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in known)
        where = _key(error.absolute_path)
        keys = ", ".join(f"'{_key(list(error.absolute_path) + [k])}'" for k in unknown)
        return f"config error: unknown key {keys} (not in the schema{'' if where == '<top level>' else ' of ' + where})"
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return f"config error: '{_key(list(error.absolute_path) + [missing])}' is required"
    hint = ""
    if error.validator == "type" and isinstance(error.instance, str) and _looks_numeric(error.instance):
        hint = " (YAML reads 1.0e10 as text: write 1.0e+10)"
    return f"config error: '{_key(error.absolute_path)}': {error.message}{hint}"


def _format_name(error) -> str:
    """A mapping key the schema's ``propertyNames`` refuses, named as the key it would be."""
    key = _key(list(error.absolute_path) + [error.instance])
    return f"config error: '{key}': invalid name: {error.schema.get('description') or error.message}"


def _format_alternatives(error) -> str:
    """A oneOf/anyOf failure as the one branch the user meant: the branch whose distinguishing
    key (a ``required`` key of that branch) the instance has gives its own, deeper error; with
    no such key, or several under oneOf, the accepted forms' keys are listed."""
    forms = [tuple(branch.get("required", ())) for branch in error.schema[error.validator]]
    where = f"config error: '{_key(error.absolute_path)}'"
    if not isinstance(error.instance, dict) or not all(forms):
        return f"{where}: {error.message}"
    keys = ", ".join(" + ".join(form) for form in forms)
    chosen = [i for i, form in enumerate(forms) if any(k in error.instance for k in form)]
    has = ", ".join(sorted(map(str, error.instance))) or "nothing"
    if not chosen:
        return f"{where} must have one of {keys} (it has {has})"
    if len(chosen) > 1 and error.validator == "oneOf":
        return f"{where} must have exactly one of {keys} (it has {has})"
    branch = [e for e in error.context if e.schema_path and e.schema_path[0] == chosen[0]]
    if not branch:
        return f"{where}: {error.message}"
    return _format(max(branch, key=lambda e: len(e.absolute_path)))


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def validate_config(config: dict, search_dirs: list[str | os.PathLike] | None = None, mesh_checks: bool = True) -> dict:
    """Validate against the schema, fill defaults, run semantic checks; returns the filled config.

    Relative file paths are looked up in ``search_dirs`` in order (the run directory first,
    then the workflow's own directory, which ships the default templates) and made absolute.
    ``mesh_checks=False``: the specimen's mesh is not read, generated or searched (regions,
    boundaries): for a cluster job's own parse of the Snakefile, after the main process checked
    it (seconds for a 400,000-cell mesh, in every job otherwise).
    """
    config = copy.deepcopy(config) if config is not None else {}
    if not isinstance(config, dict):
        raise ConfigError("config error: the config file must be a YAML mapping")
    from jsonschema import Draft202012Validator  # here: the stages import this module for its helpers

    schema = load_schema()
    _fill_defaults(config, schema)
    errors = sorted(Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(_format(errors[0]))
    config = _numbers_as_floats(config, schema, Draft202012Validator)
    _check_semantics(config, [Path(d) for d in (search_dirs or ["."])], mesh_checks)
    return config


def _resolve(value: str, bases: list[Path]) -> Path:
    path = Path(value)
    if path.is_absolute():
        return path
    for base in bases:
        if (base / path).exists():
            return (base / path).resolve()
    return (bases[0] / path).resolve()


def _readable(path: Path, key: str) -> None:
    if not path.is_file():
        raise ConfigError(f"config error: '{key}': file '{path}' does not exist")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"config error: '{key}': file '{path}' is not readable")


def _check_semantics(config: dict, bases: list[Path], mesh_checks: bool = True) -> None:
    materials = config["materials"]
    specimen = config["specimen"]
    if specimen["material"] not in materials:
        raise ConfigError(
            f"config error: 'specimen.material': unknown material '{specimen['material']}' "
            f"(defined: {', '.join(sorted(materials))})"
        )
    for i, region in enumerate(specimen.get("regions", [])):
        if region["material"] not in materials:
            raise ConfigError(f"config error: 'specimen.regions.{i}.material': unknown material '{region['material']}'")
    mesh, view = specimen["mesh"], None
    if mesh["type"] == "generated":
        _check_generator(mesh)
        view = _generated_view(mesh, specimen.get("boundaries", {})) if mesh_checks else None
        mesh["file"] = GENERATED_MESH
    if mesh["type"] == "gmsh":
        if not mesh.get("file"):
            raise ConfigError("config error: 'specimen.mesh.file' is required when specimen.mesh.type is gmsh")
        mesh["file"] = str(_resolve(mesh["file"], bases))
        _check_gmsh_file(Path(mesh["file"]))
        view = _gmsh_file_view(Path(mesh["file"]), specimen.get("boundaries", {})) if mesh_checks else None
    elif mesh["type"] == "box" and mesh_checks:
        view = _box_view(mesh)
    _check_boundaries(specimen)
    if view is not None:
        _check_regions_claim(specimen.get("regions", []), view)
        _check_boundaries_select(specimen, view)
        if config["fe"]["integrator"] == "quasistatic":  # explicit dynamics: inertia holds a rigid motion
            _check_rigid_modes(specimen, view)
    _check_petsc_option_names(config["fe"]["petsc_options"])
    for name, material in materials.items():
        for key in ("structure", "forcefield"):
            material[key] = str(_resolve(material[key], bases))
            _readable(Path(material[key]), f"materials.{name}.{key}")
        for var, value in material.get("variables", {}).items():
            if var.endswith("_file"):
                material["variables"][var] = str(_resolve(str(value), bases))
                _readable(Path(material["variables"][var]), f"materials.{name}.variables.{var}")
        _check_template_variables(name, material, bases, zero_kelvin=uses_zero_kelvin_law(config, name))
        _check_material(name, material)


def _check_template_variables(name: str, material: dict, bases: list[Path], zero_kelvin: bool = False) -> None:
    """Every ``${name}``/``$x`` of the two templates (and what they include) is set: by
    ``variables``, by scema for a build (structure template only), or by a ``variable`` line
    before it. A variable no template reads is a typo: refused, but a ``*_file`` one, which
    also makes the file an input of the material jobs, only warned about. ``zero_kelvin``: the
    material's 0 K law builds the perfect lattice too, with no seed and no builder."""
    import difflib

    from scema.md.templates import BUILD_VARIABLES, BUILDER_VARIABLES, TemplateError, scan

    key = f"materials.{name}.variables"
    given = dict(material.get("variables", {}))
    built = set(BUILD_VARIABLES) | (set(BUILDER_VARIABLES) if material.get("builder") else set())
    try:
        structure = scan(Path(material["structure"]), set(given) | built, given, bases)
        forcefield = scan(Path(material["forcefield"]), set(given), given, bases)
    except (TemplateError, OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config error: 'materials.{name}': {error}") from None
    unused = sorted(set(given) - structure.used - forcefield.used)
    for path, var in structure.missing + forcefield.missing:
        why = "which is not set"
        if var in BUILDER_VARIABLES:
            why += " (scema sets it only for a material with a `builder`)"
        elif var in BUILD_VARIABLES:
            why += " (scema sets it only while building the structure; the force field is also read after a restore)"
        elif difflib.get_close_matches(var, unused, n=1):
            why += f" ({key} has {difflib.get_close_matches(var, unused, n=1)[0]}, which no template uses)"
        raise ConfigError(f"config error: '{key}': {path} uses ${{{var}}}, {why}")
    if zero_kelvin:
        seeded = sorted({var for _, var in scan(Path(material["structure"]), set(given), given, bases).missing})
        if seeded:
            raise ConfigError(
                f"config error: 'committee.zero_kelvin_law': the structure template of material {name} uses "
                f"${{{seeded[0]}}}, but the 0 K law (a cubic material under the measured prior) builds one perfect "
                f"lattice, without a structure seed or builder: set committee.zero_kelvin_law to false, or "
                f"materials.{name}.stiffness_symmetry to what the material is"
            )
    for var in unused:
        where = f"no template uses it ({material['structure']}, {material['forcefield']})"
        if not var.endswith("_file"):
            raise ConfigError(f"config error: '{key}.{var}': {where}")
        print(f"config warning: '{key}.{var}': {where}; still an input of the material jobs", file=sys.stderr)


def _check_petsc_option_names(options: dict) -> None:
    """Names as the schema says, without PETSc's leading dash: PETSc would read '--ksp_max_it'
    and silently ignore it. (Unknown names need PETSc itself, ~0.45 s to import at every parse:
    the FE job refuses them, scema.fe.dolfinx_backend.)"""
    for solver, entries in options.items():
        for name in entries:
            if name.startswith("-"):
                raise ConfigError(
                    f"config error: 'fe.petsc_options.{solver}.{name}': write PETSc option names without the "
                    f"leading dash ({name.lstrip('-')})"
                )


def _check_material(name: str, material: dict) -> None:
    """The material's own rules (``MaterialSpec.validate``, their one place), here at parse time
    rather than inside the material job: a light import (no LAMMPS, no numpy)."""
    from scema.md.material import MaterialError, MaterialSpec

    try:
        MaterialSpec.from_config(name, material)
    except MaterialError as error:
        raise ConfigError(f"config error: 'materials.{name}.{error.key}': {error.reason}") from None


def _check_boundaries(specimen: dict) -> None:
    """Every condition and the reaction name a face or a defined boundary; selectors make sense."""
    from scema.fe.boundary import FACE_NAMES

    named = specimen.get("boundaries", {})
    for name, selector in named.items():
        if name in FACE_NAMES:
            raise ConfigError(f"config error: 'specimen.boundaries.{name}': '{name}' is a bounding-box face name")
        if "physical_group" in selector and specimen["mesh"]["type"] == "box":
            raise ConfigError(
                f"config error: 'specimen.boundaries.{name}.physical_group': physical groups need specimen.mesh.type "
                "gmsh or generated"
            )
        if "cylinder" in selector and not any(selector["cylinder"]["axis"]):
            raise ConfigError(f"config error: 'specimen.boundaries.{name}.cylinder.axis': the axis is the zero vector")
    known = f"faces {', '.join(FACE_NAMES)}" + (f"; boundaries {', '.join(named)}" if named else "")
    faces = set()
    for i, bc in enumerate(specimen["boundary_conditions"]):
        if bc["face"] not in FACE_NAMES and bc["face"] not in named:
            raise ConfigError(
                f"config error: 'specimen.boundary_conditions.{i}.face': unknown boundary '{bc['face']}' ({known})"
            )
        faces.add(bc["face"])
        if bc["type"] == "displacement" and all(v is None for v in bc["increment"]):
            raise ConfigError(
                f"config error: 'specimen.boundary_conditions.{i}.increment': type displacement needs at least one "
                "non-null component"
            )
    if specimen["reaction_face"] not in faces:
        raise ConfigError(
            f"config error: 'specimen.reaction_face': boundary '{specimen['reaction_face']}' has no boundary condition"
        )


GENERATED_MESH = "results/mesh/specimen.msh"


def _check_generator(mesh: dict) -> None:
    """Every generator parameter must be one the generator takes (named in the error)."""
    import inspect

    from scema.specimens import GENERATORS

    accepted = set(inspect.signature(GENERATORS[mesh["generator"]]).parameters) - {"path"}
    for key in mesh["parameters"]:
        if key not in accepted:
            raise ConfigError(
                f"config error: 'specimen.mesh.parameters.{key}': not a parameter of the {mesh['generator']} "
                f"generator (it takes {', '.join(sorted(accepted))})"
            )


def _check_gmsh_file(path: Path) -> None:
    _readable(path, "specimen.mesh.file")
    with open(path, "rb") as fh:
        head = fh.read(64)
    if not head.lstrip().startswith(b"$MeshFormat"):
        raise ConfigError(f"config error: 'specimen.mesh.file': '{path}' is not a gmsh .msh file")


def material_names(config: dict) -> list[str]:
    """Materials in config order; a material's index in files is its position here."""
    return list(config["materials"])


def uses_zero_kelvin_law(config: dict, name: str) -> bool:
    """Material ``name``'s committee prior has the perfect lattice's 0 K second-order law as its
    mean (rule material_zero_kelvin): a cubic crystal, ridge members learning the deviation from
    C eps under the measured prior. One rule for the workflow and the config check."""
    committee = config["committee"]
    return bool(
        committee["enabled"]
        and committee["zero_kelvin_law"]
        and uses_measured_prior(committee)
        and config["materials"][name]["stiffness_symmetry"] == "cubic"
    )


def uses_measured_prior(committee: dict) -> bool:
    """``committee.measured_prior`` applies: ridge members learning the deviation from C eps, whose
    intercept is the reference's error and whose elastic slope is C's (``measured_prior``). One
    rule for the workflow (what committee_start and material_zero_kelvin need) and the stages."""
    return (
        bool(committee["measured_prior"])
        and committee["architecture"] == "ridge"
        and committee["target"] == "deviation"
    )


def used_materials(config: dict) -> list[str]:
    """Materials some cell of the specimen uses (only those need initialising)."""
    used = {config["specimen"]["material"]} | {r["material"] for r in config["specimen"].get("regions", [])}
    return [m for m in material_names(config) if m in used]


def _check_gmsh_content(mesh, key: str, where: str, boundaries: dict):
    """The mesh (a ``GmshMesh``) has 3D cells in a 3D physical group and every physical group a
    boundary names; returns what the FE model will see of it (a ``MeshView``)."""
    from scema.mesh_view import gmsh_view

    groups = mesh.surface_groups
    if not mesh.has_volumes:
        raise ConfigError(f"config error: '{key}': {where} has no volumes (the FE model needs a 3D mesh)")
    _check_gmsh_volume(mesh, key, where)
    for name, selector in boundaries.items():
        if "physical_group" in selector and selector["physical_group"] not in groups:
            raise ConfigError(
                f"config error: 'specimen.boundaries.{name}.physical_group': no 2D physical group "
                f"'{selector['physical_group']}' in {where} (it has: {', '.join(groups) or 'none'})"
            )
    return gmsh_view(mesh.cells, mesh.cell_nodes)


def _check_regions_inside(regions: list[dict], bounds: tuple[np.ndarray, np.ndarray]) -> None:
    """A region box that does not overlap the specimen claims no cell: a typo, not a choice."""
    lo, hi = bounds
    for i, region in enumerate(regions):
        r_lo, r_hi = np.asarray(region["box"], dtype=float)
        if np.any(r_lo >= hi) or np.any(r_hi <= lo):
            raise ConfigError(
                f"config error: 'specimen.regions.{i}.box': {region['box']} lies outside the specimen "
                f"({lo.tolist()} to {hi.tolist()} m)"
            )


def _numbers_as_floats(instance, schema: dict, validator_class):
    """Every value the schema types as a number (alone or with null) becomes a float, so that
    ``temperature: 300`` and the default ``300.0`` give the same params: Snakemake compares params
    by their repr, and 300 != 300.0 there would rerun the material and everything after it.
    Unions with integer or string (LAMMPS variables, PETSc options) keep what the user wrote."""
    types = schema.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    if types - {"null"} == {"number"} and isinstance(instance, int) and not isinstance(instance, bool):
        return float(instance)
    if isinstance(instance, dict):
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for key, value in instance.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                instance[key] = _numbers_as_floats(value, sub, validator_class)
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        instance[:] = [_numbers_as_floats(item, schema["items"], validator_class) for item in instance]
    for sub in schema.get("allOf", []):
        instance = _numbers_as_floats(instance, sub, validator_class)
    for keyword in ("oneOf", "anyOf"):  # the branch the value matched (validated already)
        matched = [sub for sub in schema.get(keyword, []) if validator_class(sub).is_valid(instance)]
        if matched:
            instance = _numbers_as_floats(instance, matched[0], validator_class)
    return instance


# ---------------------------------------------------------------- the mesh as the FE model sees it
def _box_view(mesh: dict):
    from scema.mesh_view import box_view

    return box_view(mesh["size"], mesh["divisions"], mesh["cell"])


def _gmsh_file_view(path: Path, boundaries: dict):
    from scema.gmsh_file import read_gmsh

    return _check_gmsh_content(read_gmsh(path), "specimen.mesh.file", f"'{path}'", boundaries)


def _generated_view(mesh: dict, boundaries: dict):
    """Generate the specimen now (into a temporary directory, cached per process) and check it
    as a gmsh file: a generator's refusal names its parameter instead of failing specimen_mesh."""
    from scema.gmsh_file import read_generated
    from scema.specimens import ParameterError

    generator = mesh["generator"]
    try:
        generated = read_generated(generator, dict(mesh["parameters"]))
    except ParameterError as error:
        raise ConfigError(f"config error: 'specimen.mesh.parameters.{error.key}': {error}") from None
    except Exception as error:  # gmsh raises plain Exception
        raise ConfigError(
            f"config error: 'specimen.mesh.parameters': the {generator} generator failed: {error}"
        ) from None
    return _check_gmsh_content(generated, "specimen.mesh.generator", f"the generated {generator} mesh", boundaries)


def _check_gmsh_volume(mesh, key: str, where: str) -> None:
    """dolfinx builds its cells from the 3D physical groups only; gmsh, once any physical group is
    defined, writes only the elements of physical groups: surface groups alone leave no cells."""
    if not mesh.volume_groups:
        raise ConfigError(
            f"config error: '{key}': {where} has no 3D physical group{'' if mesh.cells else ' and no 3D cells'} "
            "(the FE model reads the cells of 3D physical groups, and gmsh writes only the elements of physical "
            "groups once any is defined: add one for the volume, e.g. gmsh.model.addPhysicalGroup(3, volume_tags))"
        )
    if not mesh.cells:
        raise ConfigError(f"config error: '{key}': {where} has no linear 3D cells (tetrahedra or hexahedra)")
    grouped = sum(len(c) for c in mesh.cells)
    if mesh.all_cells > grouped:
        raise ConfigError(
            f"config error: '{key}': {where} has {mesh.all_cells - grouped} of its {mesh.all_cells} 3D cells in no 3D "
            "physical group (dolfinx 0.5.2's gmsh reader crashes on them: put every volume in a physical group, or "
            "write the file without Mesh.SaveAll)"
        )


def _check_rigid_modes(specimen: dict, view) -> None:
    """The conditions hold all six rigid-body motions (``scema.mesh_view.free_rigid_modes``): two
    rollers alone, say, leave the quasistatic system singular, and LU then adds an arbitrary rigid
    motion to every displacement (measured: |u_x| 1.7e-6 m where Poisson gives 3e-7) while an
    iterative solve fails to converge, blaming the solver. Conditions on a physical group are not
    seen here (their facets are the group's): then nothing is checked."""
    from scema.mesh_view import free_rigid_modes, selected_points

    named = specimen.get("boundaries", {})
    constraints = []
    for bc in specimen["boundary_conditions"]:
        points = selected_points(bc["face"], named, view)
        if points is None:
            return
        prescribed = [0, 1, 2] if bc["type"] == "fixed" else [k for k, v in enumerate(bc["increment"]) if v is not None]
        constraints.append((points, prescribed))
    free = free_rigid_modes(constraints, view)
    if free:
        raise ConfigError(
            f"config error: 'specimen.boundary_conditions': the prescribed components leave rigid-body motion "
            f"free ({', '.join(free)}), so the quasistatic FE system is singular: prescribe those components on "
            "some boundary (e.g. a fixed face, or the normal component on symmetry planes)"
        )


def _check_regions_claim(regions: list[dict], view) -> None:
    """Every region is a proper box inside the specimen that claims at least one cell, by the
    rule that assigns the materials (``scema.mesh_view.cell_regions``: midpoint in box, first
    match wins)."""
    from scema.mesh_view import cell_regions

    for i, region in enumerate(regions):
        lo, hi = np.asarray(region["box"], dtype=float)
        flat = [axis for axis, a, b in zip("xyz", lo, hi) if not a < b]
        if flat:
            raise ConfigError(
                f"config error: 'specimen.regions.{i}.box': the first corner must lie below the second in x, y and z "
                f"(not in {', '.join(flat)}: {region['box']})"
            )
    _check_regions_inside(regions, (view.lower, view.upper))
    claims = np.bincount(cell_regions(regions, view.midpoints) + 1, minlength=len(regions) + 1)[1:]
    for i in np.flatnonzero(claims == 0):
        holds = bool(np.any(cell_regions([regions[i]], view.midpoints) >= 0))
        reason = (
            "every cell whose midpoint it holds is claimed by an earlier region (first match wins)"
            if holds
            else "it holds no cell midpoint (a cell takes a region's material when its midpoint lies in the box)"
        )
        raise ConfigError(f"config error: 'specimen.regions.{i}.box': {regions[i]['box']} claims no cell: {reason}")


def _check_boundaries_select(specimen: dict, view) -> None:
    """Every named boundary and every face a condition names selects a boundary facet, by the
    FE model's rule (``scema.mesh_view.selected_facets``); physical groups were checked by name."""
    from scema.mesh_view import selected_facets

    named = specimen.get("boundaries", {})
    keys = {name: f"specimen.boundaries.{name}" for name in named}
    for i, bc in enumerate(specimen["boundary_conditions"]):
        keys.setdefault(bc["face"], f"specimen.boundary_conditions.{i}.face")
    for name, key in keys.items():
        if selected_facets(name, named, view) == 0:
            raise ConfigError(
                f"config error: '{key}': boundary '{name}' selects no boundary facet of the specimen (a facet "
                f"counts when all its vertices lie on the boundary; the specimen spans {view.lower.tolist()} to "
                f"{view.upper.tolist()} m)"
            )
