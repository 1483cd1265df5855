rule initial_state:
    """Step 0: unloaded specimen, zero stress, every MD box at its material's reference box; the
    run's internal-force operator and lifting weights, from which aggregate_stress computes each
    step's reaction (the integrator decides which estimator: see scema.stages.reaction)."""
    input:
        unpack(get_mesh),
        materials=get_material_files,
    output:
        stress="results/step_0000/stress.nc",
        fe_state="results/step_0000/fe_state.nc",
        md_state="results/step_0000/md_state.nc",
        internal_force="results/internal_force.nc",
    log:
        "logs/initial_state/step_0000.log",
    benchmark:
        "benchmarks/initial_state/step_0000.tsv"
    conda:
        "../../envs/fenicsx.yaml"
    params:
        materials=MATERIALS,
        model=get_fe_model_settings(),
        replicas=config["md"]["replicas"],
        boundary_conditions=config["specimen"]["boundary_conditions"],
        integrator=config["fe"]["integrator"],
    script:
        "../../scripts/initial_state.py"


checkpoint fe_step:
    """Solve the macroscale increment with the previous stresses (after step 1 aggregated here
    from the previous step's MD results, not read from stress.nc: the FE need not wait for
    aggregate_stress); export qp strains; without clustering and committee also plan the step's
    MD (output ``schedule``: a checkpoint then)."""
    input:
        unpack(get_previous_state),
        unpack(get_mesh),
        materials=get_material_files,
    output:
        **schedule_output("fe_step"),
        fe_state="results/step_{step}/fe_state.nc",
        strain="results/step_{step}/strain.nc",
        displacement="results/step_{step}/displacement.xdmf",
        displacement_h5="results/step_{step}/displacement.h5",
    log:
        "logs/fe_step/step_{step}.log",
    benchmark:
        "benchmarks/fe_step/step_{step}.tsv"
    wildcard_constraints:
        step=r"(?!0000)\d{4}",
    conda:
        "../../envs/fenicsx.yaml"
    params:
        **schedule_params("fe_step"),
        materials=MATERIALS,
        model=get_fe_model_settings(),
        fe=get_fe_settings(),
        boundary_conditions=config["specimen"]["boundary_conditions"],
    script:
        "../../scripts/fe_step.py"
