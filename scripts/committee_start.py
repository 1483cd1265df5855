from _rule import to_log

to_log(snakemake)
from scema.stages.committee_record import write_initial_record

write_initial_record(list(snakemake.params.materials), snakemake.output.record)
