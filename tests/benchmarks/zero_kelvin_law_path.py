"""The 0 K law against 300 K MD along a brute-force run's path (issue 8, committee.zero_kelvin_law).

Per step: brute force's sigma - C eps (C: material_init's, measured at the run's temperature),
mean over the qps, against the 0 K law's second-order term at the same strains; and per normal
component the slope of each over eps_zz^2 across the steps (a least-squares line). Runs no MD.

    .venv/bin/python tests/benchmarks/zero_kelvin_law_path.py BRUTE [BRUTE ...] --law ZERO_KELVIN.nc
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "workflow"))
sys.path.insert(0, str(HERE))

from committee_answers_vs_brute import run_law  # noqa: E402

from scema.committee.models import PAIRS  # noqa: E402
from scema.io.netcdf import read_dataset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("brutes", type=Path, nargs="+")
    ap.add_argument("--law", type=Path, required=True)
    ap.add_argument("--show", default="3,6,9,12,13,15,16,18,21,24,27,30")
    args = ap.parse_args()
    i, j = PAIRS[0].numpy(), PAIRS[1].numpy()
    show = {int(s) for s in args.show.split(",")}
    for brute in args.brutes:
        stiffness, law = run_law(brute, args.law)
        print(f"{brute.name}: step, eps_zz | 300 K MD sigma - C eps (MPa, xx yy zz) | 0 K law | MD - law")
        rows = []
        for path in sorted((brute / "results").glob("step_*/stress.nc"))[1:]:
            ds, t = read_dataset(path), int(path.parent.name.split("_")[1])
            eps = ds["strain"].values
            md = (ds["stress"].values - eps @ stiffness.T).mean(axis=0)
            zero = ((eps[:, i] * eps[:, j]) @ law).mean(axis=0)
            rows.append((eps[:, 2].mean(), md, zero))
            if t in show:
                print(
                    f"  {t:2d} {eps[:, 2].mean():.3f} | {np.round(md[:3] / 1e6).astype(int).tolist()} | "
                    f"{np.round(zero[:3] / 1e6).astype(int).tolist()} | {np.round((md - zero)[:3] / 1e6).astype(int).tolist()}"
                )
        x = np.column_stack([np.array([r[0] for r in rows]) ** 2, np.ones(len(rows))])
        for c, name in enumerate(("xx", "yy", "zz")):
            md = np.linalg.lstsq(x, np.array([r[1][c] for r in rows]), rcond=None)[0][0]
            zero = np.linalg.lstsq(x, np.array([r[2][c] for r in rows]), rcond=None)[0][0]
            print(f"  {name}: slope over eps_zz^2, MD {md / 1e9:.0f} GPa, 0 K law {zero / 1e9:.0f} GPa")


if __name__ == "__main__":
    main()
