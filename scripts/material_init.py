from _rule import run_lammps_stage, to_log

if __name__ == "__main__":  # not again in the child process, which imports this file as __mp_main__
    to_log(snakemake)
    run_lammps_stage(
        snakemake,
        "scema.stages.material_init:run",
        name=snakemake.wildcards.material,
        material_cfg=dict(snakemake.params.material),
        replicas=int(snakemake.params.replicas),
        run_seed=int(snakemake.params.seed),
        state_files=list(snakemake.output.states),
        out_material=snakemake.output.material,
        lammps_log=snakemake.log.lammps,
    )
