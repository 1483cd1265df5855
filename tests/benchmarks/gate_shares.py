"""What dominates the committee's std where a run refused (issue 8). Runs no MD, trains nothing.

For each step asked, the version the run really used (``committee_query.nc``) on the inputs it
really had (step t's strain from the states saved at step t-1): per qp the worst component's
posterior variance split by the prior's groups (intercept, elastic, path, second order; the
diagonal blocks, so with negative cross terms the shares sum to more than 1), for the refused
and the trusted qps (medians), with their strain since the saved state and the total strain.

    .venv/bin/python tests/benchmarks/gate_shares.py RUN --steps 2,4,6
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

Z = 1.6448536269514722  # the gate's factor at audit_tolerance 0.1


def shares(net, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 4) shares of the worst component's variance per group and (n, 6) posterior std (Pa) of a
    physical ridge member ``net`` at physical inputs ``x``."""
    import torch

    from scema.committee.models import N_GROUPS, physical_regressors, regressor_groups

    r = physical_regressors(torch.as_tensor(x), net.stiffness).numpy()
    cov = net.physical_cov.numpy()
    total = np.einsum("ni,cij,nj->nc", r, cov, r) + net.anchor_noise.numpy() ** 2
    worst = np.argmax(total, axis=1)
    rows = np.arange(len(x))
    groups = regressor_groups()
    out = []
    for g in range(N_GROUPS):
        s = groups == g
        part = np.einsum("ni,cij,nj->nc", r[:, s], cov[:, s][:, :, s], r[:, s])
        out.append(part[rows, worst] / total[rows, worst])
    return np.stack(out, axis=1), np.sqrt(total)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--steps", default="2,4,6")
    ap.add_argument("--material", default="copper")
    args = ap.parse_args()

    from scema.committee.predict import Committee
    from scema.io.datasets import DECISIONS
    from scema.io.netcdf import read_dataset
    from scema.stages.committee_query import query_inputs

    results = args.run / "results"
    print(f"# {args.run}: median share of the worst component's variance (intercept, elastic, path, 2nd)")
    for t in [int(s) for s in args.steps.split(",")]:
        query = read_dataset(results / f"step_{t:04d}/committee_query.nc")
        version = int(query["version"].values[0])
        refused = query["decision"].values == DECISIONS["md"]
        x = query_inputs(str(results / f"step_{t:04d}/strain.nc"), str(results / f"step_{t - 1:04d}/md_state.nc"))
        net = Committee.load(results / "committee" / args.material / f"v{version}").members[0].net
        share, std = shares(net, x)
        since = np.abs(x[:, 12:18]).max(axis=1)
        total = np.abs(x[:, :6] + x[:, 12:18]).max(axis=1)
        second = net.prior_std.numpy()[-1] / float(np.max(np.diag(net.stiffness.numpy())))
        print(f"step {t}: v{version}, second-order prior {second:.2f} c, refused {refused.sum()} of {len(x)}")
        for label, sel in (("refused", refused), ("trusted", ~refused)):
            if sel.any():
                print(
                    f"  {label}: shares {np.round(np.median(share[sel], axis=0), 2)}, z std "
                    f"{np.median(Z * std.max(axis=1)[sel]) / 1e6:.1f} MPa, strain since saved "
                    f"{np.median(since[sel]):.2e}, total {np.median(total[sel]):.2e}"
                )


if __name__ == "__main__":
    main()
