"""Chains of zero-strain updates from a material's saved states: does a box at rest stay at its
replica's reference stress, at the first update and at later ones? (issue 9, item 5)

Each chain is a qp held at rest through a run: ``--length`` updates, each through the run's own
path (``scema.md.update.run_update``: load the state file, Langevin NVT, ramp + sample, write the
state the next update loads), reference subtracted, own thermostat seeds (run seed, "zero-strain
chain", replica, chain, k). Chain c starts as the workflow's c-th qp does: from rest state
c mod rest_states (``rest_state_file`` in material.nc), or with ``--single-state`` from
``state_file`` (every qp from one file: the behaviour before rest states). The chains are
grouped by the state they start from; the standard error of the mean at each position is the
spread of those group means (a state's own fluctuation is part of the error, not hidden in it).

    python tests/benchmarks/zero_strain_chains.py --material-dir results/materials/copper \
        --replica 0 --chains 64 --length 5 [--single-state] [--out /tmp/chains_r0.npz]

Prints, per chain position, mean - reference (MPa), its standard error, and z against the
combined error of the mean and of the reference. ``--reference-updates NPZ`` (from
``rest_update_reference.py run``): the reference is instead the mean of those zero-strain updates
and its error std / sqrt(n), as material_init computes them with ``reference_estimator:
rest_updates`` (the chains use their own seeds, so they are independent of those updates). The two start choices use the same seeds, and
Langevin trajectories under the same noise forget where they started within ~2 updates
(positions 3-5 agree to ~0.1 MPa): the comparison is paired, position 1 is where they differ.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

import xarray as xr  # noqa: E402
import yaml  # noqa: E402

from scema import seeds  # noqa: E402
from scema.config import validate_config  # noqa: E402
from scema.md.engine import Engine  # noqa: E402
from scema.md.material import MaterialSpec  # noqa: E402
from scema.md.rest_updates import mean_and_standard_error  # noqa: E402
from scema.md.update import Update, run_update  # noqa: E402
from scema.voigt import COMPONENTS  # noqa: E402

MPA = 1e6


def chain_stresses(
    spec: MaterialSpec,
    material: xr.Dataset,
    root: Path,
    replica: int,
    chains: int,
    length: int,
    run_seed: int,
    single_state: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(chains, length, 6) Pa stress minus reference of each update, and each chain's start index."""
    if single_state or "rest_state_file" not in material:
        starts = [root / str(material["state_file"].values[replica])] * chains
        group = np.zeros(chains, dtype=int)
    else:
        rest = material["rest_state_file"].values[replica]
        starts = [root / str(rest[c % len(rest)]) for c in range(chains)]
        group = np.arange(chains) % len(rest)
    cell = material["reference_cell"].values[replica]
    reference = material["reference_stress"].values[replica]
    out = np.zeros((chains, length, 6))
    with Engine() as eng, tempfile.TemporaryDirectory(prefix="scema-chains-") as tmp:
        for c in range(chains):
            state = starts[c]
            for k in range(length):
                state_out = Path(tmp) / f"chain_{k % 2}.data"
                update = Update(
                    material=spec.name,
                    qp=c,
                    replica=replica,
                    state_in=state,
                    target_strain=np.zeros(6),
                    reference_cell=cell,
                    reference_stress=reference,
                    state_out=state_out,
                    seed=seeds.lammps_seed(run_seed, "zero-strain chain", replica, c, k),
                )
                out[c, k] = run_update(eng, spec, update)
                state = state_out
    return out, group


def grouped_mean(values: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over axis 0 and its standard error, from the means of the groups (one per start state);
    with a single group, the plain standard error over the chains (which then share one state)."""
    labels = np.unique(group)
    if len(labels) == 1:
        return values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(len(values))
    means = np.stack([values[group == g].mean(axis=0) for g in labels])
    return means.mean(axis=0), means.std(axis=0, ddof=1) / np.sqrt(len(labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--material-dir", type=Path, required=True, help="results/materials/NAME of a run")
    parser.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    parser.add_argument("--replica", type=int, default=0)
    parser.add_argument("--chains", type=int, default=64)
    parser.add_argument("--length", type=int, default=5)
    parser.add_argument("--single-state", action="store_true", help="every chain from state_file")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--reference-updates", type=Path, help="npz of rest_update_reference.py run")
    args = parser.parse_args()
    material = xr.open_dataset(args.material_dir / "material.nc")
    name = material.attrs["material"]
    config = validate_config(yaml.safe_load(args.config.read_text()), search_dirs=[REPO])
    spec = MaterialSpec.from_config(name, config["materials"][name])
    root = args.material_dir.resolve().parents[2]  # paths in material.nc are relative to the run directory
    start = time.perf_counter()
    stress, group = chain_stresses(
        spec, material, root, args.replica, args.chains, args.length, int(config["run"]["seed"]), args.single_state
    )
    ref_se = material["reference_stress_standard_error"].values[args.replica]
    if args.reference_updates:  # chains are stress minus the file's reference: shift to the updates' mean
        updates = np.load(args.reference_updates)["stress"]
        mean, ref_se = mean_and_standard_error(updates)
        stress = stress + material["reference_stress"].values[args.replica] - mean
        print(f"reference: mean of {len(updates)} zero-strain updates ({args.reference_updates})")
    if args.out:
        np.savez(args.out, stress=stress, group=group, reference=material["reference_stress"].values[args.replica])
    source = "state_file" if args.single_state or "rest_state_file" not in material else "rest states"
    print(
        f"{name} replica {args.replica}: {args.chains} chains of {args.length} zero-strain updates from {source}, "
        f"{time.perf_counter() - start:.0f} s; reference SE {' '.join(f'{v:.1f}' for v in ref_se / MPA)} MPa"
    )
    print("position  " + " ".join(f"{c:>16s}" for c in COMPONENTS) + "  max|z|")
    rows = [(f"{k + 1}", stress[:, k]) for k in range(args.length)]
    if args.length > 1:
        rows.append((f"2-{args.length}", stress[:, 1:].mean(axis=1)))
    for label, values in rows:
        mean, se = grouped_mean(values, group)
        z = mean / np.hypot(se, ref_se)
        cells = " ".join(f"{m / MPA:7.1f} +- {s / MPA:4.1f}" for m, s in zip(mean, se))
        print(f"{label:>8s}  {cells}  {np.abs(z).max():.2f}")


if __name__ == "__main__":
    main()
