from _rule import to_log

to_log(snakemake)
from scema.specimens import generate

generate(snakemake.params.generator, snakemake.output.mesh, **snakemake.params.parameters)
