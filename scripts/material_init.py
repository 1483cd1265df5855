from _rule import exit_job, to_log
from scema.stages.material_init import run

to_log(snakemake)
run(
    name=snakemake.wildcards.material,
    material_cfg=dict(snakemake.params.material),
    replica_files=list(snakemake.input.replicas),
    out_material=snakemake.output.material,
)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
