from _rule import to_log

to_log(snakemake)
from scema.plots import comparison_plots

comparison_plots(
    dict(zip(snakemake.params.modes, snakemake.input.summaries)), snakemake.output.reaction, snakemake.output.updates
)
