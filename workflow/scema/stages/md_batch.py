"""One MD batch job: run its scheduled updates (method section 3).

Updates run in one LAMMPS instance per worker process, never one process per update; with
``md.processes_per_batch`` > 1 the batch's updates are split into that many contiguous chunks
run side by side (one serial LAMMPS each), so a job uses all the cores it is given.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import xarray as xr

from scema.config import material_names
from scema.io.netcdf import component_coord, index_coord, read_dataset, write_dataset
from scema.md.engine import Engine
from scema.md.material import MaterialSpec
from scema.md.update import Update, run_update


def build_updates(rows: xr.Dataset, names: list[str], materials: dict[str, xr.Dataset]) -> list[Update]:
    """The batch's updates: each box goes to the cell of its qp's total strain (``target_strain``)
    built from its replica's ``reference_cell`` in material.nc, minus that replica's reference stress."""
    updates = []
    for k in range(rows.sizes["update"]):
        name = names[int(rows["material"].values[k])]
        replica = int(rows["replica_id"].values[k])
        updates.append(
            Update(
                material=name,
                qp=int(rows["qp_id"].values[k]),
                replica=replica,
                state_in=Path(str(rows["state_in"].values[k])),
                target_strain=rows["target_strain"].values[k],
                reference_cell=materials[name]["reference_cell"].values[replica],
                reference_stress=materials[name]["reference_stress"].values[replica],
                state_out=Path(str(rows["state_out"].values[k])),
                seed=int(rows["seed"].values[k]),
            )
        )
    return updates


def run_updates(materials: dict[str, dict], updates: list[Update], lammps_log: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Stresses (n, 6) Pa and wall seconds (n,) of updates run in order in one LAMMPS instance.

    Takes the materials' config entries (plain, picklable data) so it can run in a worker.
    """
    specs = {name: MaterialSpec.from_config(name, cfg) for name, cfg in materials.items()}
    stress, seconds = np.zeros((len(updates), 6)), np.zeros(len(updates))
    with Engine(log=Path(lammps_log) if lammps_log else None) as engine:
        for k, update in enumerate(updates):
            update.state_out.parent.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            stress[k] = run_update(engine, specs[update.material], update)
            seconds[k] = time.perf_counter() - start
    return stress, seconds


def run_side_by_side(
    materials: dict[str, dict], updates: list[Update], processes: int, lammps_log: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Split into contiguous chunks, one worker process (and LAMMPS instance) each."""
    processes = max(1, min(processes, len(updates)))
    if processes == 1:
        return run_updates(materials, updates, lammps_log)
    chunks = np.array_split(np.arange(len(updates)), processes)
    logs = [f"{lammps_log}.{i}" if lammps_log else None for i in range(processes)]
    # spawn: a fresh interpreter per worker, no LAMMPS/MPI state inherited through fork
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_updates, materials, [updates[i] for i in c], log) for c, log in zip(chunks, logs)]
        results = [f.result() for f in futures]
    return np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results])


def run(
    config: dict,
    schedule_path: str,
    batch: int,
    material_files: dict[str, str],
    out_batch: str,
    lammps_log: str | None = None,
) -> None:
    schedule = read_dataset(schedule_path)
    rows = schedule.isel(update=np.flatnonzero(schedule["batch"].values == batch))
    materials = {name: config["materials"][name] for name in material_files}
    reference = {name: read_dataset(path) for name, path in material_files.items()}
    updates = build_updates(rows, material_names(config), reference)
    stress, seconds = run_side_by_side(materials, updates, config["md"]["processes_per_batch"], lammps_log)
    n = len(updates)
    unit = {"units": "1"}
    ds = xr.Dataset(
        {
            "qp_id": ("update", rows["qp_id"].values.astype(np.int64), {"long_name": "quadrature point", **unit}),
            "replica_id": ("update", rows["replica_id"].values.astype(np.int64), {"long_name": "replica", **unit}),
            "stress": (("update", "component"), stress, {"long_name": "MD stress minus reference stress", "units": "Pa"}),
            "state_file": ("update", rows["state_out"].values.astype(object), {"long_name": "state written", **unit}),
            "target_strain": (("update", "component"), rows["target_strain"].values, {"long_name": "total strain of the state", **unit}),
            "wall_time": ("update", seconds, {"long_name": "wall time of the update", "units": "s"}),
        },
        coords={**index_coord("update", n, "update within this batch"), **component_coord()},
        attrs={"step": int(schedule.attrs["step"]), "batch": int(batch), "processes": int(config["md"]["processes_per_batch"])},
    )
    write_dataset(ds, out_batch, f"MD batch {batch}, step {schedule.attrs['step']}")
