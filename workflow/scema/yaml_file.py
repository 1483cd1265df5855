"""A config file's YAML, with one line saying what is wrong with it.

Why one place: the workflow's config file (workflow/rules/config_file.smk) and the base files of
comparisons and studies report a syntax error the same way, with the line and column (PyYAML's
message spans several lines, Snakemake's names neither). Imports only PyYAML: it runs when a
workflow is parsed.
"""

from __future__ import annotations

from pathlib import Path

import yaml


class YAMLFileError(ValueError):
    """The file is not YAML or not a mapping; the message names the file, the caller the key."""


def syntax_error(error: yaml.YAMLError) -> str:
    """``YAML syntax error at line N, column M: <problem> (<context> from line K)``, one line."""
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context, start = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and start is not None:
        problem += f" ({context} from line {start.line + 1})"
    return f"YAML syntax error at {where}{problem}"


def load_mapping(path: str | Path) -> dict:
    """The file's top-level mapping; raises YAMLFileError on a syntax error or any other document
    (empty, a list, a scalar), which would otherwise fail later as an AttributeError."""
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as error:
        raise YAMLFileError(f"'{path}': {syntax_error(error)}") from None
    if not isinstance(data, dict):
        kinds = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true or false"}
        found = "empty" if data is None else kinds.get(type(data), type(data).__name__)
        raise YAMLFileError(f"'{path}' is not a YAML mapping (it is {found})")
    return data
