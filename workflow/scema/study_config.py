"""Points of a parameter study: which runs to make, each a complete run config.

Why here and not in the rules: every point's config is validated against the run schema when
the study workflow is parsed, so a bad list value stops everything before the first job, with
the key named. The brute-force runs are the comparison's own (same names, same band), shared by
every point.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from scema.comparison import BAND, REFERENCE
from scema.comparison_config import _resolve, checked_run_config, load_base, merge, validated_against
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


def merged_study_configs(section: dict) -> tuple[dict[str, dict], dict[str, dict[str, object]]]:
    """(run name -> run config as merged, not yet checked; point name -> parameter values).

    The runs are brute force twice (base seed and ``seed2``) and every point.
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


def study_configs(section: dict) -> tuple[dict[str, dict], dict[str, dict[str, object]]]:
    """(run name -> complete run config as ``validate_study`` checked it, file paths absolute;
    point name -> parameter values)."""
    return section["run_configs"], section["points"]


def _check_studied_sections_enabled(section: dict, template: dict) -> None:
    """A studied ``committee.*`` list needs the committee on in the points: ``accelerated``
    replaces its default ({committee: {enabled: true}}), so ``{clustering: {enabled: true}}``
    alone turns it off and every point would be the same run at full cost."""
    for name, key in PARAMETERS:
        enabled = template[name].get("enabled", True)
        if section["parameters"][name][key] and not enabled:
            raise StudyError(
                f"study error: 'study.accelerated': '{parameter_name(name, key)}' is studied but {name}.enabled is "
                f"false in the study points (base + overrides + accelerated); add {name}: {{enabled: true}} to "
                "study.accelerated (it replaces the default {committee: {enabled: true}})"
            )


def validate_study(config: dict, search_dirs: list[Path]) -> dict:
    """Validate the study section, fill its defaults, load the base and check every run's config.

    ``search_dirs``: the workflow's working directory (each run is made in
    ``results/study/<name>/<run>`` under it), then the repository. Paths in the base resolve
    against the base file's directory, then these; the checked run configs (``study_configs``)
    carry them absolute.
    """
    config = validated_against(config, SCHEMA_PATH, "study", StudyError)
    section = config["study"]
    try:
        base_path = _resolve(section["base"], search_dirs)
    except ValueError as error:
        raise StudyError(str(error).replace("comparison", "study")) from None
    section["base_config"] = load_base(base_path, "study.base", "study", StudyError)
    section["search_dirs"] = [str(d) for d in [base_path.parent, *search_dirs]]
    dirs = [Path(d) for d in section["search_dirs"]]
    try:
        template = validate_config(
            merge(merge(section["base_config"], section["overrides"]), section["accelerated"]), search_dirs=dirs
        )
    except ConfigError as error:
        raise StudyError(f"study error: base + overrides + accelerated: {error}") from None
    _check_studied_sections_enabled(section, template)
    section["base_values"] = {parameter_name(s, k): template[s][k] for s, k in PARAMETERS}
    configs, section["points"] = merged_study_configs(section)
    root = Path(search_dirs[0]) / "results" / "study" / section["name"]
    section["run_configs"] = {}
    for run, cfg in configs.items():
        try:
            section["run_configs"][run] = checked_run_config(cfg, dirs, root / run)
        except ConfigError as error:
            raise StudyError(f"study error: run '{run}': {error}") from None
    return config
