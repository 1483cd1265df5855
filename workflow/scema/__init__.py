"""SCEMa, the Snakemake edition: semi-concurrent FE-MD multiscale mechanics."""

__version__ = "0.1.0"
