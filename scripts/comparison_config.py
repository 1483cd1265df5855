from _rule import exit_job, to_log

to_log(snakemake)
from scema.comparison_config import write_mode_config

write_mode_config(snakemake.params.config, snakemake.output.config)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
