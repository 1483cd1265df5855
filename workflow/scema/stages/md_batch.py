"""One MD batch job: run its scheduled updates in one LAMMPS process (method section 3)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import xarray as xr

from scema.config import material_names
from scema.io.netcdf import component_coord, index_coord, read_dataset, write_dataset
from scema.md.material import MaterialSpec
from scema.md.update import Update, run_update
from scema.md.engine import Engine


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
    names = material_names(config)
    specs = {name: MaterialSpec.from_config(name, config["materials"][name]) for name in material_files}
    reference = {name: read_dataset(path)["reference_stress"].values for name, path in material_files.items()}
    n = rows.sizes["update"]
    stress = np.zeros((n, 6))
    seconds = np.zeros(n)
    with Engine(log=Path(lammps_log) if lammps_log else None) as engine:
        for k in range(n):
            name = names[int(rows["material"].values[k])]
            replica = int(rows["replica_id"].values[k])
            update = Update(
                material=name,
                qp=int(rows["qp_id"].values[k]),
                replica=replica,
                state_in=Path(str(rows["state_in"].values[k])),
                strain_increment=rows["strain_increment"].values[k],
                reference_stress=reference[name][replica],
                state_out=Path(str(rows["state_out"].values[k])),
                seed=int(rows["seed"].values[k]),
            )
            update.state_out.parent.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            stress[k] = run_update(engine, specs[name], update)
            seconds[k] = time.perf_counter() - start
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
        attrs={"step": int(schedule.attrs["step"]), "batch": int(batch)},
    )
    write_dataset(ds, out_batch, f"MD batch {batch}, step {schedule.attrs['step']}")
