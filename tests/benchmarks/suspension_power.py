"""How often the audit suspension test fires at a given committee error (issue 8, audits). Runs no MD.

Synthetic audits as on the 500-atom copper bar: MD noise 29 MPa on the normal components and 15 on
the shears, estimated with 30 degrees of freedom; the committee off by a bias e in zz at every audit
(as tenx2's step 16, zz +31 MPa). P(suspend) of ``acceptance.audits_show_inaccurate`` at the default
tolerance for 5, 15 (what ``recent_audits`` pools) and 45 audits.

    .venv/bin/python tests/benchmarks/suspension_power.py [--draws 2000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "workflow"))


def main() -> None:
    from scema.committee.acceptance import audits_show_inaccurate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--accuracy-mpa", type=float, default=30.0)
    ap.add_argument("--tolerance", type=float, default=0.1)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    noise = np.array([29, 29, 29, 15, 15, 15]) * 1e6
    for n in (5, 15, 45):
        row = []
        for e in (0, 15, 30, 37, 45, 60):
            hits = 0
            for _ in range(args.draws):
                err = rng.standard_normal((n, 6)) * noise
                err[:, 2] += e * 1e6
                estimated = noise * np.sqrt(rng.chisquare(30, 6) / 30)
                hits += audits_show_inaccurate(
                    err, np.broadcast_to(estimated, (n, 6)), args.accuracy_mpa * 1e6, args.tolerance, 30
                )
            row.append(f"e {e}: {hits / args.draws:.3f}")
        print(f"{n:2d} audits:", "  ".join(row), flush=True)


if __name__ == "__main__":
    main()
