from pathlib import Path

from _rule import exit_job, to_log

to_log(snakemake)
from scema.stages.committee_update import start

start(
    dict(snakemake.params.committee),
    list(snakemake.params.materials),
    dict(snakemake.params.symmetries),
    material_files=dict(zip(snakemake.params.used_materials, snakemake.input.materials)),
    zero_kelvin_files={Path(f).parent.name: f for f in snakemake.input.zero_kelvin},
    out_record=snakemake.output.record,
)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
