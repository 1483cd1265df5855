rule committee_start:
    """Step 0 of the committee, per material: an empty training set and either no version or
    version 0, the physical prior alone with the material's measured scales (measured_prior)."""
    input:
        materials=get_committee_start_materials,
        zero_kelvin=get_committee_start_zero_kelvin,
    output:
        record="results/step_0000/committee.nc",
    log:
        "logs/committee_start/step_0000.log",
    benchmark:
        "benchmarks/committee_start/step_0000.tsv"
    conda:
        "../../envs/ml.yaml"
    params:
        committee=get_committee_start_settings(),
        materials=MATERIAL_NAMES,
        used_materials=MATERIALS,
        symmetries=get_committee_start_symmetries(),
    script:
        "../../scripts/committee_start.py"


checkpoint committee_query:
    """Each material's committee answers for its representatives: committee, MD, or audit (both);
    then the step's MD is planned from these answers (output ``schedule``)."""
    input:
        unpack(get_clusters),
        strain="results/step_{step}/strain.nc",
        prev_md_state=get_previous_md_state,
        prev_record=get_previous_committee_record,
    output:
        **schedule_output("committee_query"),
        query="results/step_{step}/committee_query.nc",
    log:
        "logs/committee_query/step_{step}.log",
    benchmark:
        "benchmarks/committee_query/step_{step}.tsv"
    wildcard_constraints:
        step=r"(?!0000)\d{4}",
    conda:
        "../../envs/ml.yaml"
    params:
        **schedule_params("committee_query"),
        committee=get_committee_query_settings(),
        run_seed=config["run"]["seed"],
        materials=MATERIAL_NAMES,
    script:
        "../../scripts/committee_query.py"


rule committee_update:
    """Store the step's MD samples and audits; suspend on failed audits; retrain per material.
    Carries the training set forward: step t's is step t-1's plus this step's samples, so every
    step reads one file of the steps before, however long the run."""
    input:
        unpack(get_previous_training_set),
        strain="results/step_{step}/strain.nc",
        stress="results/step_{step}/stress.nc",
        query="results/step_{step}/committee_query.nc",
        prev_md_state=get_previous_md_state,
        prev_record=get_previous_committee_record,
        materials=get_material_files,
        zero_kelvin=get_zero_kelvin_files,
    output:
        samples="results/step_{step}/training_samples.nc",
        training_set="results/step_{step}/training_set.nc",
        record="results/step_{step}/committee.nc",
    log:
        "logs/committee_update/step_{step}.log",
    benchmark:
        "benchmarks/committee_update/step_{step}.tsv"
    wildcard_constraints:
        step=r"(?!0000)\d{4}",
    conda:
        "../../envs/ml.yaml"
    params:
        committee=get_committee_update_settings(),
        materials=MATERIAL_NAMES,
        used_materials=MATERIALS,
        symmetries=get_stiffness_symmetries(),
    script:
        "../../scripts/committee_update.py"
