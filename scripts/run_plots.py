from _rule import to_log

to_log(snakemake)
from scema import plots

stresses, clusters = list(snakemake.input.stresses), list(snakemake.input.get("clusters", []))
plots.load_displacement_plot(snakemake.input.summary, snakemake.output.load_displacement)
plots.updates_by_source_plot(snakemake.input.summary, stresses, snakemake.output.updates)
plots.provenance_maps(snakemake.input.strain, stresses, snakemake.output.maps)
plots.stress_strain_paths(snakemake.input.summary, stresses, snakemake.output.paths)
plots.representatives_plot(stresses, clusters, snakemake.output.representatives)
