rule cluster:
    """Group qps with alike strain histories (spline signatures); only representatives run MD."""
    input:
        history=get_strain_history,
    output:
        clusters="results/step_{step}/clusters.nc",
    params:
        clustering=config["clustering"],
    wildcard_constraints:
        step=r"(?!0000)\d{4}",
    conda:
        "../../envs/ml.yaml"
    log:
        "logs/cluster/step_{step}.log",
    benchmark:
        "benchmarks/cluster/step_{step}.tsv"
    script:
        "../../scripts/cluster.py"
