from _rule import to_log

to_log(snakemake)
from scema.plots import mode_plots

mode_plots(snakemake.params.directory, snakemake.output.maps, snakemake.output.paths)
