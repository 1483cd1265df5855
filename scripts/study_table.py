from _rule import exit_job, to_log

to_log(snakemake)
from pathlib import Path

from scema.study import study_table, write_study

runs = {run: Path(path).parents[1] for run, path in zip(snakemake.params.runs, snakemake.input.summaries)}
write_study(study_table(runs, snakemake.params.points), snakemake.output.table, snakemake.output.csv)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
