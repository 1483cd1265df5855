checkpoint cluster:
    """Group qps with alike strain histories (spline signatures); choose which members run MD
    (the representative, and ceil(n / beta^2) per cluster with ``noise_allowance``); without the
    committee also plan the step's MD (output ``schedule``: a checkpoint then).

    Also carries the strain history forward: step t's history file is step t-1's plus this
    step's strain, so every step reads two files, however long the run.
    """
    input:
        unpack(get_strain_history),
        **schedule_inputs("cluster"),
        materials=get_material_files,
    output:
        **schedule_output("cluster"),
        clusters="results/step_{step}/clusters.nc",
        history="results/step_{step}/strain_history.nc",
    log:
        "logs/cluster/step_{step}.log",
    benchmark:
        "benchmarks/cluster/step_{step}.tsv"
    wildcard_constraints:
        step=r"(?!0000)\d{4}",
    conda:
        "../../envs/ml.yaml"
    params:
        **schedule_params("cluster"),
        clustering=config["clustering"],
        seed=config["run"]["seed"],
        materials=MATERIAL_NAMES,
        used_materials=MATERIALS,
        symmetries=get_stiffness_symmetries(),
    script:
        "../../scripts/cluster.py"
