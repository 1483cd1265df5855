"""Checkpoint stage: write this step's MD schedule (which updates, which batch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from scema.config import material_names
from scema.io.datasets import material_variable
from scema.io.netcdf import component_coord, index_coord, read_dataset, write_dataset
from scema.schedule import plan
from scema.stages.cluster import representatives
from scema.stages.committee_query import committee_decision


def select_md_qps(representative: np.ndarray, trusted: np.ndarray) -> np.ndarray:
    """qps whose MD runs this step: cluster representatives (every qp without clustering) that
    the committee did not answer for."""
    reps = np.unique(representative)
    return reps[~trusted[reps]]


def run(
    config: dict,
    step: int,
    strain_path: str,
    prev_md_state: str,
    out_schedule: str,
    clusters_path: str | None = None,
    committee_path: str | None = None,
) -> None:
    strain = read_dataset(strain_path)
    state = read_dataset(prev_md_state)
    state_dir = Path(out_schedule).parent / "md" / "state"
    n_qp = strain.sizes["qp"]
    trusted, _, _, _ = committee_decision(committee_path, n_qp)  # audited qps run MD too
    schedule = plan(
        select_md_qps(representatives(clusters_path, n_qp), trusted),
        strain["strain"].values,
        strain["material"].values,
        state["state_file"].values,
        state["state_strain"].values,
        config["md"]["batches"],
        state_dir,
        run_seed=config["run"]["seed"],
        step=step,
    )
    n = schedule.qp.size
    unit = {"units": "1"}
    ds = xr.Dataset(
        {
            "qp_id": ("update", schedule.qp, {"long_name": "quadrature point of the update", **unit}),
            "replica_id": ("update", schedule.replica, {"long_name": "replica of the update", **unit}),
            "batch": ("update", schedule.batch, {"long_name": "MD batch (job) running the update", **unit}),
            "material": material_variable(schedule.material, material_names(config), dim="update"),
            "state_in": ("update", schedule.state_in, {"long_name": "LAMMPS state the update starts from", **unit}),
            "state_out": ("update", schedule.state_out, {"long_name": "LAMMPS state the update writes", **unit}),
            "strain_increment": (
                ("update", "component"),
                schedule.strain_increment,
                {"long_name": "strain applied by the update (accumulated since state_in)", **unit},
            ),
            "target_strain": (
                ("update", "component"),
                schedule.target_strain,
                {"long_name": "total strain after the update", **unit},
            ),
            "seed": ("update", schedule.seed, {"long_name": "thermostat random seed of the update", **unit}),
        },
        coords={**index_coord("update", n, "scheduled MD update"), **component_coord()},
        attrs={"step": int(step), "n_batches": int(schedule.n_batches)},
    )
    write_dataset(ds, out_schedule, f"MD schedule, step {step}")


def n_batches(schedule_path: str) -> int:
    """How many batch jobs the schedule asks for (read by the Snakemake input function).

    Reads the one attribute only: the file can hold millions of updates.
    """
    import netCDF4

    with netCDF4.Dataset(schedule_path) as nc:
        return int(nc.getncattr("n_batches"))
