from _rule import exit_job, to_log

to_log(snakemake)
from scema.specimens import generate

generate(snakemake.params.generator, snakemake.output.mesh, **snakemake.params.parameters)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
