"""The workflow profile sizes every job a run can submit (a rule left out gets the cluster's
default time and memory, which a long MD batch or a big mesh does not fit)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def main_workflow_rules() -> set[str]:
    """Rules and checkpoints of the files the Snakefile includes (the run's jobs, `all` aside)."""
    includes = re.findall(r'^include: "([^"]+)"', (REPO / "Snakefile").read_text(), re.M)
    names = set()
    for path in includes:
        names |= set(re.findall(r"^(?:rule|checkpoint) (\w+):", (REPO / path).read_text(), re.M))
    return names - {"all"}


def test_every_rule_of_a_run_has_runtime_memory_and_cpus_in_the_workflow_profile():
    resources = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())["set-resources"]
    rules = main_workflow_rules()
    assert {"fe_step", "md_batch", "cluster", "committee_update"} <= rules  # the parse found the rules
    assert sorted(rules - set(resources)) == []
    assert sorted(set(resources) - rules) == []  # no entry for a rule that no longer exists
    for rule in rules:
        assert {"runtime", "mem_mb", "cpus_per_task"} <= set(resources[rule]), rule
