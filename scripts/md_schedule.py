from _rule import to_log

to_log(snakemake)
from scema.stages.schedule import run

run(
    int(snakemake.params.batches),
    int(snakemake.params.seed),
    list(snakemake.params.materials),
    int(snakemake.wildcards.step),
    strain_path=snakemake.input.strain,
    prev_md_state=snakemake.input.prev_md_state,
    out_schedule=snakemake.output.schedule,
    clusters_path=snakemake.input.get("clusters"),
    committee_path=snakemake.input.get("committee"),
)
