from _rule import exit_job, material_files, run_stage, to_log

to_log(snakemake)
run_stage(
    snakemake,
    "scema.stages.initial_state:run",
    model_settings=snakemake.params.model,
    replicas=snakemake.params.replicas,
    boundary_conditions=snakemake.params.boundary_conditions,
    integrator=snakemake.params.integrator,
    material_files=material_files(snakemake),
    out_stress=snakemake.output.stress,
    out_fe_state=snakemake.output.fe_state,
    out_md_state=snakemake.output.md_state,
    out_internal_force=snakemake.output.internal_force,
)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
