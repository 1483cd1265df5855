# SCEMa, the Snakemake edition: semi-concurrent FE-MD multiscale mechanics.
# This file only wires things together; see README.md and workflow/rules/*.smk.
from snakemake.utils import min_version

min_version("9.0")


include: "workflow/rules/config_file.smk"


# The default config only when no --configfile is given: Snakemake's `configfile:` extends, so a
# user's file would be merged over it (a glass-only config still carrying the default's copper).
if not workflow.overwrite_configfiles:
    check_config_syntax("config/config.yaml")

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/materials.smk"
include: "workflow/rules/mesh.smk"
include: "workflow/rules/fe.smk"
include: "workflow/rules/clustering.smk"
include: "workflow/rules/committee.smk"
include: "workflow/rules/md.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/fields.smk"


# Exit as soon as the work is done (Snakemake's rate limiter leaves a 1 s timer; the
# interpreter's teardown): see scema.snakemake_exit.
onsuccess:
    cancel_pending_timers()
    exit_on_success_without_teardown()


onerror:
    cancel_pending_timers()


rule all:
    default_target: True
    input:
        get_final_output(),
        rules.paraview_fields.output,
        rules.summary.output,
