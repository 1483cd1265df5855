"""Do two updates with the same thermostat seed from different states give the same stress? (issue 8)

Why: a qp's update seed comes from (run seed, step, qp, replica), so two committee runs of one
``run.seed`` audit a qp at a step with the same Langevin noise, from their own (different) box
states. Langevin trajectories driven by the same noise forget where they started (zero-strain
chains agreed to ~0.1 MPa after two updates, ``zero_strain_chains.py``): then the runs' audit MD
is not an independent draw, and "in every run" counts the seeds, not the runs.

Pair p of replica r: rest states p and p + rest_states / 2 (750 x 16 steps apart along the
reference window), both updated to k load steps (``jump_vs_chain.load_step_strain``) through
``scema.md.update.run_update`` (a) with one seed, (b) with two seeds. Prints per k the rms
difference of the pair's stresses (a) against (b), per component.

    flock /work/locks/campaign.lock nice -n 10 .venv/bin/python tests/benchmarks/same_seed_updates.py \
        --material-dir /tmp/tenx4/mat/results/materials/copper --pairs 16
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "workflow"))
sys.path.insert(0, str(HERE))

import xarray as xr  # noqa: E402
import yaml  # noqa: E402
from jump_vs_chain import load_step_strain  # noqa: E402

from scema import seeds  # noqa: E402
from scema.config import validate_config  # noqa: E402
from scema.md.engine import Engine  # noqa: E402
from scema.md.material import MaterialSpec  # noqa: E402
from scema.md.update import Update, run_update  # noqa: E402
from scema.voigt import COMPONENTS  # noqa: E402

MPA = 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--material-dir", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=HERE.parents[1] / "config" / "config.yaml")
    parser.add_argument("--pairs", type=int, default=16, help="pairs per replica")
    parser.add_argument("--replicas", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args()
    material = xr.open_dataset(args.material_dir / "material.nc")
    name = material.attrs["material"]
    config = validate_config(yaml.safe_load(args.config.read_text()), search_dirs=[HERE.parents[1]])
    spec = MaterialSpec.from_config(name, config["materials"][name])
    run_seed = int(config["run"]["seed"])
    d_eps = load_step_strain(material["stiffness"].values, 2.0e-3)
    root = args.material_dir.resolve().parents[2]
    diff = {k: {"same": [], "own": []} for k in args.ks}
    begin = time.perf_counter()
    with Engine() as eng, tempfile.TemporaryDirectory(prefix="scema-sync-") as tmp:
        for r in args.replicas:
            rest = material["rest_state_file"].values[r]
            for p in range(args.pairs):
                states = (root / str(rest[p % len(rest)]), root / str(rest[(p + len(rest) // 2) % len(rest)]))
                for k in args.ks:
                    out = {}
                    for mode, own in (("same", (0, 0)), ("own", (0, 1))):
                        out[mode] = [
                            run_update(
                                eng,
                                spec,
                                Update(
                                    material=name,
                                    qp=p,
                                    replica=r,
                                    state_in=state,
                                    target_strain=k * d_eps,
                                    reference_cell=material["reference_cell"].values[r],
                                    reference_stress=material["reference_stress"].values[r],
                                    state_out=Path(tmp) / "out.data",
                                    seed=seeds.lammps_seed(run_seed, "same seed", r, p, k, own[i]),
                                ),
                            )
                            for i, state in enumerate(states)
                        ]
                        diff[k][mode].append(out[mode][0] - out[mode][1])
    n = len(args.replicas) * args.pairs
    print(f"# {n} pairs of rest states (half the rest states apart), {time.perf_counter() - begin:.0f} s wall")
    print("# rms over pairs of the pair's stress difference (MPa): one seed for both / a seed each; ratio")
    print("k  ramp+window  " + "  ".join(f"{c:>18s}" for c in COMPONENTS))
    for k in args.ks:
        same, own = (np.sqrt(np.mean(np.square(diff[k][m]), axis=0)) / MPA for m in ("same", "own"))
        steps = spec.deform_steps(float(np.abs(k * d_eps).max())) + spec.sampling_steps
        print(f"{k}  {steps:5d}        " + "  ".join(f"{a:5.1f} / {b:5.1f} {a / b:4.2f}" for a, b in zip(same, own)))


if __name__ == "__main__":
    main()
