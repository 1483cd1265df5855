from _rule import to_log

to_log(snakemake)
from scema.stages.material_init import run

run(
    name=snakemake.wildcards.material,
    material_cfg=snakemake.params.material,
    replicas=snakemake.params.replicas,
    run_seed=snakemake.params.seed,
    state_files=list(snakemake.output.states),
    out_material=snakemake.output.material,
    lammps_log=snakemake.log.lammps,
)
