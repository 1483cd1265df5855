# Config validation and input functions. Everything here is evaluated when the workflow is
# parsed, so a bad config stops the run before any job is submitted.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from scema.config import (
    GENERATED_MESH,
    ConfigError,
    material_names,
    used_materials,
    uses_measured_prior,
    uses_zero_kelvin_law as material_uses_zero_kelvin_law,
    validate_config,
)
from scema.io.schedule_size import n_batches
from scema.md.state import state_suffix
from scema.snakemake_exit import cancel_pending_timers, exit_on_success_without_teardown
from scema.fe.stability import check_time_step
from scema.profile_check import check_profile

_profile_error = check_profile(workflow.resource_settings)
if _profile_error:
    sys.exit(_profile_error)

try:
    # a cluster job parses the Snakefile again: the mesh (seconds when large) was checked by the main process
    _validated = validate_config(
        config, search_dirs=[Path.cwd(), Path(workflow.basedir)], mesh_checks=workflow.is_main_process
    )
    if workflow.is_main_process:
        check_time_step(_validated, run_dir=Path.cwd())
except ConfigError as error:
    sys.exit(str(error))
config.clear()
config.update(_validated)

STEPS = [f"{t:04d}" for t in range(1, config["run"]["steps"] + 1)]
MATERIALS = used_materials(config)
MATERIAL_NAMES = material_names(config)  # index order of the material flags in every file
REPLICAS = list(range(config["md"]["replicas"]))


wildcard_constraints:
    step=r"\d{4}",
    batch=r"\d+",
    material=r"[A-Za-z0-9_]+",  # = the schema's materials.propertyNames: a bad name fails at parse time
    replica=r"\d+",


def step_dir(step):
    return f"results/step_{step}"


def previous_step(wildcards):
    return f"{int(wildcards.step) - 1:04d}"


def get_material_files(wildcards):
    """Initialised material files of every material the specimen uses."""
    return [f"results/materials/{m}/material.nc" for m in MATERIALS]


def get_mesh(wildcards):
    """The mesh file (named input ``mesh``; generated or gmsh), so that a new mesh re-runs the FE; none for a box."""
    if config["specimen"]["mesh"]["type"] == "box":
        return {}
    return {"mesh": config["specimen"]["mesh"]["file"]}


# Config slices passed as params: Snakemake re-runs a job whose params changed (and everything
# downstream), so each rule gets exactly the keys its stage reads, nothing more.


def get_fe_model_settings():
    """What scema.specimen.build_model reads, config-shaped: the specimen's geometry and material
    layout, each material's stiffness symmetry (every material, in config order: the index)."""
    specimen = config["specimen"]
    layout = ("mesh", "material", "regions", "boundaries")
    return {
        "specimen": {key: specimen[key] for key in layout if key in specimen},
        "materials": {name: {"stiffness_symmetry": m["stiffness_symmetry"]} for name, m in config["materials"].items()},
    }


def get_fe_settings():
    """fe_step's numerics: integrator, time step and the PETSc options of the chosen solver only."""
    fe = config["fe"]
    return {
        "integrator": fe["integrator"],
        "time_step": fe["time_step"],
        "petsc_options": fe["petsc_options"].get(fe["solver"], {}),
    }


def get_committee_query_settings():
    """The decision thresholds committee_query reads (training settings do not change a query)."""
    committee = config["committee"]
    return {key: committee[key] for key in ("stress_accuracy_mpa", "audit_fraction", "audit_tolerance")}


def get_committee_update_settings():
    """Everything committee_update reads: training settings, target, retraining and audit judgement
    (``zero_kelvin_law`` reaches it as the law files it reads, so switching it on where no material
    uses a law reruns nothing; ``prior_version`` only step 0 reads)."""
    skip = ("enabled", "audit_fraction", "zero_kelvin_law", "prior_version")
    return {k: v for k, v in config["committee"].items() if k not in skip}


def builds_prior_version():
    """committee_start builds version 0 (the prior alone) only with committee.prior_version where the
    measured prior applies; elsewhere the default is inert: no inputs, no settings, no rerun."""
    return bool(config["committee"]["prior_version"]) and uses_measured_prior(config["committee"])


def get_committee_start_settings():
    """What committee_start reads: without version 0 nothing, so no other committee setting
    reruns step 0 (and with it every step's query)."""
    if not builds_prior_version():
        return {"prior_version": False}
    return {**get_committee_update_settings(), "prior_version": True}


def get_committee_start_symmetries():
    """Stiffness symmetries version 0 uses (none without it)."""
    return get_stiffness_symmetries() if builds_prior_version() else {}


def get_committee_start_materials(wildcards):
    """Material files version 0 is built from (none without it)."""
    return get_material_files(wildcards) if builds_prior_version() else []


def get_summary_accuracy():
    """The committee's stress accuracy (MPa) for the summary's audit figures; None with the
    committee off, so that changing a disabled acceleration's setting reruns nothing."""
    committee = config["committee"]
    return committee["stress_accuracy_mpa"] if committee["enabled"] else None


def uses_zero_kelvin_law(name):
    """The committee prior of this material has the 0 K second-order law as its mean (scema.config)."""
    return material_uses_zero_kelvin_law(config, name)


def get_zero_kelvin_files(wildcards):
    """The 0 K laws committee_update reads (materials where ``uses_zero_kelvin_law``)."""
    return [f"results/materials/{m}/zero_kelvin.nc" for m in MATERIALS if uses_zero_kelvin_law(m)]


def get_committee_start_zero_kelvin(wildcards):
    """The 0 K laws version 0 is built with (none without it)."""
    return get_zero_kelvin_files(wildcards) if builds_prior_version() else []


def get_material_states(wildcards):
    return [f"results/materials/{wildcards.material}/replica_{r}.data" for r in REPLICAS]


def get_material_replica_files(wildcards):
    """What each replica's material_replica job measured, in replica order."""
    return [f"results/materials/{wildcards.material}/replica_{r}.nc" for r in REPLICAS]


def md_material_config(name):
    """A material's definition as MD reads it: all but the stiffness symmetry (an FE choice).
    Keys sorted: params compare in order, and a key the user sets (even to its default) comes
    before the defaults the schema fills in, which would rerun the material for nothing."""
    entry = config["materials"][name]
    return {key: entry[key] for key in sorted(entry) if key != "stiffness_symmetry"}


def get_material_files_read_by_md(wildcards):
    """The files a material's MD reads (structure and force-field templates, potential files):
    inputs of its jobs, so an edited template or potential reruns the material and all after it
    (the params see only their paths)."""
    material = config["materials"][wildcards.material]
    files = {"structure": material["structure"], "forcefield": material["forcefield"]}
    for name, value in sorted(material.get("variables", {}).items()):
        if name.endswith("_file"):
            files[f"variable_{name}"] = value
    return files


def get_material_config(wildcards):
    """The material's MD definition as material_init uses it: a change re-runs material_init
    (params are a rerun trigger). Its stiffness and noise windows sample every step, so the
    updates' sampling_stride is fixed at 1 here: changing the stride reruns the updates only."""
    return {**md_material_config(wildcards.material), "sampling_stride": 1}


def md_results(step):
    """A step's MD results as the aggregation reads them (scema.stages.aggregate): the step's
    strain, the MD state index before it, its batches (known once its schedule is written) and,
    when on, its clusters and committee answers."""
    results = {
        "strain": f"{step_dir(step)}/strain.nc",
        "prev_md_state": f"{step_dir(f'{int(step) - 1:04d}')}/md_state.nc",
        "batches": md_batch_files(step),
    }
    if config["clustering"]["enabled"]:
        results["clusters"] = f"{step_dir(step)}/clusters.nc"
    if config["committee"]["enabled"]:
        results["committee"] = f"{step_dir(step)}/committee_query.nc"
    return results


def get_md_results(wildcards):
    """aggregate_stress's inputs: the step's MD results."""
    return md_results(wildcards.step)


# fe_step's names for the previous step's MD results (md_results' keys)
PREVIOUS_MD_RESULTS = {
    "strain": "prev_strain",
    "prev_md_state": "prev_start_state",
    "batches": "prev_batches",
    "clusters": "prev_clusters",
    "committee": "prev_committee",
}


def get_previous_state(wildcards):
    """What fe_step starts from: nothing at step 1 (the specimen at rest, built in the job as
    initial_state writes step 0, so the first MD need not wait for initial_state); later the
    previous FE state and the previous step's MD results themselves, aggregated in the job as
    aggregate_stress aggregates them. So a step's FE follows its predecessor's MD at once, and
    aggregate_stress writes the same stresses to stress.nc beside it, off that path."""
    prev = previous_step(wildcards)
    if int(prev) == 0:
        return {}
    return {
        "prev_fe_state": f"{step_dir(prev)}/fe_state.nc",
        **{PREVIOUS_MD_RESULTS[key]: path for key, path in md_results(prev).items()},
    }


def get_strain_history(wildcards):
    """This step's strain and the previous step's accumulated history (none at step 1).

    Two files whatever the step, not every earlier strain file: the cluster rule carries the
    history forward (results/step_t/strain_history.nc), so inputs and DAG work stay flat.
    """
    inputs = {"strain": f"{step_dir(wildcards.step)}/strain.nc"}
    if int(wildcards.step) > 1:
        inputs["previous_history"] = f"{step_dir(previous_step(wildcards))}/strain_history.nc"
    return inputs


def get_clusters(wildcards):
    """This step's clusters when clustering is on (named input ``clusters``), else nothing."""
    if not config["clustering"]["enabled"]:
        return {}
    return {"clusters": f"{step_dir(wildcards.step)}/clusters.nc"}


def get_previous_md_state(wildcards):
    """Where every box stood before this step: the committee's inputs start there."""
    return f"{step_dir(previous_step(wildcards))}/md_state.nc"


def get_previous_committee_record(wildcards):
    return f"{step_dir(previous_step(wildcards))}/committee.nc"


def get_committee_records(wildcards):
    """Committee record and training samples (audits) of every step when the committee is on."""
    if not config["committee"]["enabled"]:
        return {}
    return {
        "committee": [f"{step_dir(s)}/committee.nc" for s in STEPS],
        "committee_samples": [f"{step_dir(s)}/training_samples.nc" for s in STEPS],
    }


def get_stiffness_symmetries():
    """Material -> stiffness symmetry: the committee projects C as the FE side does."""
    return {name: material["stiffness_symmetry"] for name, material in config["materials"].items()}


def get_previous_training_set(wildcards):
    """Step t-1's accumulated training set (named input ``previous_training_set``; none at step 1).

    One file whatever the step: step t-1's job wrote its set from step t-2's, so a changed earlier
    sample still re-runs every later update, the DAG holds O(steps) inputs and a job reads one file.
    """
    if int(wildcards.step) == 1:
        return {}
    return {"previous_training_set": f"{step_dir(previous_step(wildcards))}/training_set.nc"}


def get_schedule_planner():
    """Which rule writes a step's MD schedule, the last stage before the MD (committee_query
    with the committee on, else cluster with clustering on, else fe_step). It calls the one
    planning function (scema.stages.schedule) at its end; a job of its own only to plan cost
    every step an interpreter start, the imports and a Snakemake round trip."""
    if config["committee"]["enabled"]:
        return "committee_query"
    if config["clustering"]["enabled"]:
        return "cluster"
    return "fe_step"


SCHEDULE_PLANNER = get_schedule_planner()


def schedule_output(name):
    """Named output ``schedule`` for the planning rule (SCHEDULE_PLANNER), nothing for the others."""
    if name != SCHEDULE_PLANNER:
        return {}
    return {"schedule": "results/step_{step}/md_schedule.nc"}


def schedule_params(name):
    """Param ``schedule`` (what planning reads) for the planning rule only; a changed
    ``md.batches`` reruns the planner, not the stages that do not plan."""
    if name != SCHEDULE_PLANNER:
        return {}
    return {
        "schedule": {
            "batches": config["md"]["batches"],
            "replicas": config["md"]["replicas"],
            "seed": config["run"]["seed"],
            "materials": MATERIAL_NAMES,
            "state_suffixes": state_suffixes(),
        }
    }


def state_suffixes():
    """qp state file suffix per material (config order): NetCDF for atomic styles (scema.md.state)."""
    return [state_suffix(config["materials"][m]["atom_style"]) for m in MATERIAL_NAMES]


def schedule_inputs(name):
    """Where every box stood before the step (``prev_md_state``), for a planning rule that does
    not read it anyway (cluster)."""
    if name != SCHEDULE_PLANNER:
        return {}
    return {"prev_md_state": get_previous_md_state}


def schedule_planner_checkpoint():
    """The checkpoint whose output tells how many MD batches a step has."""
    return getattr(checkpoints, SCHEDULE_PLANNER)


def md_batch_files(step):
    """Batch outputs of a step, known once the step's schedule is written (a checkpoint)."""
    schedule = schedule_planner_checkpoint().get(step=step).output.schedule
    return [f"{step_dir(step)}/md/batch_{b}.nc" for b in range(n_batches(schedule))]


def get_md_batch_benchmarks(wildcards):
    """Benchmark files of every MD batch of the run (summary).

    The last step's checkpoint is asked first: until it has run this raises at once, instead of
    walking every finished step after each checkpoint (O(steps^2) over a run); once it has run,
    every earlier schedule exists (each step depends on the previous one).
    """
    planner = schedule_planner_checkpoint()
    planner.get(step=STEPS[-1])
    files = []
    for step in STEPS:
        schedule = planner.get(step=step).output.schedule
        files += [f"benchmarks/md_batch/step_{step}_batch_{b}.tsv" for b in range(n_batches(schedule))]
    return files


def get_final_output():
    outputs = ["results/summary.nc"]
    outputs += [f"{step_dir(s)}/stress.nc" for s in STEPS]
    outputs += [f"{step_dir(s)}/displacement.xdmf" for s in STEPS]
    if config["committee"]["enabled"]:
        outputs.append(f"{step_dir(STEPS[-1])}/committee.nc")
    return outputs


def get_cluster_files(wildcards):
    """Every step's clusters when clustering is on (named input ``clusters``), else nothing."""
    if not config["clustering"]["enabled"]:
        return {}
    return {"clusters": [f"{step_dir(s)}/clusters.nc" for s in STEPS]}
