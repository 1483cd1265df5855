rule summary:
    """Load-displacement curve, MD work and stage wall times over all steps."""
    input:
        unpack(get_committee_records),
        reactions=expand("results/step_{step}/reaction.nc", step=STEPS),
        schedules=expand("results/step_{step}/md_schedule.nc", step=STEPS),
        fe_step=expand("benchmarks/fe_step/step_{step}.tsv", step=STEPS),
        md_schedule=expand("benchmarks/md_schedule/step_{step}.tsv", step=STEPS),
        md_batch=get_md_batch_benchmarks,
        aggregate_stress=expand("benchmarks/aggregate_stress/step_{step}.tsv", step=STEPS),
    output:
        summary="results/summary.nc",
    log:
        "logs/summary/summary.log",
    benchmark:
        "benchmarks/summary/summary.tsv"
    conda:
        "../../envs/workflow.yaml"
    params:
        face=config["specimen"]["reaction_face"],
    script:
        "../../scripts/summary.py"
