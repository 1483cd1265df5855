from _rule import exit_job, fail_with_line, material_files, to_log

if __name__ == "__main__":  # not again in the spawned MD workers, which import this file as __mp_main__
    to_log(snakemake)
    from scema.stages.md_batch import UpdateFailed, run

    try:
        run(
            schedule_path=snakemake.input.schedule,
            batch=int(snakemake.wildcards.batch),
            material_files=material_files(snakemake),
            materials=dict(zip(snakemake.params.materials, snakemake.params.material_configs)),
            out_batch=snakemake.output.batch,
            lammps_log=snakemake.log.lammps,
            processes=snakemake.threads,
            max_retries=snakemake.params.max_retries,
            run_seed=snakemake.params.seed,
        )
    except UpdateFailed as error:  # one line, in the rule log and on Snakemake's console
        fail_with_line(str(error))
    exit_job()  # skip the interpreter's teardown (scema.job_exit)
