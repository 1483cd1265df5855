from _log import to_log

to_log(snakemake)
from scema.stages.committee import write_initial_state

write_initial_state(snakemake.output.state)
