from _rule import exit_job, schedule_plan, to_log

to_log(snakemake)
from scema.stages.cluster import run

run(
    dict(snakemake.params.clustering),
    int(snakemake.wildcards.step),
    strain_file=snakemake.input.strain,
    previous_history=getattr(snakemake.input, "previous_history", None),
    out_clusters=snakemake.output.clusters,
    out_history=snakemake.output.history,
    run_seed=int(snakemake.params.seed),
    material_names=list(snakemake.params.materials),
    material_files=dict(zip(snakemake.params.used_materials, snakemake.input.materials)),
    symmetries=dict(snakemake.params.symmetries),
    plan=schedule_plan(snakemake),
)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
