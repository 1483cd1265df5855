# Side-by-side comparison of accelerated runs with brute force (issue: the seed's benchmarks).
#
#   .venv/bin/snakemake -s workflow/compare.smk --configfile config/examples/compare_bar.yaml --cores all
#
# Each mode is a complete SCEMa run in results/comparison/{name}/{mode}/ (its own Snakemake,
# so it resumes like any run, and with `snakemake_args: [--profile, slurm]` its jobs go to the
# cluster); this workflow writes each mode's config, runs it, and compares the finished runs.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir)))

from scema.comparison_config import ComparisonError, mode_configs, validate_comparison

try:
    config.update(validate_comparison(config, search_dirs=[Path.cwd(), Path(workflow.basedir).parent]))
    MODE_CONFIGS = mode_configs(config["comparison"])
except ComparisonError as error:
    sys.exit(str(error))

NAME = config["comparison"]["name"]
MODES = list(MODE_CONFIGS)
ROOT = f"results/comparison/{NAME}"


localrules:
    comparison_config,
    comparison_run,


wildcard_constraints:
    mode="|".join(MODES),


def get_mode_config(wildcards):
    """The mode's full run config: a change re-writes it, and so re-runs that mode."""
    return MODE_CONFIGS[wildcards.mode]


rule all:
    default_target: True
    input:
        f"{ROOT}/comparison.nc",
        f"{ROOT}/comparison.csv",
        f"{ROOT}/reaction_force.png",
        f"{ROOT}/md_updates.png",
        expand(f"{ROOT}/plots/{{mode}}/provenance_maps.png", mode=MODES),


rule comparison_config:
    """The run config of one mode (base + overlay), as the file its Snakemake run reads."""
    output:
        config=f"{ROOT}/{{mode}}/config.yaml",
    log:
        f"logs/comparison/{NAME}/{{mode}}_config.log",
    benchmark:
        f"benchmarks/comparison/{NAME}/{{mode}}_config.tsv"
    conda:
        "../envs/workflow.yaml"
    params:
        config=get_mode_config,
    script:
        "../scripts/comparison_config.py"


rule comparison_run:
    """One mode: a complete SCEMa run in its own directory (resumes where it stopped)."""
    input:
        config=f"{ROOT}/{{mode}}/config.yaml",
    output:
        summary=f"{ROOT}/{{mode}}/results/summary.nc",
    log:
        f"logs/comparison/{NAME}/{{mode}}_run.log",
    benchmark:
        f"benchmarks/comparison/{NAME}/{{mode}}_run.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: workflow.cores
    params:
        snakefile=str(Path(workflow.basedir).parent / "Snakefile"),
        directory=f"{ROOT}/{{mode}}",
        extra=" ".join(config["comparison"]["snakemake_args"]),
        python=sys.executable,
    shell:
        "{params.python} -m snakemake --snakefile {params.snakefile} --directory {params.directory}"
        " --configfile {input.config} --cores {threads} --rerun-incomplete {params.extra} > {log} 2>&1"


rule compare:
    """The table: MD updates, speed-up, reaction-curve and stress differences against the band."""
    input:
        summaries=expand(f"{ROOT}/{{mode}}/results/summary.nc", mode=MODES),
    output:
        table=f"{ROOT}/comparison.nc",
        csv=f"{ROOT}/comparison.csv",
    log:
        f"logs/comparison/{NAME}/compare.log",
    benchmark:
        f"benchmarks/comparison/{NAME}/compare.tsv"
    conda:
        "../envs/workflow.yaml"
    params:
        modes=MODES,
    script:
        "../scripts/compare.py"


rule comparison_plots:
    """Load-displacement curves per mode over the brute-force band; MD updates per step."""
    input:
        table=f"{ROOT}/comparison.nc",
        summaries=expand(f"{ROOT}/{{mode}}/results/summary.nc", mode=MODES),
    output:
        reaction=report(f"{ROOT}/reaction_force.png", caption="report/reaction_force.rst", category="Comparison"),
        updates=report(f"{ROOT}/md_updates.png", caption="report/md_updates.rst", category="Comparison"),
    log:
        f"logs/comparison/{NAME}/plots.log",
    benchmark:
        f"benchmarks/comparison/{NAME}/plots.tsv"
    conda:
        "../envs/workflow.yaml"
    params:
        modes=MODES,
    script:
        "../scripts/comparison_plots.py"


include: "rules/compare_plots.smk"
