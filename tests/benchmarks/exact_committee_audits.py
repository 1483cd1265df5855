"""How many single audits would an exact committee pass, on a run's own MD noise? (issue 8, audits)

An exact committee answers the true replica-mean stress, so its audit error is the MD noise of
the replica mean alone. A brute-force run holds that noise with its real size and correlation
between components: for two Gaussian replicas r0, r1, (r0 - r1) / 2 has the distribution of
(r0 + r1) / 2 - truth. So every (step, qp) of the run gives one exact-committee audit. It is
judged net of (a) a two-replica noise estimate, as each audit had before, taken from another qp
of the step (independent of the error, as the std and mean of Gaussian replicas are), and (b)
the noise pooled over the step's qps (``scema.committee.noise``), and set beside the
independent-components value ``exact_pass_fraction`` (a lower bound). Reads the run's
``md_state.nc`` files (replica stresses); runs nothing.

    .venv/bin/python tests/benchmarks/exact_committee_audits.py RUN [RUN ...] [--accuracy-mpa 30]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "workflow"))


def replica_stress(run: Path) -> np.ndarray:
    """(step, qp, replica, 6) Pa: the replica stresses of every step's MD (brute force: every qp)."""
    steps = sorted((run / "results").glob("step_*/md_state.nc"))[1:]  # step 0: the reference boxes
    out = []
    for path in steps:
        with xr.open_dataset(path) as ds:
            out.append(ds["state_stress"].values)
    return np.array(out)


def exact_committee_shares(replicas: np.ndarray, accuracy_pa: float) -> dict:
    """Share of exact-committee audits within the accuracy, net of each noise estimate."""
    from scema.committee import net_error
    from scema.committee.noise import exact_pass_fraction, pooled_rms

    r = replicas.shape[2]
    error = (replicas[:, :, 0] - replicas[:, :, 1]) / 2.0
    own = replicas.std(axis=2, ddof=1) / np.sqrt(r)  # (step, qp, 6)
    other = np.roll(own, 1, axis=1)  # another qp's estimate: independent of this error
    pooled = np.stack([np.broadcast_to(pooled_rms([own[t]]), own[t].shape) for t in range(own.shape[0])])

    def share(noise: np.ndarray) -> float:
        return float(np.mean(net_error(error, noise).max(axis=-1) <= accuracy_pa))

    return {
        "audits": int(error.shape[0] * error.shape[1]),
        "two_replica_noise": share(other),
        "pooled_noise": share(pooled),
        "independent_components_bound": float(np.mean(exact_pass_fraction(pooled, accuracy_pa))),
        "pooled_noise_mpa_first_last": (pooled[0, 0] / 1e6, pooled[-1, 0] / 1e6),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="brute-force run directories (results/ inside)")
    parser.add_argument("--accuracy-mpa", type=float, default=30.0)
    args = parser.parse_args()
    for run in args.runs:
        s = exact_committee_shares(replica_stress(run), args.accuracy_mpa * 1e6)
        first, last = (np.round(v, 1).tolist() for v in s["pooled_noise_mpa_first_last"])
        print(
            f"{run}: {s['audits']} exact-committee audits within {args.accuracy_mpa:g} MPa: "
            f"{s['two_replica_noise']:.3f} net of a two-replica noise, {s['pooled_noise']:.3f} net of the "
            f"pooled noise (independent-components bound {s['independent_components_bound']:.3f}); "
            f"pooled noise of the replica mean, first step {first} MPa, last {last} MPa"
        )


if __name__ == "__main__":
    main()
