from _rule import exit_job, to_log

to_log(snakemake)
from scema.plots import mode_plots

mode_plots(snakemake.params.directory, snakemake.output.maps, snakemake.output.paths)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
