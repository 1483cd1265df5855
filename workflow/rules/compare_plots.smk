# Figures of each mode of a comparison (included by workflow/compare.smk, which defines ROOT and NAME).


rule mode_plots:
    """Per mode of a comparison: where its stresses came from and the stress-strain paths."""
    input:
        summary=f"{ROOT}/{{mode}}/results/summary.nc",
    output:
        maps=report(
            f"{ROOT}/plots/{{mode}}/provenance_maps.png",
            caption="../report/provenance_maps.rst",
            category="Modes",
            subcategory="{mode}",
        ),
        paths=report(
            f"{ROOT}/plots/{{mode}}/stress_strain_paths.png",
            caption="../report/stress_strain_paths.rst",
            category="Modes",
            subcategory="{mode}",
        ),
    log:
        f"logs/comparison/{NAME}/{{mode}}_plots.log",
    benchmark:
        f"benchmarks/comparison/{NAME}/{{mode}}_plots.tsv"
    conda:
        "../../envs/workflow.yaml"
    params:
        directory=f"{ROOT}/{{mode}}",
    script:
        "../../scripts/mode_plots.py"
