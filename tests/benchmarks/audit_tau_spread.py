"""How far a run's audit tau strays from the committee's true error spread (issue 8; no MD).

The audits' tau (``scema.committee.pass_fraction.moment_fit``, per component) deconvolves the
committee's error spread from ~144 audits whose MD noise (29-31 MPa on the copper bar's normal
components) is 2-3x that spread. Synthetic audits as the 30-step bar makes them: ``--steps`` x
``--per-step`` audits, true errors d ~ N(0, tau^2), noise N(0, sigma^2), the pooled noise
estimate redrawn per step as sigma^2 chi^2_k / k (k = ``--noise-dof``, shared by the step's
audits); prints the estimate's mean, sd and the chance of reaching given values.

The pooled noise also lags: a step's audits get the noise of the last >= 30 MD samples, several
steps back when a step runs only its ~5 audits, while the noise grows with the strain (per
replica, normal components, jump_vs_chain.py: 40-41 MPa at 0.2-1.6 %, 42-45 at 2.6-4 %, 47 at
5.6 % zz). ``lag_inflation`` gives tau^2's mean excess over a run's audits for a noise growing as
sigma0^2 (1 + c eps^2) and the MD samples per step of the run (default: tenx2's 30-step bar).

    .venv/bin/python tests/benchmarks/audit_tau_spread.py --tau 10 11 12 14
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "workflow"))

from scema.committee.pass_fraction import moment_fit  # noqa: E402


def tau_estimates(
    tau: float, sigma: float, steps: int, per_step: int, noise_dof: int, draws: int, seed: int = 0
) -> np.ndarray:
    """(draws,) moment-fit tau (MPa) of synthetic runs' audits of one component."""
    rng = np.random.default_rng(seed)
    n = steps * per_step
    error = rng.normal(0.0, tau, (draws, n, 1)) + rng.normal(0.0, sigma, (draws, n, 1))
    pooled = sigma**2 * rng.chisquare(noise_dof, (draws, steps, 1)) / noise_dof
    return moment_fit(error, np.sqrt(np.repeat(pooled, per_step, axis=1)))[1][:, 0]


def lag_inflation(
    audits: dict[int, int], refused: dict[int, int], sigma0: float, growth: float, zz_per_step: float, pooled: int = 30
) -> tuple[float, float]:
    """(mean, max) over the audits of noise^2(step) - pooled noise^2 (MPa^2, replica mean of 2):
    the pool takes the step's MD samples (audits + refused), then earlier steps' until ``pooled``."""

    def var(step: int) -> float:
        return sigma0**2 * (1 + growth * (100 * zz_per_step * step) ** 2) / 2

    excess, weight = [], []
    for t in sorted(audits):
        pool, n = [], 0
        for u in range(t, 0, -1):
            rows = audits.get(u, 0) + refused.get(u, 0)
            pool += [var(u)] * rows
            n += rows
            if n >= pooled:
                break
        excess.append(var(t) - float(np.mean(pool)))
        weight.append(audits[t])
    excess = np.array(excess)
    return float(np.average(excess, weights=weight)), float(excess.max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tau", type=float, nargs="+", default=[10.0, 11.0, 12.0, 14.0], help="true spread, MPa")
    ap.add_argument("--sigma", type=float, default=31.0, help="MD noise of an audit (replica mean), MPa")
    ap.add_argument("--steps", type=int, default=29)
    ap.add_argument("--per-step", type=int, default=5)
    ap.add_argument("--noise-dof", type=int, default=30)
    ap.add_argument("--draws", type=int, default=20000)
    ap.add_argument("--at-least", type=float, nargs="+", default=[13.0, 15.0, 17.0, 22.0])
    args = ap.parse_args()
    print(
        f"# {args.steps} x {args.per_step} audits, noise {args.sigma:g} MPa, pooled noise dof {args.noise_dof}, "
        f"{args.draws} synthetic runs per line"
    )
    for tau in args.tau:
        t = tau_estimates(tau, args.sigma, args.steps, args.per_step, args.noise_dof, args.draws)
        chances = ", ".join(f"P(>= {v:g}) {np.mean(t >= v):.3f}" for v in args.at_least)
        print(
            f"true tau {tau:5.1f} MPa: estimate mean {t.mean():5.1f}, sd {t.std():4.1f}, P(0) {np.mean(t == 0):.3f}; {chances}"
        )
    audits = {t: 5 for t in range(1, 31)} | {2: 2, 6: 3}
    refused = {2: 63, 6: 42, 17: 4, 22: 4, 26: 15}  # tenx2's refused qp-steps (committee_zero_kelvin_law_bar500.txt)
    mean, worst = lag_inflation(audits, refused, sigma0=40.5, growth=0.0114, zz_per_step=2e-3)
    print(
        f"pooled-noise lag (tenx2's MD samples per step; per-replica noise 40.5 MPa x sqrt(1 + 0.0114 eps%^2)): "
        f"tau^2 +{mean:.0f} MPa^2 on average over the audits (largest step +{worst:.0f}); tau 11 -> "
        f"{np.sqrt(121 + mean):.1f} MPa"
    )


if __name__ == "__main__":
    main()
