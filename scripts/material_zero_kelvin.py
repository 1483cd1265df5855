from _rule import exit_job, run_lammps_stage, to_log

if __name__ == "__main__":  # not again in the child process, which imports this file as __mp_main__
    to_log(snakemake)
    run_lammps_stage(
        snakemake,
        "scema.stages.zero_kelvin:run",
        name=snakemake.wildcards.material,
        material_cfg=dict(snakemake.params.material),
        out_law=snakemake.output.law,
        lammps_log=snakemake.log.lammps,
    )
    exit_job()  # skip the interpreter's teardown (scema.job_exit)
