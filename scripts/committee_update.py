from pathlib import Path

from _rule import exit_job, to_log

to_log(snakemake)
step = int(snakemake.wildcards.step)
from scema.stages.committee_update import run

run(
    dict(snakemake.params.committee),
    list(snakemake.params.materials),
    dict(snakemake.params.symmetries),
    step,
    strain_path=snakemake.input.strain,
    stress_path=snakemake.input.stress,
    prev_md_state=snakemake.input.prev_md_state,
    query_path=snakemake.input.query,
    prev_record=snakemake.input.prev_record,
    previous_training_set=snakemake.input.get("previous_training_set"),
    material_files=dict(zip(snakemake.params.used_materials, snakemake.input.materials)),
    zero_kelvin_files={Path(f).parent.name: f for f in snakemake.input.zero_kelvin},
    out_samples=snakemake.output.samples,
    out_training_set=snakemake.output.training_set,
    out_record=snakemake.output.record,
)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
