"""Step 0: the unloaded specimen. Zero stress and displacement; every box is its reference box."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np

from scema.config import material_names
from scema.io.netcdf import Contents, read_contents, write_dataset
from scema.io.step_datasets import fe_state_dataset, md_state_dataset, stress_dataset
from scema.specimen import build_model
from scema.stages.reaction import operator_dataset

if TYPE_CHECKING:
    import xarray as xr


def run(
    model_settings: dict,
    replicas: int,
    boundary_conditions: list[dict],
    integrator: str,
    material_files: dict[str, str],
    out_stress: str,
    out_fe_state: str,
    out_md_state: str,
    out_internal_force: str,
) -> None:
    """``model_settings``: what build_model reads (rule params). Also writes the run's
    internal-force operator, from which aggregate_stress computes each step's reaction;
    ``integrator`` (fe.integrator) picks its estimator."""
    model, _density = build_model(model_settings, material_files)
    n_qp = model.n_qp  # collective: before rank 0 goes on alone
    md_state = rest_md_state(model, material_names(model_settings), material_files, replicas)
    nodes = model.node_coordinates()
    operator = operator_dataset(model, boundary_conditions, integrator)
    if model.comm.rank != 0:  # every rank holds the gathered arrays; one writes them
        return
    zeros6 = np.zeros((n_qp, 6))
    write_dataset(stress_dataset(0, zeros6, zeros6, np.zeros(n_qp), zeros6), out_stress, "qp stress, step 0")
    write_dataset(md_state, out_md_state, "MD state index, step 0")
    zeros3 = np.zeros_like(nodes)
    write_dataset(fe_state_dataset(0, 0.0, zeros3, zeros3, nodes), out_fe_state, "FE state, step 0")
    write_dataset(operator, out_internal_force, "internal force operator")


def rest_md_state(model, names: list[str], material_files: dict[str, str], replicas: int) -> Contents:
    """Step 0's MD state index: every box of a qp at its material's reference state, unstrained.

    Also what fe_step plans step 1's MD from, so that step 1 does not wait for this job (it
    reads the material files as numpy there: ``Contents``, no xarray; scema.io.netcdf)."""
    qp_material = model.qp_material()
    state_file = np.empty((model.n_qp, replicas), dtype=object)
    for name, path in material_files.items():
        mine = qp_material == names.index(name)
        material = read_contents(path)
        state_file[mine, :] = rest_state_files(material, replicas, int(np.count_nonzero(mine)))
        warn_unbalanced_rest_states(name, material, int(np.count_nonzero(mine)))
    return md_state_dataset(0, state_file, np.zeros((model.n_qp, replicas, 6)))


def warn_unbalanced_rest_states(name: str, material: xr.Dataset | Contents, n_qp: int) -> None:
    """Warn when a rest-update material's qps do not start from its rest states alike.

    Its reference is the mean over ALL rest states, and a glass's states differ by 30-70 MPa
    that an update keeps for ~5k MD steps, so qps starting from only some of them carry a step-1
    bias the subtraction does not cancel (measured: 16 qps from the first 16 of 32 glass states,
    -21 +- 6 MPa xx; docs/results/cuzr_glass_rest_state_spacing.txt). A crystal forgets its state
    in ~200 steps: window materials are not warned about."""
    if "rest_state_file" not in material or material.attrs.get("reference_estimator") != "rest_updates":
        return
    states = material.sizes["rest_state"]
    if n_qp % states:
        print(
            f"warning: material {name}: {n_qp} qps per replica start from rest states k mod {states}, not from all "
            f"{states} alike, while its reference averages all of them: set materials.{name}.rest_states to {n_qp} "
            f"(or a divisor) so the qps start from exactly the states the reference describes",
            file=sys.stderr,
        )


def rest_state_files(material: xr.Dataset | Contents, replicas: int, n_qp: int) -> np.ndarray:
    """(n_qp, replicas) state files that a material's qps (in qp order) start from.

    The k-th qp takes its replicas' rest state k mod rest_states (states along the reference
    window, ``rest_state_file`` in material.nc), so the qps do not all carry one state's own
    stress fluctuation; a material without them: every qp from ``state_file``."""
    if "rest_state_file" in material:
        rest = np.asarray(material["rest_state_file"])[:replicas]  # (replicas, rest_state)
        return rest[:, np.arange(n_qp) % rest.shape[1]].T
    return np.tile(np.asarray(material["state_file"])[:replicas], (n_qp, 1))
