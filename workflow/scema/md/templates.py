"""The variables a material's LAMMPS templates substitute, read without LAMMPS.

LAMMPS stops a job on an undefined ``${name}``, and the reason is only in its log; reading the
templates when the config is checked refuses a missing or misspelled variable before any job.
Light on purpose (no lammps, no numpy): it runs every time the Snakefile is parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# What scema.md.preparation._prepare passes to Engine.build besides the material's variables:
# only the structure template sees them (the force field is included again after every state
# restore, Engine.load, which sets the material's variables alone).
BUILD_VARIABLES = ("structure_seed",)  # every build: the replica's seed (scema.seeds)
BUILDER_VARIABLES = ("structure_data",)  # with a `builder`: the data file it wrote

_SUBSTITUTION = re.compile(r"\$(?:\{([^}]*)\}|([A-Za-z0-9_]))")  # ${name}, $x; not $(expression)
_REFERENCE = re.compile(r"\bv_([A-Za-z0-9_]+)")  # v_name in formulas and fix/compute arguments
_DEFINE = re.compile(r"^\s*variable\s+(\S+)\s+(\S+)")
_INCLUDE = re.compile(r"^\s*include\s+(\S+)")


@dataclass
class Scan:
    """What a walk through templates found: substitutions of names not set at that point, as
    (file, name) in file order, and every name the templates read (``${}``, ``$x``, ``v_``)."""

    missing: list[tuple[Path, str]] = field(default_factory=list)
    used: set[str] = field(default_factory=set)


class TemplateError(ValueError):
    """A template that cannot be read through (an include that does not exist)."""


def scan(path: Path, defined: set[str], values: dict, search: list[Path], result: Scan | None = None) -> Scan:
    """Walk ``path`` as LAMMPS would (includes inline, in order): ``defined`` are the names set
    before it and grows with its ``variable NAME ...`` lines; ``values`` substitute into include
    paths, which are looked up beside the including file, then in ``search``."""
    result = result if result is not None else Scan()
    for line in _logical_lines(path.read_text()):
        for braced, single in _SUBSTITUTION.findall(line):
            name = braced or single
            result.used.add(name)
            if name not in defined and (path, name) not in result.missing:
                result.missing.append((path, name))
        result.used.update(_REFERENCE.findall(line))
        definition = _DEFINE.match(line)
        if definition and definition.group(2) != "delete":
            defined.add(definition.group(1))
        include = _INCLUDE.match(line)
        if include:
            target = _include_target(include.group(1), path, values, search)
            if target is not None:
                scan(target, defined, values, search, result)
    return result


def _include_target(word: str, including: Path, values: dict, search: list[Path]) -> Path | None:
    """The file an ``include`` reads; None when its name needs a variable scema does not know."""
    word = _SUBSTITUTION.sub(lambda m: str(values.get(m.group(1) or m.group(2), m.group(0))), word.strip("\"'"))
    if "$" in word:
        return None
    target = Path(word)
    candidates = [target] if target.is_absolute() else [including.parent / target, *(d / target for d in search)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise TemplateError(f"{including} includes '{word}', which does not exist")


def _logical_lines(text: str) -> list[str]:
    """Commands as LAMMPS reads them: '&' continues a line; '#' outside quotes starts a comment
    (LAMMPS strips comments before it substitutes variables, so ``${x}`` there is no use)."""
    lines, pending = [], ""
    for raw in text.splitlines():
        line = pending + _strip_comment(raw)
        if line.rstrip().endswith("&"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        lines.append(line)
    if pending:
        lines.append(pending)
    return lines


def _strip_comment(line: str) -> str:
    quote = None
    i = 0
    while i < len(line):
        if quote is None and line.startswith('"""', i):
            quote, i = '"""', i + 3
            continue
        if quote == '"""' and line.startswith('"""', i):
            quote, i = None, i + 3
            continue
        char = line[i]
        if quote is None and char in "\"'":
            quote = char
        elif quote == char:
            quote = None
        elif quote is None and char == "#":
            return line[:i]
        i += 1
    return line
