rule committee_start:
    """Step 0 of the committee: no version yet, an empty training set."""
    output:
        state="results/step_0000/committee_state.nc",
    conda:
        "../../envs/ml.yaml"
    log:
        "logs/committee_start/step_0000.log",
    benchmark:
        "benchmarks/committee_start/step_0000.tsv"
    script:
        "../../scripts/committee_start.py"


rule committee_query:
    """Committee mean and spread for every representative; decide committee or MD."""
    input:
        unpack(get_clusters),
        strain="results/step_{step}/strain.nc",
        prev_stress=get_previous_stress,
        prev_state=get_previous_committee_state,
    output:
        committee="results/step_{step}/committee.nc",
    wildcard_constraints:
        step=r"(?!0000)\d{4}",
    conda:
        "../../envs/ml.yaml"
    log:
        "logs/committee_query/step_{step}.log",
    benchmark:
        "benchmarks/committee_query/step_{step}.tsv"
    script:
        "../../scripts/committee_query.py"


rule committee_update:
    """Store the step's MD samples; retrain when the set grew by train_frequency."""
    input:
        strain="results/step_{step}/strain.nc",
        stress="results/step_{step}/stress.nc",
        prev_stress=get_previous_stress,
        prev_state=get_previous_committee_state,
        earlier_samples=get_earlier_training_samples,
    output:
        samples="results/step_{step}/training_samples.nc",
        state="results/step_{step}/committee_state.nc",
    wildcard_constraints:
        step=r"(?!0000)\d{4}",
    conda:
        "../../envs/ml.yaml"
    log:
        "logs/committee_update/step_{step}.log",
    benchmark:
        "benchmarks/committee_update/step_{step}.tsv"
    script:
        "../../scripts/committee_update.py"
