from _log import material_files, to_log

to_log(snakemake)
from scema.stages.md_batch import run

run(
    snakemake.config,
    schedule_path=snakemake.input.schedule,
    batch=int(snakemake.wildcards.batch),
    material_files=material_files(snakemake),
    out_batch=snakemake.output.batch,
    lammps_log=snakemake.log.lammps,
)
