rule aggregate_stress:
    """Replica-mean qp stresses with provenance; new index of the MD state files; the reactions.
    The next step's fe_step aggregates the same MD results itself, so this job runs beside it."""
    input:
        unpack(get_md_results),
        internal_force="results/internal_force.nc",
    output:
        stress="results/step_{step}/stress.nc",
        md_state="results/step_{step}/md_state.nc",
        reaction="results/step_{step}/reaction.nc",
    log:
        "logs/aggregate_stress/step_{step}.log",
    benchmark:
        "benchmarks/aggregate_stress/step_{step}.tsv"
    wildcard_constraints:
        step=r"(?!0000)\d{4}",
    conda:
        "../../envs/workflow.yaml"
    params:
        boundary_conditions=config["specimen"]["boundary_conditions"],
    script:
        "../../scripts/aggregate_stress.py"
