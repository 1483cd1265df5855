from _rule import exit_job, material_files, run_stage, to_log

to_log(snakemake)
run_stage(
    snakemake,
    "scema.stages.fields:run",
    config=snakemake.config,
    material_files=material_files(snakemake),
    fe_states=list(snakemake.input.fe_states),
    stresses=list(snakemake.input.stresses),
    clusters=list(snakemake.input.get("clusters", [])),
    out_fields=snakemake.output.fields,
)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
