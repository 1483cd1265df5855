"""FE step + strain export of one macroscale step (method section 2, steps 1-2)."""

from __future__ import annotations

import numpy as np

from scema.config import material_names
from scema.fe.boundary import prescribed_increments
from scema.fe.scheme import explicit_increment, quasistatic_increment
from scema.io.netcdf import read_contents, write_dataset
from scema.io.step_datasets import fe_state_dataset, strain_dataset
from scema.specimen import build_model
from scema.stages.aggregate import aggregate
from scema.stages.initial_state import rest_md_state


def run(
    model_settings: dict,
    fe: dict,
    boundary_conditions: list[dict],
    step: int,
    material_files: dict[str, str],
    out_fe_state: str,
    out_strain: str,
    out_displacement: str,
    prev_fe_state: str | None = None,
    prev_stress: str | None = None,
    prev_md_results: dict | None = None,
    plan: dict | None = None,
) -> None:
    """One increment. ``model_settings``: what build_model reads (rule params, like the rest);
    ``fe``: integrator, time step and the chosen solver's PETSc options; ``plan``: the keyword
    arguments of :func:`scema.stages.schedule.write_schedule` but the step's own files, when this
    step's MD is planned here (neither clustering nor the committee on).

    Where the step starts: no ``prev_fe_state`` is the specimen at rest, as initial_state writes
    step 0 (zero displacement, velocity, time and stress; every box at its reference state), so
    step 1 does not wait for that job. Else the previous FE state and stresses: ``prev_stress``
    (a stress.nc), or ``prev_md_results``, the previous step's MD results as
    :func:`scema.stages.aggregate.aggregate` takes them. Aggregated here, the step does not wait
    for aggregate_stress, which writes the same stresses beside it; the previous MD state index
    comes from them too when this step plans its MD. Files are read and built as numpy
    (``Contents``): this job runs between MD batches and imports no xarray (scema.io.netcdf)."""
    model, density = build_model(model_settings, material_files)
    if prev_fe_state is None:
        nodes = model.node_coordinates()
        state = fe_state_dataset(0, 0.0, np.zeros_like(nodes), np.zeros_like(nodes), nodes)
        stress_prev = np.zeros((model.n_qp, 6))
        if plan is not None:
            names = material_names(model_settings)
            rest = rest_md_state(model, names, material_files, int(plan["settings"]["replicas"]))
            plan = {**plan, "prev_md_state": rest}
    elif prev_md_results is None:
        state = read_contents(prev_fe_state)
        stress_prev = read_contents(prev_stress)["stress"]
    else:
        state = read_contents(prev_fe_state)
        prev_stress_ds, prev_md_state = aggregate(step - 1, **prev_md_results)
        stress_prev = prev_stress_ds["stress"]
        if plan is not None:
            plan = {**plan, "prev_md_state": prev_md_state}
    u_prev = state["displacement"]
    prescribed = prescribed_increments(boundary_conditions, step)
    if fe["integrator"] == "quasistatic":
        du = quasistatic_increment(model, stress_prev, prescribed, fe["petsc_options"])
        velocity = np.zeros_like(u_prev)
    else:
        du, velocity = explicit_increment(
            model, stress_prev, state["velocity"].copy(), prescribed, density, fe["time_step"]
        )
    u = u_prev + du
    time = state.attrs["time"] + fe["time_step"]
    strain = strain_dataset(
        step,
        model.qp_strain(u),
        model.qp_strain(du),
        model.qp_coordinates(),
        model.qp_cell(),
        model.qp_material(),
        material_names(model_settings),
    )
    nodes = model.node_coordinates()
    model.write_displacement(out_displacement, u, time)
    if model.comm.rank == 0:  # every rank holds the gathered arrays; one writes them
        write_dataset(strain, out_strain, f"qp strain, step {step}")
        write_dataset(fe_state_dataset(step, time, u, velocity, nodes), out_fe_state, f"FE state, step {step}")
        if plan is not None:
            from scema.stages.schedule import write_schedule

            write_schedule(step=step, strain_path=out_strain, **plan)
