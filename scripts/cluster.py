from _log import to_log

to_log(snakemake)
from scema.stages.cluster import run

run(
    snakemake.config,
    int(snakemake.wildcards.step),
    strain_files=list(snakemake.input.history),
    out_clusters=snakemake.output.clusters,
)
