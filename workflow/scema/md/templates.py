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
# a definition: a `variable` command, also inside a quoted command (`if ... then "variable m equal 1"`)
_DEFINE = re.compile(r"(?:^|[\s\"'])variable\s+([^\s\"']+)\s+([^\s\"']+)")
_INCLUDE = re.compile(r"^\s*include\s+(\S+)")


@dataclass
class Scan:
    """What a walk through templates found: substitutions of names not set at that point, as
    (file, name) in file order, and every name the templates read (``${}``, ``$x``, ``v_``)."""

    missing: list[tuple[Path, str]] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    deferred: list[tuple[Path, str]] = field(default_factory=list)  # quoted: substituted when run


class TemplateError(ValueError):
    """A template that cannot be read through (an include that does not exist)."""


def scan(path: Path, defined: set[str], values: dict, search: list[Path], result: Scan | None = None) -> Scan:
    """Walk ``path`` as LAMMPS would (includes inline, in order): ``defined`` are the names set
    before it and grows with its ``variable NAME ...`` lines; ``values`` substitute into include
    paths, which are looked up beside the including file, then in ``search``."""
    top = result is None
    result = result if result is not None else Scan()
    for line in _logical_lines(path.read_text()):
        plain, quoted = _split_quoted(line)
        for text, pending in ((plain, result.missing), (quoted, result.deferred)):
            for braced, single in _SUBSTITUTION.findall(text):
                name = braced or single
                result.used.add(name)
                if name not in defined and (path, name) not in pending:
                    pending.append((path, name))
        result.used.update(_REFERENCE.findall(line))
        for name, style in _DEFINE.findall(line):
            if style != "delete":
                defined.add(name)
        include = _INCLUDE.match(line)
        if include:
            target = _include_target(include.group(1), path, values, search)
            if target is not None:
                scan(target, defined, values, search, result)
    if top:  # a quoted ${x} (print, fix print, if) is substituted when it runs: defined anywhere will do
        result.missing += [(p, name) for p, name in result.deferred if name not in defined]
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


def _quoting(line: str) -> list[str | None]:
    """Per character of ``line``: None outside quotes, "in" inside them, "mark" for the quote
    marks themselves ("...", '...' and triple double quotes, as LAMMPS reads them)."""
    states: list[str | None] = []
    quote, i = None, 0
    while i < len(line):
        if line.startswith('"""', i) and quote in (None, '"""'):
            quote = None if quote else '"""'
            states += ["mark"] * 3
            i += 3
            continue
        char = line[i]
        if quote is None and char in "\"'":
            quote, state = char, "mark"
        elif quote == char:
            quote, state = None, "mark"
        else:
            state = None if quote is None else "in"
        states.append(state)
        i += 1
    return states


def _split_quoted(line: str) -> tuple[str, str]:
    """(the text outside quotes, the text inside them) of a comment-free line, each with the
    other's characters blanked."""
    states = _quoting(line)
    plain = "".join(c if s is None else " " for c, s in zip(line, states))
    quoted = "".join(c if s == "in" else " " for c, s in zip(line, states))
    return plain, quoted


def _strip_comment(line: str) -> str:
    for i, (char, state) in enumerate(zip(line, _quoting(line))):
        if char == "#" and state is None:
            return line[:i]
    return line
