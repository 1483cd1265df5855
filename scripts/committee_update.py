from pathlib import Path

from _rule import exit_job, to_log

to_log(snakemake)
step = int(snakemake.wildcards.step)
# the rule names step t-1's samples only (O(1) inputs per step); the training set is steps 1..t-1
results = Path(snakemake.output.samples).parents[1]
earlier_samples = [str(results / f"step_{t:04d}" / "training_samples.nc") for t in range(1, step)]
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
    earlier_samples=earlier_samples,
    material_files=dict(zip(snakemake.params.used_materials, snakemake.input.materials)),
    zero_kelvin_files={Path(f).parent.name: f for f in snakemake.input.zero_kelvin},
    out_samples=snakemake.output.samples,
    out_record=snakemake.output.record,
)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
