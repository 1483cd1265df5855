rule run_plots:
    """Figures of the run for the Snakemake report: load curve, MD work by provenance, maps of
    provenance and committee spread, stress-strain paths of a few qps, cluster representatives."""
    input:
        unpack(get_cluster_files),
        summary="results/summary.nc",
        strain=f"{step_dir(STEPS[0])}/strain.nc",
        stresses=expand("results/step_{step}/stress.nc", step=STEPS),
    output:
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
        "logs/run_plots/plots.log",
    benchmark:
        "benchmarks/run_plots/plots.tsv"
    conda:
        "../../envs/workflow.yaml"
    script:
        "../../scripts/run_plots.py"
