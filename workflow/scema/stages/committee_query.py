"""Committee query (method section 6), before the MD schedule: ``committee_query.nc``.

One committee per material: qps of different materials never share a committee. Per step the
stage writes the committee mean and spread per queried qp and the decision md / committee /
audit (audited qps were trusted but run MD too).

Inputs come from each box's own MD history: ``(eps_s, sigma_s, eps_t - eps_s)`` with eps_s,
sigma_s the strain and MD stress at which the qp's box state was saved (``md_state.nc``), so a
committee answer never becomes a committee input and a qp trusted many steps running cannot
drift.
"""

from __future__ import annotations

import logging

import numpy as np

from scema import seeds
from scema.io.netcdf import read_contents, read_dataset, write_dataset
from scema.io.step_datasets import DECISIONS

log = logging.getLogger(__name__)


def box_inputs(strain: np.ndarray, state_strain: np.ndarray, state_stress: np.ndarray) -> np.ndarray:
    """(eps_s, sigma_s, eps_t - eps_s) per qp, 18 numbers; state arrays are (qp, replica, 6).

    The replicas of a qp are updated together, so their saved strains agree; the stress is
    their mean (the qp's MD stress when the state was saved).
    """
    from scema.committee import features

    eps_s = state_strain.mean(axis=1)
    return features(eps_s, state_stress.mean(axis=1), strain - eps_s)


def query_inputs(strain_path: str, md_state_path: str) -> np.ndarray:
    state = read_dataset(md_state_path)
    return box_inputs(
        read_dataset(strain_path)["strain"].values, state["state_strain"].values, state["state_stress"].values
    )


def choose_audits(trusted: np.ndarray, material: np.ndarray, fraction: float, run_seed: int, step: int) -> np.ndarray:
    """Trusted qps that also run MD: ceil(fraction * trusted) per material, at least two when two
    or more are trusted (one audit gives the suspension test no verdict: a 16-qp glass bar at 5 %
    trusted wrong answers its single audits saw and could not suspend), one when one is; none
    when the fraction is 0. Drawn reproducibly from (run seed, "audit", step)."""
    audit = np.zeros(trusted.size, bool)
    if fraction <= 0:
        return audit
    rng = seeds.rng(run_seed, "audit", step)
    for m in np.unique(material):
        candidates = np.flatnonzero(trusted & (material == m))
        if candidates.size:
            k = min(candidates.size, max(2, int(np.ceil(fraction * candidates.size))))
            audit[rng.choice(candidates, size=k, replace=False)] = True
    return audit


def run(
    committee: dict,
    run_seed: int,
    material_names: list[str],
    step: int,
    strain_path: str,
    prev_md_state: str,
    prev_record: str,
    out_query: str,
    clusters_path: str | None = None,
    plan: dict | None = None,
) -> None:
    """``plan``: :func:`scema.stages.schedule.write_schedule`'s arguments but the step's own files:
    with the committee on, the step's MD is planned here, from this query's decisions."""
    from scema.committee import decide
    from scema.stages.cluster import representatives

    strain = read_dataset(strain_path)
    n_qp = strain.sizes["qp"]
    material = strain["material"].values.astype(np.int64)
    rep = representatives(clusters_path, n_qp)
    is_rep = np.zeros(n_qp, bool)
    is_rep[np.unique(rep)] = True
    mean, std = np.full((n_qp, 6), np.nan), np.full((n_qp, 6), np.nan)
    trusted = np.zeros(n_qp, bool)
    n = len(material_names)
    version, usable = np.zeros(n, np.int64), np.zeros(n, np.int8)
    from scema.stages.committee_record import load_committees  # not at the top: aggregate imports this module

    committees = load_committees(prev_record)
    x = query_inputs(strain_path, prev_md_state) if committees else None
    for m, (model, v, accepted, suspended) in committees.items():
        asked = np.flatnonzero(is_rep & (material == m))  # a material's committee never sees another's qps
        version[m], usable[m] = v, int(accepted and not suspended)
        if asked.size == 0:
            continue
        mean[asked], std[asked] = model.predict(x[asked])
        if usable[m]:
            factor = model.trust_factor(committee["audit_tolerance"])
            trusted[asked[decide(std[asked], committee["stress_accuracy_mpa"] * 1e6, factor)]] = True
        log.info(
            "material %s: version %d (%s%s), %d of %d representatives trusted",
            material_names[m],
            v,
            "accepted" if accepted else "not accepted",
            ", suspended" if suspended else "",
            int(trusted[asked].sum()),
            asked.size,
        )
    audit = choose_audits(trusted, material, committee["audit_fraction"], run_seed, step)
    decision = np.where(audit, DECISIONS["audit"], np.where(trusted, DECISIONS["committee"], DECISIONS["md"]))
    decision = decision[rep].astype(np.int8)  # members follow their representative
    from scema.io.datasets import committee_query_dataset

    ds = committee_query_dataset(
        step,
        material_names,
        mean,
        std,
        decision,
        version,
        usable,
        bool(committees),
        committee["stress_accuracy_mpa"],
    )
    write_dataset(ds, out_query, f"committee query, step {step}")
    if plan is not None:
        from scema.stages.schedule import write_schedule

        write_schedule(
            step=step, strain_path=strain_path, clusters_path=clusters_path, committee_path=out_query, **plan
        )


def committee_decision(query_path: str | None, n_qp: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(trusted, audited, mean, std) per qp; trusted excludes audits; nothing when the committee is off."""
    if query_path is None:
        none = np.zeros(n_qp, bool)
        return none, none.copy(), np.full((n_qp, 6), np.nan), np.full((n_qp, 6), np.nan)
    ds = read_contents(query_path)
    d = ds["decision"]
    return d == DECISIONS["committee"], d == DECISIONS["audit"], ds["mean"], ds["std"]
