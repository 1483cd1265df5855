"""The committee's answers against brute force, net of the brute-force MD noise (no MD is run).

A committee run and a brute-force run with the same ``run.seed`` and material ask the same qps
the same strains (every qp the committee answered had the brute-force MD stress in the other
run). Per step and pooled over the run, for the qps the committee answered (decision
"committee", not audited): sqrt(max(0, mean(err^2 - noise^2))) per component, err = committee
stress - brute-force stress, noise = the brute-force stress's replica std / sqrt(R): the
committee's own error, which the accuracy bounds. Audits only see 5 % of these answers, each
with its own MD noise.

    .venv/bin/python tests/benchmarks/committee_answers_vs_brute.py BRUTE_RUN COMMITTEE_RUN [...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

from scema.io.netcdf import read_dataset  # noqa: E402

COMMITTEE = 1  # committee_query's decision flag of an answer that is not audited


def answers(brute: Path, run: Path) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per step with a committee query: (step, err (n, 6) Pa, brute-force noise (n, 6) Pa)."""
    out = []
    n_rep = _replicas(brute)
    for query in sorted((run / "results").glob("step_*/committee_query.nc")):
        step = query.parent.name
        asked = read_dataset(query)["decision"].values == COMMITTEE
        mine = read_dataset(run / "results" / step / "stress.nc")
        ref = read_dataset(brute / "results" / step / "stress.nc")
        err = (mine["stress"].values - ref["stress"].values)[asked]
        noise = ref["stress_replica_std"].values[asked] / np.sqrt(n_rep)
        out.append((int(step.split("_")[1]), err, noise))
    return out


def _replicas(run: Path) -> int:
    import yaml

    with open(run / "config.yaml") as fh:
        return int(yaml.safe_load(fh)["md"]["replicas"])


def net(err: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """(6,) MPa: sqrt(max(0, mean(err^2 - noise^2))) per component."""
    return np.sqrt(np.maximum(0.0, np.mean(err**2 - noise**2, axis=0))) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("brute", type=Path)
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--accuracy-mpa", type=float, default=30.0)
    args = ap.parse_args()
    for run in args.runs:
        steps = answers(args.brute, run)
        err = np.concatenate([e for _, e, _ in steps])
        noise = np.concatenate([n for _, _, n in steps])
        per_step = [(s, float(net(e, n).max())) for s, e, n in steps if e.shape[0]]
        print(f"{run.name}: {err.shape[0]} answers; net error pooled per component {np.round(net(err, noise), 1)} MPa")
        print(f"  per step, largest component (MPa): {[round(v) for _, v in per_step]}")
        print(f"  steps above {args.accuracy_mpa:g} MPa: {[s for s, v in per_step if v > args.accuracy_mpa]}")


if __name__ == "__main__":
    main()
