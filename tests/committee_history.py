"""A committee run's steps on files without Snakemake or MD: committee_query and committee_update
step after step on a bar of copper-like qps whose "MD" is a second-order law plus noise.

Shared by ``test_committee_training_set.py`` (the stage's results over a multi-step history) and
``tests/benchmarks/bench_steps.py --committee-history`` (committee_update's CPU per step against
the step index). The driver calls whichever committee_update.run it imports (this checkout's, or
an earlier commit's through SCEMA_BENCH_CODE): the earlier one took every earlier step's sample
file, the present one the previous step's accumulated training set.
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path

import numpy as np
import xarray as xr

from scema.io.datasets import DECISIONS, SOURCE_FLAGS, md_state_dataset, strain_dataset, stress_dataset
from scema.io.netcdf import component_coord, index_coord, read_dataset, write_dataset
from scema.voigt import cubic_stiffness

C = cubic_stiffness(168e9, 121e9, 75e9)  # copper
SECOND_ORDER = -3e12  # Pa: a diagonal second-order term (copper's C111 / 2 order of magnitude)
NOISE = 20e6  # Pa: MD noise of one replica-mean stress (per component)
REPLICAS = 2


def material_file(path: Path, scale: float, seed: int) -> str:
    """A material.nc as material_init writes it: per replica C (scattered) and the reference's
    standard error (so the measured prior applies), stiffness ``scale`` x copper's."""
    rng = np.random.default_rng(seed)
    stiffness = scale * C[None] + rng.normal(0.0, 0.5e9, (REPLICAS, 6, 6))
    ds = xr.Dataset(
        {
            "stiffness": (("replica", "i", "j"), stiffness, {"units": "Pa", "long_name": "stiffness"}),
            "reference_stress_standard_error": (
                ("replica", "component"),
                np.full((REPLICAS, 6), 3.5e6),
                {"units": "Pa", "long_name": "reference standard error"},
            ),
        },
        coords={
            **index_coord("replica", REPLICAS, "replica"),
            **component_coord(),
            "i": ("i", np.arange(6), {"units": "1", "long_name": "i"}),
            "j": ("j", np.arange(6), {"units": "1", "long_name": "j"}),
        },
    )
    write_dataset(ds, path, "material")
    return str(path)


def law(eps: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(n, 6) Pa: C eps + a diagonal second-order term, per qp ``scale`` x copper's."""
    return scale[:, None] * (eps @ C.T + SECOND_ORDER * eps**2 * (np.arange(6) < 3))


def bar_strain(n: int, step: int, steps: int, rng) -> np.ndarray:
    """The qps of a bar pulled along z to 2 % over ``steps`` steps (Poisson 0.39, 15 % scatter)."""
    level = 0.02 * step / steps
    eps = np.zeros((n, 6))
    eps[:, :3] = -0.39 * level
    eps[:, 2] = level
    eps[:, :3] *= 1.0 + 0.15 * rng.standard_normal((n, 1))
    eps[:, 3:] = rng.normal(0.0, 0.05 * level, (n, 3))
    return eps


def update_arguments(run, d: Path, step: int) -> dict:
    """The committee_update.run arguments of ``run``'s signature that say where the earlier steps are."""
    params = inspect.signature(run).parameters
    if "previous_training_set" in params:
        previous = str(d / f"training_set{step - 1}.nc") if step > 1 else None
        return {"previous_training_set": previous, "out_training_set": str(d / f"training_set{step}.nc")}
    return {"earlier_samples": [str(d / f"samples{t}.nc") for t in range(1, step)]}


def run_history(
    d: Path, steps: int, committee: dict, n_qps: int = 48, materials: int = 1, seed: int = 0
) -> list[float]:
    """``steps`` steps of committee_query and committee_update in directory ``d`` (samples{t}.nc,
    record{t}.nc, committee/); returns committee_update's CPU seconds per step (index t - 1).
    ``materials`` 1 or 2 (the second twice as stiff, its qps alternating with the first's)."""
    from scema.stages import committee_query, committee_update

    d.mkdir(parents=True, exist_ok=True)
    names = ["copper", "stiff"][:materials]
    symmetries = dict.fromkeys(names, "cubic")
    files = {name: material_file(d / f"{name}.nc", 1.0 + m, seed + m) for m, name in enumerate(names)}
    material = np.arange(n_qps) % materials
    scale = 1.0 + material.astype(float)
    rng = np.random.default_rng(seed)
    state_strain, state_stress = np.zeros((n_qps, REPLICAS, 6)), np.zeros((n_qps, REPLICAS, 6))
    state_file = np.array([[f"replica_{r}.data" for r in range(REPLICAS)]] * n_qps, dtype=object)
    write_dataset(md_state_dataset(0, state_file, state_strain, state_stress), d / "md_state0.nc", "md state")
    committee_update.start(committee, names, symmetries, files, str(d / "record0.nc"), str(d / "committee"))
    seconds = []
    for step in range(1, steps + 1):
        eps = bar_strain(n_qps, step, steps, rng)
        write_dataset(
            strain_dataset(
                step, eps, eps - state_strain[:, 0], np.zeros((n_qps, 3)), np.arange(n_qps), material, names
            ),
            d / f"strain{step}.nc",
            "strain",
        )
        committee_query.run(
            committee,
            7,
            names,
            step,
            str(d / f"strain{step}.nc"),
            str(d / f"md_state{step - 1}.nc"),
            str(d / f"record{step - 1}.nc"),
            str(d / f"query{step}.nc"),
        )
        query = read_dataset(d / f"query{step}.nc")
        md = query["decision"].values != DECISIONS["committee"]
        replica = law(eps, scale)[:, None] + rng.normal(0.0, NOISE * np.sqrt(REPLICAS), (n_qps, REPLICAS, 6))
        stress = np.where(md[:, None], replica.mean(axis=1), query["mean"].values)
        replica_std = np.where(md[:, None], replica.std(axis=1, ddof=1), 0.0)
        source = np.where(md, SOURCE_FLAGS["md"], SOURCE_FLAGS["committee"])
        write_dataset(stress_dataset(step, stress, replica_std, source, eps), d / f"stress{step}.nc", "stress")
        start = time.process_time()
        committee_update.run(
            committee,
            names,
            symmetries,
            step,
            str(d / f"strain{step}.nc"),
            str(d / f"stress{step}.nc"),
            str(d / f"md_state{step - 1}.nc"),
            str(d / f"query{step}.nc"),
            str(d / f"record{step - 1}.nc"),
            material_files=files,
            out_samples=str(d / f"samples{step}.nc"),
            out_record=str(d / f"record{step}.nc"),
            committee_root=str(d / "committee"),
            **update_arguments(committee_update.run, d, step),
        )
        seconds.append(time.process_time() - start)
        state_strain[md], state_stress[md] = eps[md, None], replica[md]
        write_dataset(
            md_state_dataset(step, state_file, state_strain, state_stress), d / f"md_state{step}.nc", "md state"
        )
    return seconds
