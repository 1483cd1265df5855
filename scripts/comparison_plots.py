from _rule import exit_job, to_log

to_log(snakemake)
from scema.plots import comparison_plots

comparison_plots(
    dict(zip(snakemake.params.modes, snakemake.input.summaries)), snakemake.output.reaction, snakemake.output.updates
)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
