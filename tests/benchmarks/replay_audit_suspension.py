"""Would a committee run's audits have suspended it? Replayed from its stored files (issue 8, audits).

Per audited step: the audits, their error rms and pooled noise (recomputed as
committee_update computes it when the run predates ``pooled_noise``), the old per-step t test on
err^2 - noise^2 (``shown_inaccurate``) and today's verdict (``audit_suspends``: the F test over
the audits of this and the steps just before). Open loop: the replay does not change what the
run trusted after a verdict, so every step after the first suspension is one the run would have
sent to MD. Runs nothing.

    .venv/bin/python tests/benchmarks/replay_audit_suspension.py RUN [RUN ...] [--accuracy-mpa 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "workflow"))


def with_pooled_noise(run: Path) -> list[xr.Dataset]:
    """The run's training samples, each with ``pooled_noise`` (recomputed when absent, by the
    function committee_update writes it with)."""
    from scema.stages.committee_update import pooled_noise_of

    paths = sorted((run / "results").glob("step_*/training_samples.nc"))
    out = []
    for k, path in enumerate(paths):
        with xr.open_dataset(path) as ds:
            ds = ds.load()
        if "pooled_noise" not in ds:
            ds["pooled_noise"] = (("sample", "component"), pooled_noise_of(ds, paths[:k]))
        out.append(ds)
    return out


def replay(run: Path, accuracy_pa: float, tolerance: float) -> list[str]:
    from scema.committee.acceptance import shown_inaccurate
    from scema.stages.committee_update import audit_suspends

    rows, paths = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for ds in with_pooled_noise(run):
            a = ds["audited"].values == 1
            err = ds["committee_stress"].values[a] - ds["stress"].values[a]
            noise = ds["pooled_noise"].values[a]
            if a.any():
                net = np.sqrt(np.maximum(0.0, np.mean(err**2 - noise**2, axis=0))) / 1e6
                old = shown_inaccurate(err**2 - noise**2, accuracy_pa, tolerance)
                new = audit_suspends(ds, 0, accuracy_pa, tolerance, paths)
                rows.append(
                    f"{ds.attrs['step']:4d} {int(a.sum()):3d}  net {np.round(net[:3]).astype(int)}"
                    f"  noise {np.round(np.sqrt(np.mean(noise**2, axis=0))[:3] / 1e6).astype(int)}"
                    f"  old {int(old)}  new {int(new)}"
                )
            paths.append(str(Path(tmp) / f"{len(paths)}.nc"))
            ds.to_netcdf(paths[-1])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--accuracy-mpa", type=float, default=30.0)
    parser.add_argument("--tolerance", type=float, default=0.1)
    args = parser.parse_args()
    for run in args.runs:
        print(f"{run}\nstep audits  net error xx yy zz MPa (mean over the step)  pooled noise  old/new verdict")
        print("\n".join(replay(run, args.accuracy_mpa * 1e6, args.tolerance)))


if __name__ == "__main__":
    main()
