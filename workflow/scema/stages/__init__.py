"""One module per workflow stage: each turns input files into output files.

The Snakemake scripts call these; they hold no Snakemake objects, so tests call them directly.
"""
