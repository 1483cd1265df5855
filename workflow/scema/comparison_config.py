"""Configs of a comparison's modes: the base run config with each mode's overlay merged in.

Why here and not in the rules: every mode's config is validated against the run schema when
the comparison workflow is parsed, so a bad overlay stops everything before the first job,
with the mode named.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from scema.comparison import BAND, REFERENCE
from scema.config import ConfigError, _fill_defaults, _format, validate_config
from scema.yaml_file import YAMLFileError, load_mapping

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "comparison.schema.yaml"


class ComparisonError(ValueError):
    """A comparison config problem, one line naming the key, mode or file."""


def merge(base: dict, overlay: dict) -> dict:
    """``base`` with ``overlay`` merged in: nested mappings merge, any other value replaces."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve(path: str, search_dirs: list[Path]) -> Path:
    for base in search_dirs:
        if (base / path).is_file():
            return (base / path).resolve()
    raise ComparisonError(f"comparison error: 'comparison.base': file '{path}' does not exist")


def validated_against(config: dict, schema_path: Path, kind: str, error: type[ValueError]) -> dict:
    """A copy of ``config`` with its schema's defaults filled in; the first schema error raises
    ``error`` with one line that names the key (``kind error: 'key': ...``)."""
    config = copy.deepcopy(config)
    with open(schema_path) as fh:
        schema = yaml.safe_load(fh)
    _fill_defaults(config, schema)
    errors = sorted(Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise error(_format(errors[0]).replace("config error", f"{kind} error"))
    return config


def load_base(path: Path, key: str, kind: str, error: type[ValueError]) -> dict:
    """The base run config file's mapping; a syntax error, an empty file or a list raises ``error``
    naming ``key`` and the file (``kind error: 'key': 'file' is not a YAML mapping ...``)."""
    try:
        return load_mapping(path)
    except YAMLFileError as problem:
        raise error(f"{kind} error: '{key}': {problem}") from None


def _absolute_paths(raw, validated):
    """``raw`` with every string that validate_config resolved to an absolute path (structure,
    forcefield, ``*_file`` variables, a gmsh mesh) replaced by that path; all else as written."""
    if isinstance(raw, dict) and isinstance(validated, dict):
        return {key: _absolute_paths(value, validated.get(key)) for key, value in raw.items()}
    if isinstance(raw, list) and isinstance(validated, list) and len(raw) == len(validated):
        return [_absolute_paths(a, b) for a, b in zip(raw, validated)]
    if isinstance(raw, str) and isinstance(validated, str) and validated != raw and Path(validated).is_absolute():
        return validated
    return copy.deepcopy(raw)


def checked_run_config(config: dict, search_dirs: list[Path], run_dir: Path) -> dict:
    """``config`` as the run in ``run_dir`` will read it, after the checks that run makes when it
    starts (the schema and file checks, then the explicit CFL limit with the run's own cached
    materials), so that they fail here, before any job. Its relative file paths are made absolute
    (resolved once, here, in ``search_dirs``): the run starts in ``run_dir``, where they would
    not resolve. Raises ConfigError."""
    from scema.fe.stability import check_time_step

    validated = validate_config(config, search_dirs=search_dirs)
    check_time_step(validated, run_dir=run_dir)
    return _absolute_paths(config, validated)


def validate_comparison(config: dict, search_dirs: list[Path]) -> dict:
    """Validate the comparison section, fill its defaults, load and check every mode's config.

    ``search_dirs``: the workflow's working directory (each mode runs in
    ``results/comparison/<name>/<mode>`` under it), then the repository. Paths in the base
    resolve against the base file's directory, then these; the checked mode configs
    (``mode_configs``) carry them absolute.
    """
    config = validated_against(config, SCHEMA_PATH, "comparison", ComparisonError)
    section = config["comparison"]
    base_path = _resolve(section["base"], search_dirs)
    section["base_config"] = load_base(base_path, "comparison.base", "comparison", ComparisonError)
    section["search_dirs"] = [str(d) for d in [base_path.parent, *search_dirs]]
    for reserved in (REFERENCE, BAND):
        if reserved in section["modes"]:
            raise ComparisonError(
                f"comparison error: 'comparison.modes.{reserved}': the brute-force runs are always made"
            )
    dirs = [Path(d) for d in section["search_dirs"]]
    root = Path(search_dirs[0]) / "results" / "comparison" / section["name"]
    checked = {}
    for mode, cfg in merged_mode_configs(section).items():
        try:
            checked[mode] = checked_run_config(cfg, dirs, root / mode)
        except ConfigError as error:
            raise ComparisonError(f"comparison error: mode '{mode}': {error}") from None
    section["mode_configs"] = checked
    return config


def mode_configs(section: dict) -> dict[str, dict]:
    """Every mode's complete run config, as ``validate_comparison`` checked it (file paths absolute)."""
    return section["mode_configs"]


def merged_mode_configs(section: dict) -> dict[str, dict]:
    """Every mode's config as merged (brute force twice, then the accelerated modes), not yet checked."""
    base = merge(section["base_config"], section.get("overrides", {}))
    seed = int(base.get("run", {}).get("seed", 12345))
    seed2 = section["seed2"] if section["seed2"] >= 0 else seed + 1
    off = {"clustering": {"enabled": False}, "committee": {"enabled": False}}
    configs = {REFERENCE: merge(base, off), BAND: merge(base, {**off, "run": {"seed": seed2}})}
    for mode, overlay in section["modes"].items():
        configs[mode] = merge(base, overlay)
    return configs


def write_mode_config(config: dict, path: str) -> None:
    """The mode's config as YAML, atomically (the mode's run reads it)."""
    from scema.io.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        yaml.safe_dump(config, fh, sort_keys=False)
