rule material_init:
    """Equilibrate the replica reference boxes and compute the homogenised stiffness (cached)."""
    output:
        material="results/materials/{material}/material.nc",
        states=expand("results/materials/{{material}}/replica_{r}.data", r=REPLICAS),
    log:
        main="logs/material_init/{material}.log",
        lammps="logs/material_init/{material}.lammps.log",
    benchmark:
        "benchmarks/material_init/{material}.tsv"
    conda:
        "../../envs/lammps.yaml"
    params:
        material=get_material_config,
        replicas=config["md"]["replicas"],
        seed=config["run"]["seed"],
    script:
        "../../scripts/material_init.py"
