from _rule import exit_job, to_log

to_log(snakemake)
from scema.study_plots import QUANTITIES, study_plots

study_plots(snakemake.input.table, {q: getattr(snakemake.output, q) for q in QUANTITIES})
exit_job()  # skip the interpreter's teardown (scema.job_exit)
