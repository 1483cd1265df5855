"""MD work saved by clustering and by the committee, and what it costs in accuracy, on real MD.

Committee campaign (issue 8; the default): on the copper bar, brute force twice with different
``run.seed`` (the seed-to-seed noise band of the reaction-force curve), then the committee for
every size x target, each with the first seed. Per run: MD updates and the ratio to brute force,
the largest reaction-force difference against brute force relative to the peak and to the
seed-to-seed band, the committee's answers, audits and their error net of the MD noise against
the accuracy, wall time. Writes ``acceleration.nc`` and ``acceleration.csv`` in the work dir.

    # the issue's campaign: 30 steps, default material settings (500 atoms, 2 replicas)
    nice -n 10 .venv/bin/python tests/benchmarks/bench_acceleration.py --steps 30 --full
    # a reduced one (108-atom boxes, 150 sampling steps, still 2 replicas)
    nice -n 10 .venv/bin/python tests/benchmarks/bench_acceleration.py --steps 10
    # ridge members retrained every step, beside finished brute-force runs of the work dir
    nice -n 10 .venv/bin/python tests/benchmarks/bench_acceleration.py --steps 30 --runs deviation:4 \
        --committee-set architecture=ridge,train_frequency=1 --tag ridge --reuse-brute --workdir DIR
    # a history-dependent material: the shrunk Cu-Zr glass bar (20 steps through yield and back);
    # the second seed on the first seed's glass, so material_init runs once
    nice -n 5 .venv/bin/python tests/benchmarks/bench_acceleration.py --share-material \
        --base-config docs/results/cuzr_glass_committee_run_config.yaml --runs correction:4,deviation:4

Per committee run the table also says where its MD went (qp-steps: the steps before the first
usable version, audits, qps the committee refused) and the best ratio any committee could reach
in that setting (``best_ratio``: nothing trusted before the first version, audits always MD,
everything else trusted); ``md_breakdown.csv`` has the same per step, and ``steps.csv`` the reaction per step beside the
seed-to-seed difference, the audits and suspensions. ``--table-only`` rebuilds
the table from the finished runs of the work dir (every committee run with the tag, not only
those named by ``--runs``).

``--only clustering`` runs the clustering sweep of the earlier benchmark instead (bar and holed
bar, brute force once).
"""

from __future__ import annotations

import argparse
import copy
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
sys.path.insert(0, str(REPO / "workflow"))


AUDIT_COLUMNS = (  # audit_metrics' figures, in table order
    "audit_error_median_mpa",
    "audit_net_error_median_mpa",
    "audit_net_error_p90_mpa",
    "audit_within_accuracy",
    "audit_within_accuracy_exact",
    "audit_within_accuracy_own_noise",
    "audit_pooled_net_error_mpa",
    "audit_pass_fraction_estimated",
    "audit_pass_fraction_lower",
)


def base_config(steps: int | None, full: bool, path: Path | None = None) -> dict:
    """The run config every run starts from: ``path`` as it is (its own steps unless ``steps``),
    or config/config.yaml, shrunk to 108-atom boxes unless ``full``, with ``steps`` (default 30)."""
    with open(path or REPO / "config/config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    if path is None:
        cfg["run"]["steps"] = steps or 30
        if not full:
            cfg["materials"]["copper"]["variables"]["cells"] = 3
            cfg["materials"]["copper"].update(sampling_steps=150, stiffness_sampling_steps=300)
    elif steps:
        cfg["run"]["steps"] = steps
    return cfg


def settings_text(args) -> str:
    if args.base_config:
        return f"{args.base_config} as it is"
    if args.full:
        return "default material settings"
    return (
        "cells 3 (108 atoms), sampling_steps 150, stiffness_sampling_steps 300, other settings from config/config.yaml"
    )


def holed_mesh(path: Path) -> None:
    """A 1 x 1 x 2 mm bar with a 0.5 mm hole through it along y (strain concentration)."""
    import gmsh

    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    box = gmsh.model.occ.addBox(0, 0, 0, 1e-3, 1e-3, 2e-3)
    hole = gmsh.model.occ.addCylinder(0.5e-3, -0.1e-3, 1e-3, 0, 1.2e-3, 0, 0.25e-3)
    gmsh.model.occ.cut([(3, box)], [(3, hole)])
    gmsh.model.occ.synchronize()
    gmsh.model.addPhysicalGroup(3, [v[1] for v in gmsh.model.getEntities(3)], 1)
    gmsh.option.setNumber("Mesh.CharacteristicLengthMin", 0.5e-3)
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", 0.8e-3)
    gmsh.model.mesh.generate(3)
    gmsh.write(str(path))
    gmsh.finalize()


def run(workdir: Path, cfg: dict, materials: Path | None) -> float:
    """Run the workflow (resumes a finished or interrupted run); wall seconds of all calls so far.

    Each call's time is appended to ``wall_seconds.txt`` in the work dir, so a run finished
    earlier and only resumed now still reports the time it took (not the seconds of the resume).
    A copied ``materials`` dir has no Snakemake record of the code that made it, and Snakemake
    (9.x) reruns such outputs on its code trigger (material_init again: 225 CPU s on the shrunk
    glass), so those runs leave out the code trigger; mtime, params and input still count.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if materials is not None and not (workdir / "results" / "materials").exists():
        shutil.copytree(materials, workdir / "results" / "materials")
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    start = time.perf_counter()
    with open(workdir / "snakemake.log", "a") as log:
        proc = subprocess.run(
            [
                str(SNAKEMAKE),
                "-s",
                str(REPO / "Snakefile"),
                "-d",
                str(workdir),
                "--configfile",
                str(workdir / "config.yaml"),
                "--cores",
                "2",
                "--rerun-incomplete",
                *(["--rerun-triggers", "mtime", "params", "input", "software-env"] if materials else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if proc.returncode != 0:
        sys.exit(f"run in {workdir} failed: see {workdir / 'snakemake.log'}")
    with open(workdir / "wall_seconds.txt", "a") as fh:
        fh.write(f"{time.perf_counter() - start:.1f}\n")
    return float(np.sum(np.loadtxt(workdir / "wall_seconds.txt", ndmin=1)))


def summary(workdir: Path) -> xr.Dataset:
    with xr.open_dataset(workdir / "results/summary.nc") as ds:
        return ds.load()


def reaction(workdir: Path) -> np.ndarray:
    """z reaction force per finished step (from the step files, so a run still going counts too),
    on the run's ``specimen.reaction_face`` when the file holds every boundary (runs made since
    the reaction per boundary; older files hold that face only)."""
    with open(workdir / "config.yaml") as fh:
        face = yaml.safe_load(fh)["specimen"].get("reaction_face", "zmax")
    values = []
    for path in sorted((workdir / "results").glob("step_*/reaction.nc")):
        with xr.open_dataset(path) as ds:
            force = ds["reaction_force"].sel(xyz="z")
            values.append(float(force.sel(boundary=face) if "boundary" in force.dims else force))
    return np.array(values)


def common_band(brute: list[Path]) -> tuple[float, int]:
    """(seed-to-seed band, steps it covers): over the steps both brute-force seeds have finished."""
    a, b = reaction(brute[0]), reaction(brute[1]) if (brute[1] / "results").exists() else np.array([])
    k = min(a.size, b.size)
    return (relative_difference(b[:k], a[:k]), k) if k else (np.nan, 0)


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """max_t |a - b| / max_t |b| (b the brute-force reference curve)."""
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def sample_files(workdir: Path, steps: int) -> list[Path]:
    return [workdir / f"results/step_{t:04d}/training_samples.nc" for t in range(1, steps + 1)]


def audits_with_pooled_noise(workdir: Path, steps: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per step (committee - MD, pooled MD noise, the sample's own two-replica noise, material) of the audits.

    The pooled noise is recomputed from the stored samples by the function committee_update
    writes ``pooled_noise`` with, so runs written before that variable existed read the same."""
    from scema.stages.committee_update import pooled_noise_of

    paths = sample_files(workdir, steps)
    out = []
    for k, path in enumerate(paths):
        with xr.open_dataset(path) as s:
            rows = s["audited"].values == 1
            pooled = pooled_noise_of(s, paths[:k])
            e = s["committee_stress"].values[rows] - s["stress"].values[rows]
            out.append((e, pooled[rows], s["comparison_noise"].values[rows], s["material"].values[rows]))
    return out


def pooled_audit_error(audits: list[tuple[np.ndarray, ...]]) -> float:
    """The committee's own error over all audits of the run, MPa: per component
    sqrt(max(0, mean(err^2 - noise^2))), largest component (what single audits cannot resolve
    when the MD noise is near the accuracy)."""
    d = np.concatenate([a[0] ** 2 - a[1] ** 2 for a in audits])
    return float(np.sqrt(np.maximum(0.0, d.mean(axis=0))).max() / 1e6) if d.size else np.nan


def audit_metrics(workdir: Path, steps: int, accuracy_pa: float) -> dict:
    """Audited qps of the whole run: max-component |committee - MD|, and net of the pooled MD
    noise; the share within the accuracy one by one, beside the share an exact committee would
    reach at that noise (a lower bound, ``scema.committee.noise.exact_pass_fraction``) and the
    share with each audit's own two-replica noise (the definition before the pooled noise); and
    the goal's share, estimated net of the noise with its lower 95 % bound (the audits' error
    distribution deconvolved, ``scema.committee.pass_fraction``)."""
    from scema.committee import net_error
    from scema.committee.noise import exact_pass_fraction
    from scema.stages.committee_update import audit_pass_fraction

    audits = audits_with_pooled_noise(workdir, steps)
    e = np.concatenate([a[0] for a in audits])
    if e.size == 0:
        return {
            "audited": 0,
            **dict.fromkeys(
                AUDIT_COLUMNS,
                np.nan,
            ),
        }
    pooled, own, material = (np.concatenate([a[i] for a in audits]) for i in (1, 2, 3))
    err = np.abs(e).max(axis=1)
    net = net_error(e, pooled).max(axis=1)
    estimate, lower = audit_pass_fraction(e, pooled, material, accuracy_pa)
    return {
        "audited": int(err.size),
        "audit_error_median_mpa": float(np.median(err) / 1e6),
        "audit_net_error_median_mpa": float(np.median(net) / 1e6),
        "audit_net_error_p90_mpa": float(np.percentile(net, 90) / 1e6),
        "audit_within_accuracy": float(np.mean(net <= accuracy_pa)),
        "audit_within_accuracy_exact": float(np.mean(exact_pass_fraction(pooled, accuracy_pa))),
        "audit_within_accuracy_own_noise": float(np.mean(net_error(e, own).max(axis=1) <= accuracy_pa)),
        "audit_pooled_net_error_mpa": pooled_audit_error(audits),
        "audit_pass_fraction_estimated": estimate,
        "audit_pass_fraction_lower": lower,
    }


def committee_metrics(workdir: Path, steps: int) -> dict:
    with xr.open_dataset(workdir / f"results/step_{steps:04d}/committee.nc") as rec:
        version, accepted, suspended = (
            int(rec["version"].max()),
            int(rec["accepted"].max()),
            int(rec["suspended"].max()),
        )
    s = summary(workdir)
    return {
        "committee_answers": int(s["committee_answers"].sum()),
        "final_version": version,
        "final_accepted": accepted,
        "final_suspended": suspended,
        "suspended_steps": int((s["suspended_materials"].values > 0).sum()),
    }


def md_breakdown(workdir: Path, steps: int) -> list[dict]:
    """Per step, where the qps' MD went (qp counts, each costs ``replicas`` updates): ``first``
    (no usable version yet), ``audit`` (trusted, run by MD as a check), ``refused`` (a usable
    version's spread above the accuracy), and ``trusted`` (answered by the committee)."""
    from scema.io.datasets import DECISIONS

    rows = []
    for t in range(1, steps + 1):
        with xr.open_dataset(workdir / f"results/step_{t:04d}/committee_query.nc") as q:
            d, usable = q["decision"].values, bool(q.attrs["committee_used"]) and bool(q["usable"].values.any())
        md = int((d == DECISIONS["md"]).sum())
        rows.append(
            {
                "step": t,
                "first": 0 if usable else md,
                "audit": int((d == DECISIONS["audit"]).sum()),
                "refused": md if usable else 0,
                "trusted": int((d == DECISIONS["committee"]).sum()),
            }
        )
    return rows


def first_version_step(n_qp: int, train_frequency: int) -> int:
    """The first step a version can answer: one is trained once train_frequency samples exist, and
    a step without a version sends all n_qp qps to MD (each one sample)."""
    return int(np.ceil(train_frequency / n_qp)) + 1


def best_ratio(n_qp: int, steps: int, audit_fraction: float, train_frequency: int) -> float:
    """Brute force's MD over the least any committee could run: every qp by MD until the first
    version exists, then only the audits, ceil(audit_fraction * n_qp) qps a step (all trusted)."""
    first = min(steps, first_version_step(n_qp, train_frequency) - 1)
    audits = max(1, int(np.ceil(audit_fraction * n_qp))) if audit_fraction > 0 else 0
    return steps * n_qp / (first * n_qp + (steps - first) * audits)


def breakdown_metrics(workdir: Path, steps: int) -> dict:
    rows = md_breakdown(workdir, steps)
    from scema.committee.settings import schema_defaults

    with open(workdir / "config.yaml") as fh:
        committee = {**schema_defaults(), **yaml.safe_load(fh)["committee"]}  # a base config may set few keys
    with xr.open_dataset(workdir / "results/step_0001/committee_query.nc") as q:
        n_qp = q.sizes["qp"]
    return {
        "md_first_qps": sum(r["first"] for r in rows),
        "md_audit_qps": sum(r["audit"] for r in rows),
        "md_refused_qps": sum(r["refused"] for r in rows),
        "best_ratio": best_ratio(n_qp, steps, committee["audit_fraction"], committee["train_frequency"]),
    }


def write_breakdown(runs: dict[str, Path], steps: int, root: Path) -> None:
    with open(root / "md_breakdown.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["run", "step", "first", "audit", "refused", "trusted"])
        writer.writeheader()
        for name, w in runs.items():
            for row in md_breakdown(w, steps):
                writer.writerow({"run": name, **row})


STEP_COLUMNS = [
    "run",
    "step",
    "applied_displacement_z_m",
    "reaction_z_n",
    "reaction_diff_n",
    "seed_diff_n",
    "md_updates",
    "committee_answers",
    "audited",
    "audit_net_error_median_mpa",
    "audit_net_error_max_mpa",
    "suspended_materials",
]


def write_steps(runs: dict[str, Path], brute: list[Path], steps: int, root: Path) -> None:
    """``steps.csv``: per run and step, the z reaction, its distance to the first brute-force seed
    beside the two seeds' own distance at that step (the band where history matters: beyond
    yield, on unloading), where the MD went, the audits' net error and any suspension."""
    ref = reaction(brute[0])
    other = reaction(brute[1]) if finished(brute[1], steps) else np.full(ref.size, np.nan)
    with open(root / "steps.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=STEP_COLUMNS)
        writer.writeheader()
        for name, w in runs.items():
            s = summary(w)
            for k, t in enumerate(s["step"].values):
                has = "audited" in s
                net = s["audit_net_error"].values[k] / 1e6 if has else np.full(3, np.nan)
                writer.writerow(
                    {
                        "run": name,
                        "step": int(t),
                        "applied_displacement_z_m": f"{float(s['applied_displacement'].values[k, 2]):.6g}",
                        "reaction_z_n": f"{reaction(w)[k]:.1f}",
                        "reaction_diff_n": f"{reaction(w)[k] - ref[k]:.1f}",
                        "seed_diff_n": f"{other[k] - ref[k]:.1f}",
                        "md_updates": int(s["md_updates"].values[k]),
                        "committee_answers": int(s["committee_answers"].values[k]) if has else 0,
                        "audited": int(s["audited"].values[k]) if has else 0,
                        "audit_net_error_median_mpa": f"{net[0]:.1f}",
                        "audit_net_error_max_mpa": f"{net[2]:.1f}",
                        "suspended_materials": int(s["suspended_materials"].values[k]) if has else 0,
                    }
                )


COLUMNS = [
    "run",
    "size",
    "target",
    "md_updates",
    "md_ratio",
    "reaction_diff",
    "reaction_diff_over_band",
    "committee_answers",
    "audited",
    *AUDIT_COLUMNS,
    "final_version",
    "final_accepted",
    "final_suspended",
    "suspended_steps",
    "md_first_qps",
    "md_audit_qps",
    "md_refused_qps",
    "best_ratio",
    "band_steps",
    "wall_seconds",
]


def write_table(rows: list[dict], root: Path, attrs: dict) -> None:
    from scema.io.netcdf import index_coord, write_dataset

    with open(root / "acceleration.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in COLUMNS})
    units = {
        "md_updates": "1",
        "md_ratio": "1",
        "reaction_diff": "1",
        "reaction_diff_over_band": "1",
        "wall_seconds": "s",
        "size": "1",
        "committee_answers": "1",
        "audited": "1",
        "audit_within_accuracy": "1",
        "audit_within_accuracy_exact": "1",
        "audit_within_accuracy_own_noise": "1",
        "audit_pass_fraction_estimated": "1",
        "audit_pass_fraction_lower": "1",
        "final_version": "1",
        "final_accepted": "1",
        "final_suspended": "1",
        "suspended_steps": "1",
        "band_steps": "1",
        "md_first_qps": "1",
        "md_audit_qps": "1",
        "md_refused_qps": "1",
        "best_ratio": "1",
    }
    long = {
        "md_updates": "(qp, replica) MD updates over the run",
        "md_ratio": "brute-force MD updates / this run's",
        "reaction_diff": "max |R - R_brute| / max |R_brute| (z reaction force)",
        "reaction_diff_over_band": "max |R - R_brute| / the seed-to-seed one, over the steps both seeds finished",
        "size": "committee size (0: no committee)",
        "committee_answers": "qp answers given by the committee",
        "audited": "trusted qps also run by MD",
        "audit_within_accuracy": "share of audits with net error (pooled MD noise) within the accuracy, one by one",
        "audit_within_accuracy_exact": "the same share an exact committee would reach at this MD noise (lower bound)",
        "audit_within_accuracy_own_noise": "the same share, each audit net of its own two-replica noise (before)",
        "audit_pooled_net_error_mpa": "sqrt(mean(err^2 - noise^2)) over all audits, largest component",
        "audit_pass_fraction_estimated": "audit pass fraction (estimated, net of noise): share of audited qps "
        "whose committee error, deconvolved from the MD noise, is within the accuracy in every component",
        "audit_pass_fraction_lower": "lower 95 % bound (parametric bootstrap) of audit_pass_fraction_estimated",
        "band_steps": "steps the seed-to-seed band covers",
        "md_first_qps": "qp-steps run by MD before the first usable version",
        "md_audit_qps": "qp-steps run by MD as audits",
        "md_refused_qps": "qp-steps run by MD because the committee's spread exceeded the accuracy",
        "best_ratio": "md_ratio of a committee trusted everywhere from its first version, audits still MD",
        "final_version": "committee version at the end",
        "final_accepted": "1 if that version is accepted",
        "final_suspended": "1 if suspended at the end",
        "suspended_steps": "steps after which the committee was suspended",
        "wall_seconds": "wall time of the run",
    }
    variables = {}
    for key in COLUMNS[1:]:
        if key == "target":
            continue
        values = np.array([float(r.get(key, np.nan)) for r in rows])
        unit = units.get(key, "MPa")
        variables[key] = (
            "run",
            values,
            {
                "units": unit,
                "long_name": long.get(key, key.replace("_mpa", "").replace("_", " ") + " over audited qps"),
            },
        )
    ds = xr.Dataset(
        variables,
        coords=index_coord("run", len(rows), "run of the campaign"),
        attrs={**attrs, "runs": " | ".join(f"{r['run']}" for r in rows)},
    )
    write_dataset(ds, root / "acceleration.nc", "acceleration benchmark (committee)")


def brute_row(w: Path, seed: int, ref: np.ndarray, n_brute: int, band: float, k: int) -> dict:
    diff = relative_difference(reaction(w)[: ref.size], ref[: reaction(w).size])
    return {
        "run": f"brute seed {seed}",
        "size": 0,
        "target": "",
        "md_updates": int(summary(w)["md_updates"].sum()),
        "md_ratio": n_brute / int(summary(w)["md_updates"].sum()),
        "reaction_diff": diff,
        "reaction_diff_over_band": diff / band,
        "band_steps": k,
        "wall_seconds": run_seconds(w),
    }


def run_seconds(w: Path) -> float:
    return float(np.sum(np.loadtxt(w / "wall_seconds.txt", ndmin=1)))


def finished(w: Path, steps: int) -> bool:
    return (w / "results/summary.nc").exists() and (w / f"results/step_{steps:04d}/reaction.nc").exists()


def committee_campaign(args, root: Path) -> None:
    """Brute force (first seed), the committee runs, then brute force with the second seed.

    The second brute-force run only gives the seed-to-seed band, so it comes last: on a busy
    machine the committee runs are measured first. The table is rewritten after every run
    (the band is NaN until the second seed has finished).
    """
    from scema.committee.settings import schema_defaults

    cfg = base_config(args.steps, args.full, args.base_config)
    args.steps = cfg["run"]["steps"]
    seeds = [cfg["run"]["seed"], cfg["run"]["seed"] + 1]
    brute = [root / f"brute_seed{s}" for s in seeds]
    accuracy_mpa = {**schema_defaults(), **cfg.get("committee", {})}["stress_accuracy_mpa"]
    accuracy = accuracy_mpa * 1e6
    runs = [(t, int(v)) for t in args.targets.split(",") for v in args.sizes.split(",")]
    if args.runs == "none":  # brute force only
        runs = []
    elif args.runs:
        runs = [(r.split(":")[0], int(r.split(":")[1])) for r in args.runs.split(",")]
    attrs = {
        "steps": args.steps,
        "full": int(args.full),
        "accuracy_mpa": accuracy_mpa,
        "settings": settings_text(args),
        "band_material": "the first seed's" if args.share_material else "each seed its own",
    }
    jobs = [("brute", 0, seeds[0])] + [("committee", t, v) for t, v in runs]
    jobs += [("brute", 1, seeds[1])] if not args.one_seed else []
    if args.table_only:
        jobs = []
    done = []

    def write_table() -> None:
        """The table over what has finished so far: written after every run, so a stopped campaign keeps it."""
        table(
            done,
            brute,
            seeds,
            root,
            args.steps,
            accuracy,
            {**attrs, "committee_set": str(args.committee_set)},
            args.tag,
            args.also_tags,
        )

    for job in jobs:
        if job[0] == "brute":
            c = copy.deepcopy(cfg)
            c["run"]["seed"] = job[2]
            if args.reuse_brute and finished(brute[job[1]], args.steps):
                print(f"{brute[job[1]]}: finished, read as it is (--reuse-brute)", flush=True)
            else:
                # each seed initialises its own material (reference boxes, C), or the second takes the first's
                shared = args.share_material and job[1] == 1
                run(brute[job[1]], c, brute[0] / "results" / "materials" if shared else None)
        else:
            _, target, size = job
            c = copy.deepcopy(cfg)
            c["committee"] = {**cfg["committee"], **args.committee_set, "enabled": True, "size": size, "target": target}
            run(committee_dir(root, target, size, args.tag), c, brute[0] / "results" / "materials")
        done.append(job)
        write_table()
    if not done:
        write_table()
    print(f"table: {root / 'acceleration.csv'} and {root / 'acceleration.nc'}; per step: {root / 'md_breakdown.csv'}")


def finished_committee_runs(root: Path, tag: str, steps: int) -> list[tuple[str, str, int]]:
    """("committee", target, size) of every finished committee run of the work dir with this tag."""
    found = []
    for w in sorted(root.glob("committee_*")):
        parts = w.name.split("_")
        if len(parts) == 3 + bool(tag) and (not tag or parts[3] == tag) and finished(w, steps):
            found.append(("committee", parts[1], int(parts[2])))
    return sorted(found, key=lambda job: (job[1] != "deviation", job[1], job[2]))


def committee_dir(root: Path, target: str, size: int, tag: str) -> Path:
    return root / f"committee_{target}_{size}{'_' + tag if tag else ''}"


def parse_settings(text: str) -> dict:
    """``key=value,...`` -> committee keys for every committee run (values read as YAML)."""
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    return {key: yaml.safe_load(value) for key, value in pairs}


def table(
    done, brute, seeds, root: Path, steps: int, accuracy: float, attrs: dict, tag: str = "", also_tags: tuple = ()
) -> None:
    ref = reaction(brute[0])
    band, k = common_band(brute)
    n_brute = int(summary(brute[0])["md_updates"].sum())
    rows = [brute_row(brute[0], seeds[0], ref, n_brute, band, k)]
    if finished(brute[1], steps):
        rows.append(brute_row(brute[1], seeds[1], ref, n_brute, band, k))
    tags = [tag, *also_tags]
    jobs = [(t, v, g) for g in tags for _, t, v in finished_committee_runs(root, g, steps)]
    jobs += [(j[1], j[2], tag) for j in done if j[0] == "committee" and (j[1], j[2], tag) not in jobs]  # stopped early
    breakdown = {}
    for target, size, tag in jobs:
        w = committee_dir(root, target, size, tag)
        n = int(summary(w)["md_updates"].sum())
        diff = relative_difference(reaction(w), ref)
        row = {
            "run": f"committee {target} size {size}{' ' + tag if tag else ''}",
            "size": size,
            "target": target,
            "md_updates": n,
            "md_ratio": n_brute / max(n, 1),
            "reaction_diff": diff,
            "reaction_diff_over_band": relative_difference(reaction(w)[:k], ref[:k]) / band if k else np.nan,
            "band_steps": k,
            "wall_seconds": run_seconds(w),
            **committee_metrics(w, steps),
            **audit_metrics(w, steps, accuracy),
            **breakdown_metrics(w, steps),
        }
        rows.append(row)
        breakdown[row["run"]] = w
    write_breakdown(breakdown, steps, root)
    seeds_done = {f"brute seed {seed}": w for seed, w in zip(seeds, brute) if finished(w, steps)}
    write_steps({**seeds_done, **breakdown}, brute, steps, root)
    print(f"seed-to-seed band of the reaction force: {band:.2%} of its peak over the first {k} steps", flush=True)
    for row in rows:
        print(
            "  ".join(
                f"{k}={row[k]:.3g}" if isinstance(row[k], float) else f"{k}={row[k]}" for k in COLUMNS if k in row
            ),
            flush=True,
        )
    write_table(rows, root, {**attrs, "seed_band": band})


def clustering_campaign(args, root: Path) -> None:
    holed_mesh(root / "hole.msh")
    specimens = {"bar": {}, "hole": {"mesh": {"type": "gmsh", "file": str(root / "hole.msh")}}}
    materials = None
    for specimen in args.specimens.split(","):
        cfg = base_config(args.steps, args.full)
        cfg["specimen"].update(copy.deepcopy(specimens[specimen]))
        brute = root / f"{specimen}_brute"
        run(brute, cfg, materials)
        materials = materials or brute / "results" / "materials"
        for metric, alpha in (("l1", 1e-3), ("l1", 3e-3), ("l1", 1e-2), ("l2", 1e-3)):
            c = copy.deepcopy(cfg)
            c["clustering"] = {"enabled": True, "alpha": alpha, "n_points": 10, "metric": metric}
            w = root / f"{specimen}_cluster_{metric}_{alpha:g}"
            seconds = run(w, c, materials)
            a, b = summary(w), summary(brute)
            print(
                f"{specimen}: clustering {metric} alpha={alpha:g}: md_updates {int(a['md_updates'].sum())} "
                f"(brute {int(b['md_updates'].sum())}), max |dR|/max|R| "
                f"{relative_difference(reaction(w), reaction(brute)):.2%}, {seconds:.0f} s",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="load steps (default 30, or the base config's)")
    parser.add_argument(
        "--base-config",
        type=Path,
        default=None,
        help="the run config to start from, as it is (default config/config.yaml, shrunk unless --full)",
    )
    parser.add_argument(
        "--share-material",
        action="store_true",
        help="the second brute-force seed runs on the first seed's material (as the committee runs do): "
        "the band is then the MD sampling noise alone, and an expensive material_init runs once",
    )
    parser.add_argument("--full", action="store_true", help="default material settings (500 atoms)")
    parser.add_argument("--only", choices=["clustering", "committee"], default="committee")
    parser.add_argument("--sizes", default="2,4,8")
    parser.add_argument("--targets", default="correction,stress")
    parser.add_argument(
        "--runs",
        default="",
        help="committee runs as target:size,... (default: targets x sizes; none: brute force only)",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--committee-set",
        type=parse_settings,
        default={},
        help="committee keys for every committee run, key=value,... (e.g. architecture=ridge,train_frequency=1)",
    )
    parser.add_argument(
        "--reuse-brute",
        action="store_true",
        help="read finished brute-force runs in the work dir as they are (no Snakemake call: made by older code)",
    )
    parser.add_argument("--tag", default="", help="suffix of the committee run directories and names")
    parser.add_argument(
        "--also-tags",
        type=lambda text: tuple(t for t in text.split(",") if t),
        default=(),
        help="the table also lists the finished runs with these tags, e.g. a repeat with another committee seed",
    )
    parser.add_argument(
        "--table-only",
        action="store_true",
        help="run nothing: rebuild the table from the finished runs of the work dir",
    )
    parser.add_argument("--one-seed", action="store_true", help="skip the second brute-force seed (no band)")
    parser.add_argument("--specimens", default="bar,hole", help="clustering campaign only")
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="scema_accel_"))
    root.mkdir(parents=True, exist_ok=True)
    (committee_campaign if args.only == "committee" else clustering_campaign)(args, root)


if __name__ == "__main__":
    main()
