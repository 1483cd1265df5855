"""Each step's committee version asked at brute force's strain: the surrogate's own error (issue 8).

A cross-check of ``committee_answers_vs_brute`` (brute force moved to the run's strain along C eps +
the 0 K law) that needs no law: per step, the run's version (posterior mean and std) is asked, for
the qps it trusted, from the run's saved states (step t-1's md_state.nc) at brute force's strain of
the same seed, and compared with brute force's stress, net of brute force's pooled noise: the share
within the accuracy (``scema.committee.pass_fraction``), the net rms and its ratio to the committee's
rms std (calibration), the steps whose net error exceeds the accuracy. Runs no MD.
``--brute-pair OTHER``: instead, brute force of another seed moved to this brute force's strain
(``at_run_strain``) against it, net of both runs' noise: what an exact answer scores.

    .venv/bin/python tests/benchmarks/answers_at_brute_strain.py BRUTE RUN [RUN ...]
    .venv/bin/python tests/benchmarks/answers_at_brute_strain.py BRUTE --brute-pair OTHER_BRUTE --law ZERO_KELVIN.nc
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "workflow"))
sys.path.insert(0, str(HERE))

from audit_pass_fraction import brute_pooled_noise  # noqa: E402
from committee_answers_vs_brute import COMMITTEE, moved_brute  # noqa: E402

from scema.io.netcdf import read_dataset  # noqa: E402


def at_brute(run: Path, brute: Path, material: str = "copper") -> list[tuple]:
    """Per step with trusted answers: (step, err (n, 6), brute noise (n, 6), committee std (n, 6)) Pa."""
    from scema.committee.predict import Committee
    from scema.stages.committee_query import query_inputs

    res, out = run / "results", []
    for path in sorted(res.glob("step_*/committee_query.nc")):
        t, query = int(path.parent.name.split("_")[1]), read_dataset(path)
        asked = query["decision"].values == COMMITTEE
        if not asked.any():
            continue
        model = Committee.load(res / "committee" / material / f"v{int(query['version'].values[0])}")
        x = query_inputs(str(brute / f"results/step_{t:04d}/strain.nc"), str(res / f"step_{t - 1:04d}/md_state.nc"))
        mean, std = model.predict(x[asked])
        err = mean - read_dataset(brute / f"results/step_{t:04d}/stress.nc")["stress"].values[asked]
        out.append((t, err, np.broadcast_to(brute_pooled_noise(brute, t), err.shape), std))
    return out


def brute_pair(brute: Path, other: Path, law: Path | None, raw: bool = False) -> list[tuple]:
    """``at_brute``'s rows for another seed's brute force moved to ``brute``'s strain (``raw``: not
    moved; noise: both runs')."""
    out = []
    for t in range(1, len(sorted((brute / "results").glob("step_*/stress.nc")))):
        step = f"step_{t:04d}"
        moved, _ = moved_brute(other, brute, step, law, raw)
        err = moved - read_dataset(brute / "results" / step / "stress.nc")["stress"].values
        noise = np.hypot(brute_pooled_noise(brute, t), brute_pooled_noise(other, t))
        out.append((t, err, np.broadcast_to(noise, err.shape), np.full_like(err, np.nan)))
    return out


def report(label: str, rows: list[tuple], accuracy_pa: float) -> None:
    from scema.committee.pass_fraction import estimate_pass_fraction

    err, noise, std = (np.concatenate([r[i] for r in rows]) for i in (1, 2, 3))
    fit = estimate_pass_fraction(err, noise, accuracy_pa, noise_dof=96)
    net = np.sqrt(np.maximum(0.0, np.mean(err**2 - noise**2, axis=0)))
    per = [(t, np.sqrt(np.maximum(0.0, np.mean(e**2 - n**2, axis=0))).max(), e.mean(axis=0)) for t, e, n, _ in rows]
    print(
        f"{label}: {len(err)} answers; within {accuracy_pa / 1e6:g} MPa {fit.estimate:.3f} (lower 95 % {fit.lower:.3f}); "
        f"net rms {np.round(net / 1e6, 1).tolist()} MPa; net / rms std {np.round(net / np.sqrt(np.mean(std**2, axis=0)), 2).tolist()}"
    )
    print(f"  per step, largest component (MPa): {[round(v / 1e6) for _, v, _ in per]}")
    over = [(t, round(v / 1e6), np.round(b[:3] / 1e6).astype(int).tolist()) for t, v, b in per if v > accuracy_pa]
    print(f"  steps above the accuracy (step, MPa, mean error xx yy zz): {over}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("brute", type=Path)
    ap.add_argument("runs", type=Path, nargs="*")
    ap.add_argument("--brute-pair", type=Path, default=None)
    ap.add_argument("--law", type=Path, default=None)
    ap.add_argument("--raw", action="store_true", help="with --brute-pair: not moved to the same strain")
    ap.add_argument("--accuracy-mpa", type=float, default=30.0)
    args = ap.parse_args()
    if args.brute_pair is not None:
        rows = brute_pair(args.brute, args.brute_pair, args.law, args.raw)
        report(f"{args.brute_pair.name} against {args.brute.name}", rows, args.accuracy_mpa * 1e6)
    for run in args.runs:
        report(run.name, at_brute(run, args.brute), args.accuracy_mpa * 1e6)


if __name__ == "__main__":
    main()
