from _rule import material_files, run_stage, to_log

to_log(snakemake)
run_stage(
    snakemake,
    "scema.stages.reaction:run",
    model_settings=snakemake.params.model,
    boundary_conditions=snakemake.params.boundary_conditions,
    face=snakemake.params.face,
    step=int(snakemake.wildcards.step),
    material_files=material_files(snakemake),
    stress=snakemake.input.stress,
    out_reaction=snakemake.output.reaction,
)
