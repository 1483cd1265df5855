from _rule import exit_job, to_log

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
    accuracy_pa=float("nan") if snakemake.params.accuracy_mpa is None else snakemake.params.accuracy_mpa * 1e6,
)

from scema import plots

stresses, clusters = list(snakemake.input.stresses), list(snakemake.input.get("clusters", []))
plots.load_displacement_plot(snakemake.output.summary, snakemake.output.load_displacement)
plots.updates_by_source_plot(snakemake.output.summary, stresses, snakemake.output.updates)
plots.provenance_maps(snakemake.input.strain, stresses, snakemake.output.maps)
plots.stress_strain_paths(snakemake.output.summary, stresses, snakemake.output.paths)
plots.representatives_plot(stresses, clusters, snakemake.output.representatives)
exit_job()  # skip the interpreter's teardown (scema.job_exit)
