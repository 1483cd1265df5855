rule md_batch:
    """Run one batch of MD updates in worker processes; resumes from its journal after a kill."""
    input:
        schedule="results/step_{step}/md_schedule.nc",
        materials=get_material_files,
    output:
        batch="results/step_{step}/md/batch_{batch}.nc",
    log:
        main="logs/md_batch/step_{step}_batch_{batch}.log",
        lammps="logs/md_batch/step_{step}_batch_{batch}.lammps.log",
    benchmark:
        "benchmarks/md_batch/step_{step}_batch_{batch}.tsv"
    conda:
        "../../envs/lammps.yaml"
    # worker processes (one serial LAMMPS each); not a param: it does not change the results
    threads: config["md"]["processes_per_batch"]
    params:
        materials=MATERIALS,
        material_configs=[md_material_config(m) for m in MATERIALS],
        max_retries=config["md"]["max_update_retries"],
        seed=config["run"]["seed"],
    script:
        "../../scripts/md_batch.py"
