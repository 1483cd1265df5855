rule specimen_mesh:
    """The specimen's mesh from its generator and parameters (specimen.mesh.type: generated)."""
    output:
        mesh=GENERATED_MESH,
    log:
        "logs/specimen_mesh/specimen.log",
    benchmark:
        "benchmarks/specimen_mesh/specimen.tsv"
    conda:
        "../../envs/fenicsx.yaml"
    params:
        generator=config["specimen"]["mesh"]["generator"],
        parameters=config["specimen"]["mesh"]["parameters"],
    script:
        "../../scripts/specimen_mesh.py"
