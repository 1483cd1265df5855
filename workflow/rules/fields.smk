rule paraview_fields:
    """Displacement and per-cell stress, von Mises, provenance, committee spread and cluster of
    every step in one XDMF time series (ParaView opens it as a sequence)."""
    input:
        unpack(get_mesh),
        unpack(get_cluster_files),
        materials=get_material_files,
        fe_states=expand("results/step_{step}/fe_state.nc", step=STEPS),
        stresses=expand("results/step_{step}/stress.nc", step=STEPS),
    output:
        fields="results/fields/fields.xdmf",
        fields_h5="results/fields/fields.h5",
    log:
        "logs/paraview_fields/fields.log",
    benchmark:
        "benchmarks/paraview_fields/fields.tsv"
    conda:
        "../../envs/fenicsx.yaml"
    params:
        materials=MATERIALS,
    script:
        "../../scripts/paraview_fields.py"
