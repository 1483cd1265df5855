"""Committee settings: the validated ``committee`` section of the config, as one typed object.

Defaults live only in the schema (``workflow/schemas/config.schema.yaml``); this class restates
none. Code outside a workflow run (tests, benchmarks) builds settings with ``schema_defaults``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from scema.committee.models import ARCHITECTURES

TARGETS = ("correction", "deviation", "stress")


@dataclass(frozen=True)
class CommitteeSettings:
    """How one committee version is trained (the decision thresholds stay in the stage)."""

    size: int
    architecture: str
    target: str
    width: int
    depth: int
    max_epochs: int
    patience: int
    validation_fraction: float
    learning_rate: float
    batch_size: int
    seed: int
    ridge_alpha: float
    prior_evidence: bool

    @classmethod
    def from_config(cls, committee: dict) -> CommitteeSettings:
        """The training settings out of a validated ``config["committee"]`` (other keys ignored)."""
        missing = [f.name for f in fields(cls) if f.name not in committee]
        if missing:
            raise KeyError(f"committee settings: missing key(s) {missing} (validate the config first)")
        return cls(**{f.name: committee[f.name] for f in fields(cls)})

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"committee architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.target not in TARGETS:
            raise ValueError(f"committee target must be one of {TARGETS}, got {self.target!r}")
        if int(self.size) < 2:
            raise ValueError(f"committee size must be >= 2 (the std across members needs two), got {self.size}")


def schema_defaults() -> dict:
    """The schema's default ``committee`` section (what a run gets when it sets nothing)."""
    from scema.config import load_schema

    props = load_schema()["properties"]["committee"]["properties"]
    return {key: spec["default"] for key, spec in props.items()}


def default_settings(**overrides) -> CommitteeSettings:
    """Schema defaults with ``overrides``: the settings of a run that sets only those keys."""
    return CommitteeSettings.from_config({**schema_defaults(), **overrides})
