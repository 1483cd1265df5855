"""Import the FEniCSx stack without pkg_resources (an FE job's largest import cost).

Debian's ufl 2022.2 and ffcx 0.5 import ``pkg_resources`` only to read their own version
(``pkg_resources.get_distribution(name).version``). Importing it scans every installed
distribution: measured 0.39 s CPU of a 0.9 s dolfinx import, paid by every FE process (each
step's fe_step, initial_state, paraview_fields). While they are imported, a stand-in answers
that one question from :mod:`importlib.metadata`; then it is removed, so anything imported later
gets the real ``pkg_resources``.
"""

from __future__ import annotations

import importlib.metadata
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager


class _Distribution:
    def __init__(self, name: str) -> None:
        self.project_name = name
        self.version = importlib.metadata.version(name)


@contextmanager
def without_pkg_resources() -> Iterator[None]:
    """Imports in this block see a ``pkg_resources`` that only knows ``get_distribution``."""
    if "pkg_resources" in sys.modules:  # already paid for: nothing to save
        yield
        return
    stand_in = types.ModuleType("pkg_resources", "version look-up only (scema.fe.fast_import)")
    stand_in.get_distribution = _Distribution
    sys.modules["pkg_resources"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
