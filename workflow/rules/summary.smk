rule summary:
    """Load-displacement curve, MD work and stage wall times over all steps; then the run's
    figures for the Snakemake report (load curve, MD work by provenance, maps of provenance and
    committee spread, stress-strain paths of a few qps, cluster representatives). One job: the
    figures read the summary, and a job of their own cost an interpreter start and the imports."""
    input:
        unpack(get_committee_records),
        unpack(get_cluster_files),
        reactions=expand("results/step_{step}/reaction.nc", step=STEPS),
        schedules=expand("results/step_{step}/md_schedule.nc", step=STEPS),
        strain=f"{step_dir(STEPS[0])}/strain.nc",
        stresses=expand("results/step_{step}/stress.nc", step=STEPS),
        fe_step=expand("benchmarks/fe_step/step_{step}.tsv", step=STEPS),
        md_batch=get_md_batch_benchmarks,
        aggregate_stress=expand("benchmarks/aggregate_stress/step_{step}.tsv", step=STEPS),
    output:
        summary="results/summary.nc",
        load_displacement=report(
            "results/plots/load_displacement.png", caption="../report/load_displacement.rst", category="Run"
        ),
        updates=report(
            "results/plots/md_updates_by_source.png", caption="../report/md_updates_by_source.rst", category="Run"
        ),
        maps=report("results/plots/provenance_maps.png", caption="../report/provenance_maps.rst", category="Run"),
        paths=report(
            "results/plots/stress_strain_paths.png", caption="../report/stress_strain_paths.rst", category="Run"
        ),
        representatives=report(
            "results/plots/representatives.png", caption="../report/representatives.rst", category="Run"
        ),
    log:
        "logs/summary/summary.log",
    benchmark:
        "benchmarks/summary/summary.tsv"
    conda:
        "../../envs/workflow.yaml"
    params:
        face=config["specimen"]["reaction_face"],
        accuracy_mpa=get_summary_accuracy(),
    script:
        "../../scripts/summary.py"
