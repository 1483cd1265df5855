from _log import to_log

to_log(snakemake)
from scema.stages.committee import run_update

run_update(
    snakemake.config,
    int(snakemake.wildcards.step),
    strain_path=snakemake.input.strain,
    prev_stress_path=snakemake.input.prev_stress,
    stress_path=snakemake.input.stress,
    prev_state=snakemake.input.prev_state,
    earlier_samples=list(snakemake.input.earlier_samples),
    out_samples=snakemake.output.samples,
    out_state=snakemake.output.state,
)
