from _rule import exit_job, to_log

to_log(snakemake)
from scema.stages.committee_record import write_initial_record

write_initial_record(list(snakemake.params.materials), snakemake.output.record)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
