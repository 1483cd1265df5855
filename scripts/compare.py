from _rule import exit_job, to_log

to_log(snakemake)
from pathlib import Path

from scema.comparison import compare, write_comparison

runs = {mode: Path(path).parents[1] for mode, path in zip(snakemake.params.modes, snakemake.input.summaries)}
write_comparison(compare(runs), snakemake.output.table, snakemake.output.csv)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
