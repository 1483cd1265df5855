from _log import to_log

to_log(snakemake)
from scema.stages.committee import run_query

run_query(
    snakemake.config,
    int(snakemake.wildcards.step),
    strain_path=snakemake.input.strain,
    prev_stress_path=snakemake.input.prev_stress,
    prev_state=snakemake.input.prev_state,
    out_committee=snakemake.output.committee,
    clusters_path=snakemake.input.get("clusters"),
)
