"""Issue 8's goal measured net of the MD noise, with a cross-check against brute force (no MD is run).

The goal: the committee's error below the accuracy on >= 90 % of audited qps. Per committee run:

- audits: committee - audit MD, net of the pooled MD noise (``bench_acceleration.audit_metrics``:
  the share of single audits within the accuracy, an exact committee's share on the same noise,
  and the deconvolved estimate with its lower 95 % bound, ``scema.committee.pass_fraction``);
- the same audited qps against brute force of the same seed instead of the audit MD (another
  draw of the MD noise, pooled over the step's 96 brute-force qps);
- every committee answer that was not audited against brute force (``committee_answers_vs_brute``).

All three estimate the distribution of d = committee - MD expectation; each line gives the
estimate, its bound and the fitted (mu, tau) per component. With target correction the audits
subtract the anchor's noise too (``noise.comparison_noise``), brute force does not: there d
keeps the noise of the measured sigma_s the answer is anchored on. Brute force is moved to the
committee run's strain first (``committee_answers_vs_brute.at_run_strain``; ``--raw``: not).

    .venv/bin/python tests/benchmarks/audit_pass_fraction.py BRUTE_RUN COMMITTEE_RUN [...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "workflow"))
sys.path.insert(0, str(HERE))

from bench_acceleration import audit_metrics, audits_with_pooled_noise, sample_files  # noqa: E402
from committee_answers_vs_brute import _replicas, answers, moved_brute  # noqa: E402

from scema.io.netcdf import read_dataset  # noqa: E402


def brute_pooled_noise(brute: Path, step: int) -> np.ndarray:
    """(6,) Pa: the noise of brute force's replica means at ``step``, pooled over all its qps."""
    from scema.committee.noise import pooled_rms

    ref = read_dataset(brute / f"results/step_{step:04d}/stress.nc")
    return pooled_rms([ref["stress_replica_std"].values / np.sqrt(_replicas(brute))])


def audits_vs_brute(
    brute: Path, run: Path, steps: int, law: Path | None = None, raw: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(committee - brute-force MD at the run's strain, brute force's pooled noise) at the run's audited qps."""
    errors, noises = [], []
    for path in sample_files(run, steps):
        s = read_dataset(path)
        rows = s["audited"].values == 1
        if not rows.any():
            continue
        step = int(s.attrs["step"])
        ref = moved_brute(brute, run, f"step_{step:04d}", law, raw)[0]
        errors.append(s["committee_stress"].values[rows] - ref[s["qp_id"].values[rows]])
        noises.append(np.broadcast_to(brute_pooled_noise(brute, step), errors[-1].shape))
    return np.concatenate(errors), np.concatenate(noises)


def answers_vs_brute(
    brute: Path, run: Path, law: Path | None = None, raw: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(committee - brute-force MD at the run's strain, brute force's pooled noise) at every unaudited
    committee answer."""
    out = [
        (e, np.broadcast_to(brute_pooled_noise(brute, step), e.shape)) for step, e, _ in answers(brute, run, law, raw)
    ]
    return np.concatenate([e for e, _ in out]), np.concatenate([n for _, n in out])


def line(label: str, error: np.ndarray, noise: np.ndarray, accuracy_pa: float, noise_dof: float) -> str:
    from scema.committee import net_error
    from scema.committee.pass_fraction import estimate_pass_fraction

    fit = estimate_pass_fraction(error, noise, accuracy_pa, noise_dof=noise_dof)
    single = np.mean(net_error(error, noise).max(axis=1) <= accuracy_pa)
    return (
        f"  {label}: {len(error)} qps, single {single:.3f}; estimated {fit.estimate:.3f} "
        f"(lower 95 % {fit.lower:.3f}); per component {np.round(fit.component, 3).tolist()}, "
        f"mu {np.round(fit.mu / 1e6, 1).tolist()} MPa, tau {np.round(fit.tau / 1e6, 1).tolist()} MPa, "
        f"noise rms {np.round(np.sqrt(np.mean(noise**2, axis=0)) / 1e6, 1).tolist()} MPa"
    )


def main() -> None:
    from scema.committee.noise import MIN_POOLED_SAMPLES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("brute", type=Path)
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--accuracy-mpa", type=float, default=30.0)
    ap.add_argument("--law", type=Path, default=None, help="a zero_kelvin.nc (default: the run's own)")
    ap.add_argument("--raw", action="store_true", help="brute force at its own strain (before 2026-11-29)")
    args = ap.parse_args()
    accuracy = args.accuracy_mpa * 1e6
    for run in args.runs:
        steps = len(sorted((run / "results").glob("step_*/training_samples.nc")))
        m = audit_metrics(run, steps, accuracy)
        print(
            f"{run.name}: {m['audited']} audits; single within {args.accuracy_mpa:g} MPa {m['audit_within_accuracy']:.3f} "
            f"(exact committee {m['audit_within_accuracy_exact']:.3f}); audit pass fraction (estimated, net of "
            f"noise) {m['audit_pass_fraction_estimated']:.3f}, lower 95 % {m['audit_pass_fraction_lower']:.3f}"
        )
        audits = audits_with_pooled_noise(run, steps)
        e, s = (np.concatenate([a[i] for a in audits]) for i in (0, 1))
        n_brute = read_dataset(args.brute / "results/step_0001/stress.nc").sizes["qp"]
        print(line("audits vs audit MD", e, s, accuracy, MIN_POOLED_SAMPLES))
        print(
            line(
                "audits vs brute force", *audits_vs_brute(args.brute, run, steps, args.law, args.raw), accuracy, n_brute
            )
        )
        print(line("answers vs brute force", *answers_vs_brute(args.brute, run, args.law, args.raw), accuracy, n_brute))


if __name__ == "__main__":
    main()
