from _rule import to_log

to_log(snakemake)
from scema.stages.summary import STAGES, run

run(
    reaction_files=list(snakemake.input.reactions),
    face=snakemake.params.face,
    schedule_files=list(snakemake.input.schedules),
    benchmarks={stage: list(snakemake.input[stage]) for stage in STAGES},
    out_summary=snakemake.output.summary,
    committee_files=list(snakemake.input.get("committee", [])),
    sample_files=list(snakemake.input.get("committee_samples", [])),
)
