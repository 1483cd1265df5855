from _rule import to_log

to_log(snakemake)
from scema.stages.committee_update import run

run(
    dict(snakemake.params.committee),
    list(snakemake.params.materials),
    dict(snakemake.params.symmetries),
    int(snakemake.wildcards.step),
    strain_path=snakemake.input.strain,
    stress_path=snakemake.input.stress,
    prev_md_state=snakemake.input.prev_md_state,
    query_path=snakemake.input.query,
    prev_record=snakemake.input.prev_record,
    earlier_samples=list(snakemake.input.earlier_samples),
    material_files=dict(zip(snakemake.params.used_materials, snakemake.input.materials)),
    out_samples=snakemake.output.samples,
    out_record=snakemake.output.record,
)
