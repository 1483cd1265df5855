"""How many MD batch jobs a step's schedule asks for: read by Snakemake's input functions.

Its own module, importing netCDF4 only: whatever common.smk imports, every Snakemake start
pays (on SLURM, every job's Snakemake too). Through scema.stages.schedule it imported xarray,
0.3 s CPU per start beyond what Snakemake imports itself.
"""

from __future__ import annotations


def n_batches(schedule_path: str) -> int:
    """The schedule's ``n_batches`` attribute; reads that attribute only: the file can hold
    millions of updates."""
    import netCDF4

    with netCDF4.Dataset(schedule_path) as nc:
        return int(nc.getncattr("n_batches"))
