from _rule import material_files, run_stage, to_log

to_log(snakemake)
run_stage(
    snakemake,
    "scema.stages.reaction:run",
    config=snakemake.config,
    step=int(snakemake.wildcards.step),
    material_files=material_files(snakemake),
    stress=snakemake.input.stress,
    out_reaction=snakemake.output.reaction,
)
