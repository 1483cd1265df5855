rule material_replica:
    """Prepare and equilibrate one reference box, measure its reference stress (writing the rest
    states that qps start from along that window) and its stiffness.
    One job per replica: replicas are independent (own seeds), so they run side by side. Its
    measurements (replica_{r}.nc) are temporary: material.nc holds them, so the cache is
    material.nc and the state files, as before the split."""
    input:
        unpack(get_material_files_read_by_md),
    output:
        state="results/materials/{material}/replica_{replica}.data",
        rest=directory("results/materials/{material}/replica_{replica}_rest"),
        replica=temp("results/materials/{material}/replica_{replica}.nc"),
    log:
        main="logs/material_replica/{material}_replica_{replica}.log",
        lammps="logs/material_replica/{material}_replica_{replica}.lammps.log",
    benchmark:
        "benchmarks/material_replica/{material}_replica_{replica}.tsv"
    conda:
        "../../envs/lammps.yaml"
    threads: 1
    params:
        material=get_material_config,
        seed=config["run"]["seed"],
    script:
        "../../scripts/material_replica.py"


rule material_init:
    """Combine the replicas' measurements into the material file (cached): reference stresses,
    their errors and ageing jumps, sampling noise, stiffness."""
    input:
        replicas=get_material_replica_files,
    output:
        material="results/materials/{material}/material.nc",
    log:
        "logs/material_init/{material}.log",
    benchmark:
        "benchmarks/material_init/{material}.tsv"
    conda:
        "../../envs/workflow.yaml"
    threads: 1
    params:
        material=get_material_config,
    script:
        "../../scripts/material_init.py"


rule material_zero_kelvin:
    """The perfect lattice's second-order law at 0 K (a minimisation, < 1 s): the committee
    prior's second-order mean for a crystal (committee.zero_kelvin_law)."""
    input:
        unpack(get_material_files_read_by_md),
    output:
        law="results/materials/{material}/zero_kelvin.nc",
    log:
        main="logs/material_zero_kelvin/{material}.log",
        lammps="logs/material_zero_kelvin/{material}.lammps.log",
    benchmark:
        "benchmarks/material_zero_kelvin/{material}.tsv"
    conda:
        "../../envs/lammps.yaml"
    threads: 1
    params:
        material=get_material_config,
    script:
        "../../scripts/material_zero_kelvin.py"
