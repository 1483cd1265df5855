from _log import material_files, to_log

to_log(snakemake)
from scema.stages.fe_step import run

run(
    snakemake.config,
    int(snakemake.wildcards.step),
    material_files(snakemake),
    prev_fe_state=snakemake.input.prev_fe_state,
    prev_stress=snakemake.input.prev_stress,
    out_fe_state=snakemake.output.fe_state,
    out_strain=snakemake.output.strain,
    out_displacement=snakemake.output.displacement,
)
