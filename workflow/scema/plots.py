"""Figures of a run and of a comparison (matplotlib, PNG): what a user looks at first.

matplotlib is imported inside the functions with the non-interactive Agg backend, so the
package imports without it and plotting works on a cluster node without a display.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from scema.comparison import BAND, REFERENCE, loaded_component
from scema.io.atomic import atomic_path
from scema.io.datasets import SOURCE_FLAGS
from scema.io.netcdf import read_dataset


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> None:
    """PNG, atomically; cropped to its content (a second draw) unless a layout engine already
    fitted it (constrained layout: the crop would only cost another draw)."""
    crop = None if fig.get_layout_engine() is not None else "tight"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches=crop)


def comparison_plots(summaries: Mapping[str, str], out_reaction: str, out_updates: str) -> None:
    """Reaction force vs applied displacement per mode over the brute-force band; MD updates per step."""
    plt = _pyplot()
    data = {mode: read_dataset(path) for mode, path in summaries.items()}
    comp = loaded_component(data[REFERENCE]["reaction_force"].values)
    axis = "xyz"[comp]

    fig, ax = plt.subplots(figsize=(6, 4))
    ref, band = data[REFERENCE], data[BAND]
    n = min(ref.sizes["step"], band.sizes["step"])
    u = np.abs(ref["applied_displacement"].values[:n, comp]) * 1e3
    r1, r2 = ref["reaction_force"].values[:n, comp], band["reaction_force"].values[:n, comp]
    ax.fill_between(u, np.minimum(r1, r2), np.maximum(r1, r2), color="0.8", label="brute force, two seeds")
    for mode, ds in data.items():
        if mode in (REFERENCE, BAND):
            continue
        m = min(ds.sizes["step"], n)
        ax.plot(u[:m], ds["reaction_force"].values[:m, comp], marker="o", ms=3, label=mode)
    ax.plot(u, r1, color="k", lw=1, label=REFERENCE)
    ax.set_xlabel(f"applied displacement {axis} (mm)")
    ax.set_ylabel(f"reaction force {axis} (N)")
    ax.legend(fontsize=8)
    _save(fig, out_reaction)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, ds in data.items():
        ax.plot(ds["step"].values, np.maximum(ds["md_updates"].values, 0.5), marker="o", ms=3, label=mode)
    ax.set_yscale("log")
    ax.set_xlabel("macroscale step")
    ax.set_ylabel("MD updates")
    ax.legend(fontsize=8)
    _save(fig, out_updates)
    plt.close(fig)


# ---------------------------------------------------------------------- one run
SOURCE_STYLE = {  # provenance code -> (label, colour, marker): one look in every figure
    SOURCE_FLAGS["md"]: ("MD", "tab:blue", "o"),
    SOURCE_FLAGS["cluster"]: ("cluster member", "tab:orange", "s"),
    SOURCE_FLAGS["committee"]: ("committee", "tab:green", "^"),
}


def _step_data(stress_files: Sequence[str]) -> dict[str, np.ndarray]:
    """Per step and qp: stress, strain (Voigt), source and largest committee spread (read-only)."""
    return _read_steps(tuple(str(p) for p in stress_files))


@functools.lru_cache(maxsize=2)  # the run figures read the same step files: once, not per figure
def _read_steps(stress_files: tuple[str, ...]) -> dict[str, np.ndarray]:
    rows = [read_dataset(path) for path in stress_files]
    # fmax skips NaN: the largest component where the committee was asked, NaN elsewhere
    spread = [np.fmax.reduce(ds["stress_committee_std"].values, axis=1) for ds in rows]
    return {
        "step": np.array([int(ds.attrs["step"]) for ds in rows]),
        "stress": np.stack([ds["stress"].values for ds in rows]),
        "strain": np.stack([ds["strain"].values for ds in rows]),
        "source": np.stack([ds["source"].values for ds in rows]).astype(int),
        "spread": np.stack(spread),
    }


def _one_line(plt, text: str, out: str) -> None:
    """A figure that is one line of text: what a run's figure says when it would show nothing
    (one colour, one flat line); a tenth of the CPU of drawing that."""
    fig = plt.figure(figsize=(6, 0.6))
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=9)
    _save(fig, out)
    plt.close(fig)


def map_steps(steps: np.ndarray, count: int = 3) -> list[int]:
    """Indices of up to ``count`` steps spread over the run: first, last and evenly between."""
    return sorted({int(round(i)) for i in np.linspace(0, len(steps) - 1, min(count, len(steps)))})


def oblique_view(coordinates: np.ndarray, slant: float = 0.4) -> tuple[np.ndarray, np.ndarray, str, str]:
    """A cabinet projection along the specimen's thinnest extent: qps behind one another (same
    in-plane position, different depth) are drawn shifted up-right by ``slant`` x depth instead
    of hiding each other. Returns the 2D positions, the order to draw (far first) and axis labels."""
    extent = np.ptp(coordinates, axis=0)
    depth = int(np.argmin(extent))
    h, v = (a for a in range(3) if a != depth)
    d = coordinates[:, depth] - coordinates[:, depth].min()
    xy = np.stack([coordinates[:, h] + slant * d, coordinates[:, v] + slant * d], axis=1)
    order = np.argsort(-d)
    return xy, order, f"{'xyz'[h]} (mm)", f"{'xyz'[v]} (mm); {'xyz'[depth]} drawn up-right"


def load_displacement_plot(summary_path: str, out: str) -> None:
    """Reaction force against the applied displacement of the loaded component, from the origin."""
    plt = _pyplot()
    ds = read_dataset(summary_path)
    comp = loaded_component(ds["reaction_force"].values)
    u = np.concatenate([[0.0], ds["applied_displacement"].values[:, comp]]) * 1e3
    f = np.concatenate([[0.0], ds["reaction_force"].values[:, comp]])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(u, f, marker="o", ms=3, color="k")
    ax.set_xlabel(f"applied displacement {'xyz'[comp]} (mm)")
    ax.set_ylabel(f"reaction force {'xyz'[comp]} (N)")
    ax.grid(alpha=0.3)
    _save(fig, out)
    plt.close(fig)


def updates_by_source_plot(summary_path: str, stress_files: Sequence[str], out: str) -> None:
    """Stacked qps per step by provenance, and the (qp, replica) MD updates run."""
    plt = _pyplot()
    data = _step_data(stress_files)
    summary = read_dataset(summary_path)
    fig, ax = plt.subplots(figsize=(6, 4))
    bottom = np.zeros(len(data["step"]))
    for code, (label, colour, _marker) in SOURCE_STYLE.items():
        count = (data["source"] == code).sum(axis=1)
        ax.bar(data["step"], count, bottom=bottom, color=colour, label=f"qps: {label}")
        bottom += count
    ax.set_xlabel("macroscale step")
    ax.set_ylabel("quadrature points")
    ax.xaxis.get_major_locator().set_params(integer=True)
    twin = ax.twinx()
    twin.plot(summary["step"].values, summary["md_updates"].values, color="k", marker="o", ms=3)
    twin.set_ylabel("MD updates (qp x replica), black line")
    twin.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    _save(fig, out)
    plt.close(fig)


def provenance_maps(strain_path: str, stress_files: Sequence[str], out: str) -> None:
    """qp positions in an oblique view along the thinnest extent, at a few steps: provenance
    (top row) and largest committee spread (bottom row, grey where the committee was not asked).

    When every qp ran its own MD at every step and the committee was never asked (a default
    run) the maps would show one colour and no spread: one line says so instead (0.5 s less of
    the summary job, the last of a run)."""
    plt = _pyplot()
    data = _step_data(stress_files)
    if np.all(data["source"] == SOURCE_FLAGS["md"]) and not np.isfinite(data["spread"]).any():
        qps, steps = data["source"].shape[1], f"{data['step'].min()}-{data['step'].max()}"
        _one_line(plt, f"provenance: all {qps} qps ran their own MD at steps {steps}; the committee was not asked", out)
        return
    xy, order, xlabel, ylabel = oblique_view(read_dataset(strain_path)["qp_coordinates"].values * 1e3)
    picks = map_steps(data["step"])
    fig, axes = plt.subplots(2, len(picks), figsize=(3.4 * len(picks), 7.0), squeeze=False, layout="constrained")
    finite = data["spread"][np.isfinite(data["spread"])]
    vmax = float(finite.max()) / 1e6 if finite.size else 1.0
    for col, k in enumerate(picks):
        top, bottom = axes[0, col], axes[1, col]
        source = data["source"][k, order]
        for code, (label, colour, marker) in SOURCE_STYLE.items():
            sel = order[source == code]
            top.scatter(xy[sel, 0], xy[sel, 1], c=colour, marker=marker, s=20, label=f"{label} ({sel.size})")
        top.set_title(f"provenance, step {data['step'][k]}", fontsize=9)
        top.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1, frameon=False)
        spread = data["spread"][k, order] / 1e6
        asked = np.isfinite(spread)
        bottom.scatter(xy[order[~asked], 0], xy[order[~asked], 1], c="0.85", s=20)
        image = bottom.scatter(
            xy[order[asked], 0], xy[order[asked], 1], c=spread[asked], cmap="viridis", vmin=0, vmax=vmax, s=20
        )
        bottom.set_title(f"committee spread, step {data['step'][k]}", fontsize=9)
        for ax in (top, bottom):
            ax.set_aspect("equal")
            ax.tick_params(labelsize=7)
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel(ylabel, fontsize=8)
    bar = fig.colorbar(image, ax=axes[1, :].tolist())
    bar.set_label("largest committee std (MPa); grey: not asked", fontsize=8)
    _save(fig, out)
    plt.close(fig)


def stress_strain_paths(summary_path: str, stress_files: Sequence[str], out: str, count: int = 4) -> None:
    """Stress-strain path (loaded component) of a few qps, each point marked by who gave it.

    The qps are spread over the final strain range (lowest, highest and evenly between), so
    the figure shows the whole specimen's range, not one corner.
    """
    plt = _pyplot()
    data = _step_data(stress_files)
    comp = loaded_component(read_dataset(summary_path)["reaction_force"].values)
    strain, stress = data["strain"][:, :, comp], data["stress"][:, :, comp] / 1e6
    ranked = np.argsort(strain[-1])
    qps = ranked[np.unique(np.linspace(0, ranked.size - 1, min(count, ranked.size)).round().astype(int))]
    fig, ax = plt.subplots(figsize=(6, 4))
    labelled = set()
    for q in qps:
        line = ax.plot(np.r_[0.0, strain[:, q]], np.r_[0.0, stress[:, q]], lw=1, label=f"qp {q}")[0]
        for code, (label, _colour, marker) in SOURCE_STYLE.items():
            at = data["source"][:, q] == code
            if at.any():
                ax.scatter(
                    strain[at, q],
                    stress[at, q],
                    marker=marker,
                    facecolors=line.get_color() if code == SOURCE_FLAGS["md"] else "none",
                    edgecolors=line.get_color(),
                    s=28,
                    label=None if code in labelled else label,
                )
                labelled.add(code)
    component = ("xx", "yy", "zz")[comp]
    ax.set_xlabel(f"strain {component}")
    ax.set_ylabel(f"stress {component} (MPa)")
    ax.legend(fontsize=7, ncol=2)
    _save(fig, out)
    plt.close(fig)


def cluster_counts(cluster_files: Sequence[str]) -> dict[str, np.ndarray]:
    """Per step (clusters.nc order): representatives (clusters) and sampled qps, the ones that
    run MD for their cluster (with ``noise_allowance``, ceil(n / beta^2) of a cluster of n)."""
    rows = [read_dataset(path) for path in cluster_files]
    return {
        "step": np.array([int(ds.attrs["step"]) for ds in rows], dtype=int),
        "representatives": np.array([np.unique(ds["representative"].values).size for ds in rows], dtype=int),
        "sampled": np.array([int(np.count_nonzero(ds["sampled"].values)) for ds in rows], dtype=int),
    }


def representatives_plot(stress_files: Sequence[str], cluster_files: Sequence[str], out: str) -> None:
    """Clusters (representatives) and the qps that run MD for them (sampled) per step, against
    all qps: with a noise allowance the two differ, and the sampled ones are the MD cost."""
    plt = _pyplot()
    data = _step_data(stress_files)
    n_qp = data["source"].shape[1]
    if not cluster_files:  # one flat line at all qps: said in one line of text
        _one_line(plt, f"clustering off: all {n_qp} qps ran MD at every step (unless the committee answered)", out)
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    counts = cluster_counts(cluster_files)
    ax.plot(counts["step"], counts["sampled"], marker="s", ms=3, color="tab:blue", label="sampled (run MD)")
    ax.plot(counts["step"], counts["representatives"], marker="o", ms=3, color="tab:orange", label="representatives")
    ax.axhline(n_qp, color="k", lw=1, ls="--", label=f"all qps ({n_qp})")
    ax.set_ylim(bottom=0)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("macroscale step")
    ax.set_ylabel("quadrature points")
    ax.legend(fontsize=8)
    _save(fig, out)
    plt.close(fig)


def mode_plots(mode_dir: str | Path, out_maps: str, out_paths: str) -> None:
    """Provenance maps and stress-strain paths of one finished mode of a comparison."""
    results = Path(mode_dir) / "results"
    stresses = [str(p) for p in sorted(results.glob("step_*/stress.nc")) if p.parent.name != "step_0000"]
    provenance_maps(str(results / "step_0001" / "strain.nc"), stresses, out_maps)
    stress_strain_paths(str(results / "summary.nc"), stresses, out_paths)
