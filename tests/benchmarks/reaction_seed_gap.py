"""The seed gap of the reaction force under both estimators, from finished runs (no MD is run).

For each run: rebuild its FE model from the run's config and material files, then recompute every
step's reaction on ``specimen.reaction_face`` from the stored qp stresses (``stress.nc``) two ways:

- face: the sum of the nodal internal force over the face's nodes (the residual at its dofs);
  it reads only the qps of the cells touching the face;
- lifted (what the workflow reports): sum_n W_n . f_int,n with W the FE's elastic solution for a
  unit displacement of the face (every other prescribed component 0); it reads every qp.

In equilibrium the two are equal; their difference is the W-weighted out-of-balance force.
For every pair of the runs (they should differ only in ``run.seed``): the gap per step as a % of
the pair's larger peak.

    .venv/bin/python tests/benchmarks/reaction_seed_gap.py RUN [RUN ...] [--component 2]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

from scema.io.netcdf import read_dataset  # noqa: E402
from scema.specimen import build_model  # noqa: E402
from scema.stages.reaction import boundary_reactions, internal_force, operator_dataset  # noqa: E402


def run_config(run: Path) -> dict:
    for name in ("config.yaml", "run_config.yaml"):
        if (run / name).exists():
            with open(run / name) as fh:
                config = yaml.safe_load(fh)
            mesh = config["specimen"]["mesh"]
            if mesh["type"] == "generated":  # the run wrote its mesh
                mesh.update(type="gmsh", file=str((run / "results/mesh/specimen.msh").resolve()))
            for key, value in (("size", [0, 0, 0]), ("divisions", [1, 1, 1]), ("cell", "tetrahedron")):
                mesh.setdefault(key, value)  # what build_model reads; a gmsh file sets them itself
            return config
    raise FileNotFoundError(f"{run}: no config.yaml or run_config.yaml")


def reactions(run: Path, component: int) -> dict[str, np.ndarray]:
    """Reaction per step (N) on the run's reaction face, by estimator (face, lifted)."""
    config = run_config(run)
    materials = {name: str(run / f"results/materials/{name}/material.nc") for name in config["materials"]}
    materials = {name: path for name, path in materials.items() if Path(path).exists()}
    model, _ = build_model(config, materials, base_dir=REPO)
    bcs = config["specimen"]["boundary_conditions"]
    face = config["specimen"]["reaction_face"]
    ops = operator_dataset(model, bcs, "quasistatic")
    k = [str(name) for name in ops["boundary"].values].index(face)
    out = {"face": [], "lifted": []}
    for path in sorted(run.glob("results/step_*/stress.nc"))[1:]:
        f = internal_force(ops, read_dataset(path)["stress"].values)
        by_face, by_lifting = boundary_reactions(ops, f, ops["lifting_displacement"].values)
        out["face"].append(by_face[k, component])
        out["lifted"].append(by_lifting[k, component])
    return {name: np.array(values) for name, values in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--component", type=int, default=2)
    args = parser.parse_args()
    results = {run: reactions(run, args.component) for run in args.runs}
    for run, r in results.items():
        for name, values in r.items():
            extra = "" if name == "face" else f" ({name} - face: {np.round(values - r['face'], 1).tolist()})"
            print(f"{run}: {name:7s} {np.round(values, 1).tolist()} N{extra}")
    for (run_a, ra), (run_b, rb) in itertools.combinations(results.items(), 2):
        print(f"{run_a} vs {run_b}:")
        for name in ra:
            n = min(len(ra[name]), len(rb[name]))
            a, b = ra[name][:n], rb[name][:n]
            peak = max(np.abs(a).max(), np.abs(b).max())
            gap = np.abs(a - b) / peak * 100
            print(
                f"  {name:7s} gap per step {np.round(gap, 2).tolist()} % of peak {peak:.1f} N; "
                f"largest {gap.max():.2f} % (step {int(np.argmax(gap)) + 1}), RMS {np.sqrt(np.mean(gap**2)):.2f} %"
            )


if __name__ == "__main__":
    main()
