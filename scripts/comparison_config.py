from _rule import to_log

to_log(snakemake)
from scema.comparison_config import write_mode_config

write_mode_config(snakemake.params.config, snakemake.output.config)
