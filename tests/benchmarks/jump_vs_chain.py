"""One MD update across k load steps against k chained updates to the same strain (issue 8).

Why: a committee run's audit (and a refused qp's MD label) brings a box from the strain its state
was saved at, possibly several load steps back, to the target in ONE update (a ramp k times as
long, then the sampling window), while brute force takes one load step per update. If the long
ramp left the box off equilibrium when the window starts (a temperature lag: thermoelastic
cooling -T gamma d(eps_vol), ~7 MPa per K on copper; or a stress overshoot), audits would be
biased or noisier than the brute-force stresses the answers are compared with.

Each configuration starts from a rest state of the material (configuration c of replica r: rest
state c mod rest_states) and runs, through the workflow's own ``scema.md.update.run_update``:
(a) a chain of k_max updates of one load step d eps each (the chain's update j is "chain, k=j"),
(b) for every k in ``--ks`` one update from the rest state straight to k d eps ("jump"; k = 1 is
a second, independent draw of the chain's first update: the null comparison). Every update has
its own thermostat seed (run seed, "jump vs chain", replica, configuration, kind, k). The
temperature and the pressure are read from the LAMMPS log (thermo every 10 steps; this adds no
force and no random number, the trajectory is the workflow's), the stress from run_update.

d eps per load step: the default bar's 2e-3 along z (4e-6 m over 2 mm) with the lateral strain of
uniaxial stress, -nu 2e-3, nu = C12 / (C11 + C12) from the material's stiffness.

    flock /work/locks/campaign.lock nice -n 10 .venv/bin/python tests/benchmarks/jump_vs_chain.py \
        --material-dir /tmp/tenx4/mat/results/materials/copper --configs 32 --out /tmp/tenx4/jvc.npz
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

import xarray as xr  # noqa: E402
import yaml  # noqa: E402

from scema import seeds  # noqa: E402
from scema.config import validate_config  # noqa: E402
from scema.md.engine import Engine  # noqa: E402
from scema.md.material import MaterialSpec  # noqa: E402
from scema.md.update import Update, run_update  # noqa: E402
from scema.voigt import COMPONENTS  # noqa: E402

MPA = 1e6
THERMO_EVERY = 10
TRACE = 40  # thermo rows kept per update (the last 400 steps: every update has >= 100 + 300)
CHAIN, JUMP, PRE = 0, 1, 2  # kinds of update (the seed stream and the arrays)


def load_step_strain(stiffness: np.ndarray, zz: float = 2.0e-3) -> np.ndarray:
    """(6,) Voigt strain of one bar load step: zz along the load, -nu zz laterally (uniaxial stress,
    cubic nu = C12 / (C11 + C12) from the replica-mean stiffness)."""
    c = np.asarray(stiffness, float).reshape(-1, 6, 6).mean(axis=0)
    nu = 0.5 * (c[0, 1] + c[0, 2]) / (0.5 * (c[0, 0] + c[1, 1]) + 0.5 * (c[0, 1] + c[0, 2]))
    return np.array([-nu * zz, -nu * zz, zz, 0.0, 0.0, 0.0])


def read_thermo(log: Path, start: int) -> tuple[list[np.ndarray], int]:
    """Thermo tables (step temp pxx pyy pzz) of the runs logged after byte ``start``, and the new end."""
    text = log.read_text()
    tables = []
    for block in re.split(r"\n\s*Step\s+Temp\s+Pxx\s+Pyy\s+Pzz\s*\n", text[start:])[1:]:
        rows = []
        for line in block.splitlines():
            words = line.split()
            if len(words) != 5 or not re.match(r"^-?\d+$", words[0]):
                break
            rows.append([float(w) for w in words])
        tables.append(np.array(rows))
    return tables, len(text)


class LoggedUpdates:
    """run_update on one engine whose log gives each update's thermo table (temperature, pressure)."""

    def __init__(self, spec: MaterialSpec, log: Path) -> None:
        self.spec, self.log, self.offset = spec, log, 0
        self.engine = Engine(log=log)
        self.ready = False

    def __call__(self, update: Update) -> tuple[np.ndarray, np.ndarray]:
        if not self.ready:  # thermo settings live until the next clear; loads of one material never clear
            self.engine.load(self.spec, update.state_in)
            self.engine.commands(
                [f"thermo {THERMO_EVERY}", "thermo_style custom step temp pxx pyy pzz", "thermo_modify flush yes"]
            )
            self.ready = True
        stress = run_update(self.engine, self.spec, update)
        tables, self.offset = read_thermo(self.log, self.offset)
        return stress, tables[-1][-TRACE:]


def run_configuration(
    updates: LoggedUpdates,
    material: xr.Dataset,
    root: Path,
    replica: int,
    c: int,
    d_eps: np.ndarray,
    ks: list[int],
    run_seed: int,
    scratch: Path,
    pre_steps: int = 0,
) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """{(kind, k): (stress (6,) Pa minus reference, thermo trace (TRACE, 5))} of one configuration;
    with ``pre_steps`` the chain and the jumps start from the state a chain of that many load steps
    from the rest state left (strains P d eps + ...)."""
    rest = material["rest_state_file"].values[replica]
    start = root / str(rest[c % len(rest)])
    cell = material["reference_cell"].values[replica]
    reference = material["reference_stress"].values[replica]

    def update(state_in: Path, k: int, kind: int, tag: str) -> tuple[np.ndarray, np.ndarray]:
        k += 0 if kind == PRE else pre_steps
        return updates(
            Update(
                material=updates.spec.name,
                qp=c,
                replica=replica,
                state_in=state_in,
                target_strain=k * d_eps,
                reference_cell=cell,
                reference_stress=reference,
                state_out=scratch / f"{tag}.data",
                seed=seeds.lammps_seed(run_seed, "jump vs chain", replica, c, kind, k),
            )
        )

    for j in range(1, pre_steps + 1):
        update(start, j, PRE, f"pre_{j % 2}")
        start = scratch / f"pre_{j % 2}.data"
    out = {}
    state = start
    for j in range(1, max(ks) + 1):
        result = update(state, j, CHAIN, f"chain_{j % 2}")
        state = scratch / f"chain_{j % 2}.data"
        if j in ks:
            out[(CHAIN, j)] = result
    for k in ks:
        out[(JUMP, k)] = update(start, k, JUMP, "jump")
    return out


def summarise(stress: np.ndarray, trace: np.ndarray, ks: list[int], spec: MaterialSpec, d_eps: np.ndarray) -> str:
    """The table: per k, chain and jump mean, std and their difference (z), window temperature."""
    n = stress.shape[0]
    window = slice(TRACE - spec.sampling_steps // THERMO_EVERY, TRACE)
    lines = [
        f"# {n} configurations (rest states of the replicas), d eps per load step "
        f"{np.round(d_eps * 1e3, 3).tolist()} e-3, strain rate {spec.strain_rate:g}/s, dt {spec.timestep:g} s, "
        f"Langevin damping {spec.thermostat_damping_steps} steps, window {spec.sampling_steps} steps",
        "# stress minus the replica's reference (MPa); mean +- SE over configurations; std with its ~SE; "
        "jump - chain with z = diff / sqrt(SE_a^2 + SE_b^2); F = var(jump) / var(chain)",
        "# T: the window's mean temperature (K, thermo every 10 steps), mean +- SE",
        "k  ramp steps chain/jump  component   chain mean        jump mean         jump-chain (z)      "
        "chain std   jump std    F",
    ]
    for ki, k in enumerate(ks):
        steps = (spec.deform_steps(float(np.abs(d_eps).max())), spec.deform_steps(float(np.abs(k * d_eps).max())))
        a, b = stress[:, ki, CHAIN] / MPA, stress[:, ki, JUMP] / MPA
        for i, name in enumerate(COMPONENTS):
            sa, sb = a[:, i].std(ddof=1), b[:, i].std(ddof=1)
            ea, eb = sa / np.sqrt(n), sb / np.sqrt(n)
            diff = b[:, i].mean() - a[:, i].mean()
            lines.append(
                f"{k}  {steps[0]:4d}/{steps[1]:4d}        {name:9s} {a[:, i].mean():8.1f} +- {ea:4.1f}  "
                f"{b[:, i].mean():8.1f} +- {eb:4.1f}  {diff:7.1f} ({diff / np.hypot(ea, eb):+5.2f})  "
                f"{sa:6.1f}+-{sa / np.sqrt(2 * (n - 1)):3.1f} {sb:6.1f}+-{sb / np.sqrt(2 * (n - 1)):3.1f}  "
                f"{(sb / sa) ** 2:4.2f}"
            )
        ta, tb = (trace[:, ki, kind, window, 1].mean(axis=1) for kind in (CHAIN, JUMP))
        lines.append(
            f"{k}  T window (K)                    {ta.mean():8.2f} +- {ta.std(ddof=1) / np.sqrt(n):4.2f}  "
            f"{tb.mean():8.2f} +- {tb.std(ddof=1) / np.sqrt(n):4.2f}  {tb.mean() - ta.mean():7.2f}"
        )
        first = trace[:, ki, :, TRACE - spec.sampling_steps // THERMO_EVERY, 1]
        lines.append(
            f"{k}  T first window step (K)         {first[:, CHAIN].mean():8.2f} +- "
            f"{first[:, CHAIN].std(ddof=1) / np.sqrt(n):4.2f}  {first[:, JUMP].mean():8.2f} +- "
            f"{first[:, JUMP].std(ddof=1) / np.sqrt(n):4.2f}  {first[:, JUMP].mean() - first[:, CHAIN].mean():7.2f}"
        )
    lines += pooled_lines(stress, ks, [k for k in ks if k > 1])
    if 1 in ks:
        lines += pooled_lines(stress, ks, [1], "the control: k = 1, one protocol twice (what chance alone gives)")
    return "\n".join(lines)


def pooled_lines(
    stress: np.ndarray, ks: list[int], pooled: list[int], label: str = "", replicates: int = 2000
) -> list[str]:
    """Over the k in ``pooled`` together: mean (jump - chain) and var(jump) / var(chain) per
    component, with 95 % intervals from a bootstrap over configurations (the k of one
    configuration are correlated: one chain, one start state)."""
    use = [ks.index(k) for k in pooled]
    if not use:
        return []

    def stats(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = s[:, use, CHAIN], s[:, use, JUMP]
        return (b - a).mean(axis=(0, 1)), b.var(axis=0, ddof=1).sum(axis=0) / a.var(axis=0, ddof=1).sum(axis=0)

    rng = np.random.default_rng(0)
    diff, ratio = stats(stress)
    boot = [stats(stress[rng.integers(0, len(stress), len(stress))]) for _ in range(replicates)]
    d_lo, d_hi = np.percentile([b[0] for b in boot], [2.5, 97.5], axis=0)
    r_lo, r_hi = np.percentile([b[1] for b in boot], [2.5, 97.5], axis=0)
    out = [f"# pooled over k = {pooled} (bootstrap over configurations, 95 %) {label}"]
    for i, name in enumerate(COMPONENTS):
        out.append(
            f"   {name:3s} jump - chain {diff[i] / MPA:6.1f} MPa [{d_lo[i] / MPA:6.1f}, {d_hi[i] / MPA:5.1f}]   "
            f"var ratio {ratio[i]:4.2f} [{r_lo[i]:4.2f}, {r_hi[i]:4.2f}]"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--material-dir", type=Path, required=True, help="results/materials/NAME of a run")
    parser.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    parser.add_argument("--set", action="append", default=[], help="material setting KEY=VALUE (YAML), e.g. a protocol")
    parser.add_argument("--configs", type=int, default=32, help="configurations per replica")
    parser.add_argument("--first-config", type=int, default=0, help="index of the first (another draw: new seeds)")
    parser.add_argument("--replicas", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--pre-steps", type=int, default=0, help="start from a chain of this many load steps")
    parser.add_argument("--zz", type=float, default=2.0e-3, help="strain along the load per load step")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--load", type=Path, nargs="+", help="summarise --out files again (their common k), no MD")
    args = parser.parse_args()
    material = xr.open_dataset(args.material_dir / "material.nc")
    name = material.attrs["material"]
    raw = yaml.safe_load(args.config.read_text())
    for item in args.set:
        key, value = item.split("=", 1)
        raw["materials"][name][key] = yaml.safe_load(value)
    config = validate_config(raw, search_dirs=[REPO])
    spec = MaterialSpec.from_config(name, config["materials"][name])
    d_eps = load_step_strain(material["stiffness"].values, args.zz)
    if args.load:
        data = [np.load(path) for path in args.load]
        ks = [k for k in data[0]["ks"].tolist() if all(k in d["ks"].tolist() for d in data)]
        pick = [[d["ks"].tolist().index(k) for k in ks] for d in data]
        stress = np.concatenate([d["stress"][:, p] for d, p in zip(data, pick)])
        trace = np.concatenate([d["trace"][:, p] for d, p in zip(data, pick)])
        print(summarise(stress, trace, ks, spec, data[0]["d_eps"]))
        return
    root = args.material_dir.resolve().parents[2]  # paths in material.nc are relative to the run directory
    rows = [(r, c) for r in args.replicas for c in range(args.first_config, args.first_config + args.configs)]
    stress = np.zeros((len(rows), len(args.ks), 2, 6))
    trace = np.zeros((len(rows), len(args.ks), 2, TRACE, 5))
    begin = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scema-jvc-") as tmp:
        updates = LoggedUpdates(spec, Path(tmp) / "lammps.log")
        for i, (r, c) in enumerate(rows):
            out = run_configuration(
                updates, material, root, r, c, d_eps, args.ks, int(config["run"]["seed"]), Path(tmp), args.pre_steps
            )
            for (kind, k), (s, t) in out.items():
                stress[i, args.ks.index(k), kind], trace[i, args.ks.index(k), kind] = s, t
        updates.engine.close()
    print(
        f"# {len(rows)} configurations in {time.perf_counter() - begin:.0f} s wall; settings {args.set or 'defaults'}; "
        f"from {args.pre_steps} load steps"
    )
    if args.out:
        np.savez(args.out, stress=stress, trace=trace, ks=np.array(args.ks), d_eps=d_eps, rows=np.array(rows))
    print(summarise(stress, trace, args.ks, spec, d_eps))


if __name__ == "__main__":
    main()
