from _rule import exit_job, schedule_plan, to_log

to_log(snakemake)
from scema.stages.committee_query import run

run(
    dict(snakemake.params.committee),
    int(snakemake.params.run_seed),
    list(snakemake.params.materials),
    int(snakemake.wildcards.step),
    strain_path=snakemake.input.strain,
    prev_md_state=snakemake.input.prev_md_state,
    prev_record=snakemake.input.prev_record,
    out_query=snakemake.output.query,
    clusters_path=snakemake.input.get("clusters"),
    plan=schedule_plan(snakemake),
)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
