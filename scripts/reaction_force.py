from _log import material_files, to_log

to_log(snakemake)
from scema.stages.reaction import run

run(
    snakemake.config,
    int(snakemake.wildcards.step),
    material_files(snakemake),
    stress=snakemake.input.stress,
    out_reaction=snakemake.output.reaction,
)
