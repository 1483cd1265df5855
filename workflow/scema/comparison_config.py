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


def validate_comparison(config: dict, search_dirs: list[Path]) -> dict:
    """Validate the comparison section, fill its defaults, load and check every mode's config."""
    config = validated_against(config, SCHEMA_PATH, "comparison", ComparisonError)
    section = config["comparison"]
    base_path = _resolve(section["base"], search_dirs)
    with open(base_path) as fh:
        section["base_config"] = yaml.safe_load(fh)
    section["search_dirs"] = [str(d) for d in [base_path.parent, *search_dirs]]
    for reserved in (REFERENCE, BAND):
        if reserved in section["modes"]:
            raise ComparisonError(
                f"comparison error: 'comparison.modes.{reserved}': the brute-force runs are always made"
            )
    for mode, cfg in mode_configs(section).items():
        try:
            validate_config(cfg, search_dirs=[Path(d) for d in section["search_dirs"]])
        except ConfigError as error:
            raise ComparisonError(f"comparison error: mode '{mode}': {error}") from None
    return config


def mode_configs(section: dict) -> dict[str, dict]:
    """Every mode's complete run config (brute force twice, then the accelerated modes).

    Paths in the base config stay as written; each mode's run resolves them against the run
    directory and then the repository, as any run does.
    """
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
