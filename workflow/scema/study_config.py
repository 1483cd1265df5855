"""Points of a parameter study: which runs to make, each a complete run config.

Why here and not in the rules: every point's config is validated against the run schema when
the study workflow is parsed, so a bad list value stops everything before the first job, with
the key named. The brute-force runs are the comparison's own (same names, same band), shared by
every point.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml

from scema.comparison import BAND, REFERENCE
from scema.comparison_config import _resolve, merge, validated_against
from scema.config import ConfigError, validate_config

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "study.schema.yaml"

# (section, key) of every studied parameter, in the order of the table and the plots' panels
PARAMETERS = (
    ("run", "seed"),
    ("committee", "size"),
    ("committee", "stress_accuracy_mpa"),
    ("committee", "train_frequency"),
)


class StudyError(ValueError):
    """A study config problem, one line naming the key, point or file."""


def parameter_name(section: str, key: str) -> str:
    """The dotted config key, e.g. ``committee.size``."""
    return f"{section}.{key}"


def _value_label(value) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text.replace(".", "p").replace("-", "m").replace("+", "")


def point_name(values: dict[str, object], baseline: dict[str, object]) -> str:
    """Folder name of a point: ``baseline`` or the parameters that differ, e.g. ``committee_size_8``."""
    parts = [
        f"{name.replace('.', '_')}_{_value_label(value)}" for name, value in values.items() if value != baseline[name]
    ]
    return "__".join(parts) or "baseline"


def study_values(section: dict) -> list[dict[str, object]]:
    """Every point's parameter values (dotted key -> value); the first point is the baseline."""
    lists = {
        parameter_name(s, k): section["parameters"][s][k] or [section["base_values"][parameter_name(s, k)]]
        for s, k in PARAMETERS
    }
    baseline = {name: values[0] for name, values in lists.items()}
    if section["design"] == "grid":
        return [dict(zip(lists, combo)) for combo in itertools.product(*lists.values())]
    points = [baseline]
    for name, values in lists.items():
        points += [{**baseline, name: value} for value in values[1:]]
    return points


def _overlay(values: dict[str, object]) -> dict:
    out: dict = {}
    for name, value in values.items():
        section, key = name.split(".")
        out.setdefault(section, {})[key] = value
    return out


def study_configs(section: dict) -> tuple[dict[str, dict], dict[str, dict[str, object]]]:
    """(run name -> complete run config, point name -> parameter values).

    The runs are brute force twice (base seed and ``seed2``) and every point; paths in the base
    stay as written and resolve against each run's directory and then the repository.
    """
    base = merge(section["base_config"], section["overrides"])
    seed = int(base.get("run", {}).get("seed", 12345))
    seed2 = section["seed2"] if section["seed2"] >= 0 else seed + 1
    off = {"clustering": {"enabled": False}, "committee": {"enabled": False}}
    configs = {REFERENCE: merge(base, off), BAND: merge(base, {**off, "run": {"seed": seed2}})}
    points = {}
    all_values = study_values(section)
    for values in all_values:
        name = point_name(values, all_values[0])
        points[name] = values
        configs[name] = merge(merge(base, section["accelerated"]), _overlay(values))
    return configs, points


def validate_study(config: dict, search_dirs: list[Path]) -> dict:
    """Validate the study section, fill its defaults, load the base and check every run's config."""
    config = validated_against(config, SCHEMA_PATH, "study", StudyError)
    section = config["study"]
    try:
        base_path = _resolve(section["base"], search_dirs)
    except ValueError as error:
        raise StudyError(str(error).replace("comparison", "study")) from None
    with open(base_path) as fh:
        section["base_config"] = yaml.safe_load(fh)
    section["search_dirs"] = [str(d) for d in [base_path.parent, *search_dirs]]
    dirs = [Path(d) for d in section["search_dirs"]]
    try:
        template = validate_config(
            merge(merge(section["base_config"], section["overrides"]), section["accelerated"]), search_dirs=dirs
        )
    except ConfigError as error:
        raise StudyError(f"study error: base + overrides + accelerated: {error}") from None
    section["base_values"] = {parameter_name(s, k): template[s][k] for s, k in PARAMETERS}
    configs, _ = study_configs(section)
    for run, cfg in configs.items():
        try:
            validate_config(cfg, search_dirs=dirs)
        except ConfigError as error:
            raise StudyError(f"study error: run '{run}': {error}") from None
    return config
