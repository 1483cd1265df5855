from _log import material_files, to_log

to_log(snakemake)
from scema.stages.initial import run

run(
    snakemake.config,
    material_files(snakemake),
    out_stress=snakemake.output.stress,
    out_fe_state=snakemake.output.fe_state,
    out_md_state=snakemake.output.md_state,
)
