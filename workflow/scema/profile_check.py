"""The SLURM profile's placeholders stop the run when the workflow is parsed.

profiles/slurm/config.yaml ships ``CHANGE_ME_partition`` and ``CHANGE_ME_account``; used as is
(``--profile profiles/slurm`` instead of the profile `make slurm-profile` installs), every
sbatch would be refused, or with plugin 2.6.1 the account check fails in a background thread
and the run hangs. Refused here, before any job is submitted, naming the profile key.
"""

from __future__ import annotations

PLACEHOLDER = "CHANGE_ME"


def _raw(resource) -> object:
    """What the profile wrote (Snakemake wraps strings in a Resource that evaluates them)."""
    return getattr(resource, "raw", resource)


def placeholder_keys(resource_settings) -> list[tuple[str, str]]:
    """(profile key, value) of every resource still set to a placeholder: default-resources and
    each rule's set-resources."""
    found = []
    for name, resource in (resource_settings.default_resources or {}).items():
        if PLACEHOLDER in str(_raw(resource)):
            found.append((f"default-resources.{name}", str(_raw(resource))))
    for rule, resources in (resource_settings.overwrite_resources or {}).items():
        for name, resource in resources.items():
            if PLACEHOLDER in str(_raw(resource)):
                found.append((f"set-resources.{rule}.{name}", str(_raw(resource))))
    return found


def check_profile(resource_settings) -> str | None:
    """One line naming the profile keys still at a placeholder, or None when there are none."""
    found = placeholder_keys(resource_settings)
    if not found:
        return None
    keys = ", ".join(f"'{key}' is still {value}" for key, value in found)
    return (
        f"profile error: {keys} (placeholders of profiles/slurm/config.yaml): `make slurm-profile` fills "
        "partition and account into your `slurm` profile; then run with --profile slurm"
    )
