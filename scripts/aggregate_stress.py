from _rule import exit_job, to_log

to_log(snakemake)
from scema.stages.aggregate import run

run(
    int(snakemake.wildcards.step),
    strain_path=snakemake.input.strain,
    prev_md_state=snakemake.input.prev_md_state,
    batch_files=list(snakemake.input.batches),
    out_stress=snakemake.output.stress,
    out_md_state=snakemake.output.md_state,
    clusters_path=snakemake.input.get("clusters"),
    committee_path=snakemake.input.get("committee"),
)

from scema.stages.reaction import run as reaction

reaction(
    int(snakemake.wildcards.step),
    operator=snakemake.input.internal_force,
    boundary_conditions=snakemake.params.boundary_conditions,
    stress=snakemake.output.stress,
    out_reaction=snakemake.output.reaction,
)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
