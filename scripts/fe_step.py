from _rule import exit_job, material_files, previous_md_results, run_stage, schedule_plan, to_log

to_log(snakemake)
run_stage(
    snakemake,
    "scema.stages.fe_step:run",
    model_settings=snakemake.params.model,
    fe=snakemake.params.fe,
    boundary_conditions=snakemake.params.boundary_conditions,
    step=int(snakemake.wildcards.step),
    material_files=material_files(snakemake),
    prev_fe_state=snakemake.input.get("prev_fe_state"),
    prev_stress=snakemake.input.get("prev_stress"),
    prev_md_results=previous_md_results(snakemake),
    out_fe_state=snakemake.output.fe_state,
    out_strain=snakemake.output.strain,
    out_displacement=snakemake.output.displacement,
    plan=schedule_plan(snakemake),
)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
