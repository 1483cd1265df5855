# Parameter study of the seed's four parameters (issue: the seed's benchmarks, item 4).
#
#   .venv/bin/snakemake -s workflow/study.smk --configfile config/examples/study_bar.yaml --cores all
#
# Like workflow/compare.smk: every study point is a complete SCEMa run in
# results/study/{name}/{point}/ (its own Snakemake, so it resumes like any run), compared with
# two brute-force runs (brute_force, brute_force_seed2) shared by all points.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir)))

from scema.study_config import StudyError, study_configs, validate_study
from scema.study_plots import QUANTITIES

try:
    config.update(validate_study(config, search_dirs=[Path.cwd(), Path(workflow.basedir).parent]))
    RUN_CONFIGS, POINTS = study_configs(config["study"])
except StudyError as error:
    sys.exit(str(error))

NAME = config["study"]["name"]
RUNS = list(RUN_CONFIGS)
ROOT = f"results/study/{NAME}"


localrules:
    study_config,
    study_run,


wildcard_constraints:
    run="|".join(RUNS),


def get_run_config(wildcards):
    """The run's full config: a change re-writes it, and so re-runs that point."""
    return RUN_CONFIGS[wildcards.run]


def get_run_directory(wildcards):
    """The run's own directory (its Snakemake's working directory)."""
    return f"{ROOT}/{wildcards.run}"


rule all:
    default_target: True
    input:
        f"{ROOT}/study.nc",
        f"{ROOT}/study.csv",
        expand(f"{ROOT}/{{quantity}}.png", quantity=QUANTITIES),


rule study_config:
    """The run config of one point or brute-force run, as the file its Snakemake run reads."""
    output:
        config=f"{ROOT}/{{run}}/config.yaml",
    log:
        f"logs/study/{NAME}/{{run}}_config.log",
    benchmark:
        f"benchmarks/study/{NAME}/{{run}}_config.tsv"
    conda:
        "../envs/workflow.yaml"
    params:
        config=get_run_config,
    script:
        "../scripts/comparison_config.py"


rule study_run:
    """One point: a complete SCEMa run in its own directory (resumes where it stopped)."""
    input:
        config=f"{ROOT}/{{run}}/config.yaml",
    output:
        summary=f"{ROOT}/{{run}}/results/summary.nc",
    log:
        f"logs/study/{NAME}/{{run}}_run.log",
    benchmark:
        f"benchmarks/study/{NAME}/{{run}}_run.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: workflow.cores
    params:
        snakefile=str(Path(workflow.basedir).parent / "Snakefile"),
        directory=get_run_directory,
        extra=" ".join(config["study"]["snakemake_args"]),
        python=sys.executable,
    shell:
        "{params.python} -m snakemake --snakefile {params.snakefile} --directory {params.directory}"
        " --configfile {input.config} --cores {threads} --rerun-incomplete {params.extra} > {log} 2>&1"


rule study_table:
    """Per point: parameters, MD updates and savings, reaction error against the band, data used."""
    input:
        summaries=expand(f"{ROOT}/{{run}}/results/summary.nc", run=RUNS),
    output:
        table=f"{ROOT}/study.nc",
        csv=f"{ROOT}/study.csv",
    log:
        f"logs/study/{NAME}/study_table.log",
    benchmark:
        f"benchmarks/study/{NAME}/study_table.tsv"
    conda:
        "../envs/workflow.yaml"
    params:
        runs=RUNS,
        points=POINTS,
    script:
        "../scripts/study_table.py"


rule study_plots:
    """Accuracy, data used and MD updates saved against each parameter."""
    input:
        table=f"{ROOT}/study.nc",
    output:
        accuracy=report(f"{ROOT}/accuracy.png", caption="report/study_accuracy.rst", category="Parameter study"),
        data_used=report(f"{ROOT}/data_used.png", caption="report/study_data_used.rst", category="Parameter study"),
        md_updates_saved=report(
            f"{ROOT}/md_updates_saved.png", caption="report/study_md_updates_saved.rst", category="Parameter study"
        ),
    log:
        f"logs/study/{NAME}/study_plots.log",
    benchmark:
        f"benchmarks/study/{NAME}/study_plots.tsv"
    conda:
        "../envs/workflow.yaml"
    script:
        "../scripts/study_plots.py"
