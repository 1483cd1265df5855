"""Validate united-atom polyethylene (TraPPE-UA templates + scema.md.builder) against experiment.

Three measurements, each one LAMMPS run driven directly (units real, atom_style molecular):

  density  melt at 450 K and 1 atm (NPT); mean density and its block standard error, compared
           with linear PE: V(0, T) = 1.1595 + 8.0394e-4 T[degC] cm^3/g (Zoller's Tait fit,
           415-473 K, tabulated by Orwoll in Mark (ed.), Physical Properties of Polymers
           Handbook, 2nd ed., Springer 2007, ch. 7) -> 0.7682 g/cm^3 at 450 K; pass within 3 %.
           The coefficients were not re-read from the handbook on this machine (no copy found
           by search); the value agrees with the issue's "about 0.76 g/cm^3" for linear PE.
  cooling  the melt cooled in 25 K stages to --t-low under NPT; density vs T, and the glass
           transition where a two-line fit breaks (the kink of the cooling curve).
  tensile  the glass at --temperature pulled along z at --rate under uniaxial stress (x, y at
           1 atm), then unloaded to zero strain; stress-strain curve. Also the stress noise per
           component of --window-step averages in NVT (what an MD update of the workflow sees).

    for what in density cooling tensile; do      # each phase reads the state the previous wrote
        nice -n 10 .venv/bin/python tests/benchmarks/validate_polyethylene.py $what --out results/pe_validation
    done

Each phase writes <phase>.nc (curves, units and long_name on each variable) and <phase>.json.

Measured 2026-11-28 on the shared 2-core machine (load ~10; 5-11e4 atom-steps/s per process):
  density  10 x C100 (1000 sites), built at 0.7: 0.7538 +/- 0.0022 g/cm^3 over 20-40 ps (-1.9 %);
           a further 51 ps at 450 K, second half: 0.7568 (-1.5 %). 10 x C50: 0.718 (-6.6 %, ends).
  cooling  25 K stages at 4-6e12 K/s: the slope of v(T) changes between ~200 and ~300 K; the
           two-line fit is not robust at these holds (196, 295, 352 K for three runs).
  tensile  200 K, 1e10 /s: E (0-5 % fit) 1.2-1.6 GPa, flow stress 70-83 MPa at 8-15 %; unloading
           to zero strain leaves -27 to -66 MPa (hysteresis). Noise of 500-step means, Voigt
           xx..xy: 500 sites 20, 17, 27, 15, 13, 13 MPa; 1000 sites 16, 18, 11, 9, 9, 8 MPa.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr
from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR, LMP_TYPE_VECTOR, lammps

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

from scema.io.netcdf import write_dataset  # noqa: E402
from scema.md.builder import build_structure  # noqa: E402
from scema.md.units import ATMOSPHERE  # noqa: E402
from scema.seeds import lammps_seed  # noqa: E402

TEMPLATES = REPO / "config" / "lammps" / "trappe_ua_pe"
MELT_T = 450.0
EXPERIMENT_DENSITY = 1.0 / (1.1595 + 8.0394e-4 * (MELT_T - 273.15))  # g/cm^3, Zoller / Orwoll
TOLERANCE = 0.03
TIMESTEP_FS = 1.0
CHUNK = 1000  # steps per recorded block


class Box:
    """One LAMMPS instance holding a built PE box; every command is logged to ``log``."""

    def __init__(self, data: Path, log: Path) -> None:
        self.lmp = lammps(cmdargs=["-nocite", "-log", str(log), "-screen", "none"])
        self.steps = 0
        self.seconds = 0.0
        self.commands(
            [
                "units real",
                "atom_style molecular",
                "boundary p p p",
                f"variable structure_data string {data}",
                f'include "{TEMPLATES / "structure.lmp"}"',
                f'include "{TEMPLATES / "forcefield.lmp"}"',
                f"timestep {TIMESTEP_FS}",
                "neigh_modify delay 0 every 1 check yes",
                "thermo 1000",
                "thermo_style custom step temp press density pe lx ly lz",
                "variable rho equal density",
                "variable tk equal temp",
                "variable ezz equal (lz-v_lz0)/v_lz0",
            ]
        )
        self.commands([f"variable lz0 equal {self.lz()!r}"])

    def commands(self, lines: list[str]) -> None:
        for line in lines:
            self.lmp.command(line)

    def natoms(self) -> int:
        return int(self.lmp.get_natoms())

    def lz(self) -> float:
        lo, hi = self.lmp.extract_box()[:2]
        return hi[2] - lo[2]

    def run_blocks(self, steps: int, values: str, chunk: int = CHUNK) -> np.ndarray:
        """Run ``steps``; the mean of each quantity in ``values`` over every ``chunk``-step block."""
        self.commands([f"fix scema_blk all ave/time 1 {chunk} {chunk} {values}"])
        rows = []
        for _ in range(steps // chunk):
            start = time.perf_counter()
            self.commands([f"run {chunk}"])
            self.seconds += time.perf_counter() - start
            self.steps += chunk
            n = len(values.split())  # one value: fix ave/time gives a scalar, several: a vector
            rows.append(
                [self.lmp.extract_fix("scema_blk", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR)]
                if n == 1
                else [self.lmp.extract_fix("scema_blk", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, i) for i in range(n)]
            )
        self.commands(["unfix scema_blk"])
        return np.array(rows)

    def npt(self, t_start: float, t_stop: float, barostat: str = "iso 1.0 1.0 1000.0") -> None:
        self.commands(["unfix scema_int"] if self.lmp.has_id("fix", "scema_int") else [])
        self.commands([f"fix scema_int all npt temp {t_start} {t_stop} 100.0 {barostat}"])

    def atom_steps_per_second(self) -> float:
        return self.natoms() * self.steps / self.seconds if self.seconds else float("nan")


def block_error(x: np.ndarray) -> float:
    """Standard error of the mean of block means (blocks assumed independent)."""
    return float(np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")


def melt(args: argparse.Namespace, out: Path) -> tuple[Box, dict]:
    """Build, minimise, and hold the melt at 450 K / 1 atm; density against experiment."""
    data = build_structure(
        {
            "type": "chains",
            "chains": args.chains,
            "sites_per_chain": args.sites,
            "density": args.build_density,
            "bond_length": 1.54,
            "bond_angle": 114.0,
            "min_distance": 3.0,
        },
        args.seed,
        out / "built.data",
    )
    box = Box(data, out / "log_density.lammps")
    box.commands(
        [
            "minimize 1.0e-4 1.0e-6 2000 20000",
            "reset_timestep 0",
            f"velocity all create {MELT_T} {lammps_seed(args.seed, 'velocity', 0)} "
            + "mom yes rot no dist gaussian loop geom",
        ]
    )
    box.npt(MELT_T, MELT_T)
    box.run_blocks(args.melt_equil_steps, "v_rho")
    blocks = box.run_blocks(args.melt_sample_steps, "v_rho")[:, 0]
    rho, err = float(blocks.mean()), block_error(blocks)
    result = {
        "atoms": box.natoms(),
        "chains": args.chains,
        "sites_per_chain": args.sites,
        "melt_density_g_cm3": rho,
        "melt_density_stderr": err,
        "experiment_density_g_cm3": EXPERIMENT_DENSITY,
        "relative_error": rho / EXPERIMENT_DENSITY - 1.0,
        "within_3_percent": abs(rho / EXPERIMENT_DENSITY - 1.0) <= TOLERANCE,
        "melt_ps": (args.melt_equil_steps + args.melt_sample_steps) * TIMESTEP_FS / 1000,
    }
    box.commands([f"write_data {out / 'melt.data'} nocoeff"])
    return box, result


def glass_transition(temps: np.ndarray, volume: np.ndarray) -> float:
    """Temperature where the best two-line least-squares fit of specific volume vs T crosses."""
    best, tg = np.inf, float("nan")
    for k in range(3, len(temps) - 2):  # at least 3 points per line
        lo, hi = slice(0, k), slice(k - 1, len(temps))
        p1 = np.polyfit(temps[lo], volume[lo], 1)
        p2 = np.polyfit(temps[hi], volume[hi], 1)
        res = np.sum((np.polyval(p1, temps[lo]) - volume[lo]) ** 2) + np.sum(
            (np.polyval(p2, temps[hi]) - volume[hi]) ** 2
        )
        if res < best and p1[0] != p2[0]:
            best, tg = res, float((p2[1] - p1[1]) / (p1[0] - p2[0]))
    return tg


def cool(box: Box, args: argparse.Namespace) -> tuple[dict, dict]:
    """Stepwise NPT cooling 450 K -> t_low; density of each stage's hold."""
    temps = np.arange(MELT_T, args.t_low - 1e-9, -args.t_stage)
    rho = []
    previous = MELT_T
    for t in temps:
        box.npt(previous, t)
        box.run_blocks(args.stage_ramp_steps, "v_rho")
        box.npt(t, t)
        hold = box.run_blocks(args.stage_hold_steps, "v_rho")[:, 0]
        rho.append(float(hold[len(hold) // 2 :].mean()))  # second half: after the stage's fast relaxation
        if abs(t - args.temperature) < 1e-9:
            box.commands([f"write_data {args.out / 'glass.data'} nocoeff"])
        previous = t
    rho = np.array(rho)
    order = np.argsort(temps)
    tg = glass_transition(temps[order], 1.0 / rho[order])
    rate = args.t_stage / ((args.stage_ramp_steps + args.stage_hold_steps) * TIMESTEP_FS * 1e-15)
    return (
        {"glass_transition_K": tg, "cooling_rate_K_per_s": rate, "density_at_t_low_g_cm3": float(rho[-1])},
        {"temperature": temps, "density": rho},
    )


def tensile(box: Box, args: argparse.Namespace) -> tuple[dict, dict]:
    """Hold at the run temperature, measure stress noise, pull z to max_strain, unload to zero."""
    t = args.temperature
    box.npt(t, t)
    box.run_blocks(args.hold_steps, "v_rho")
    # Stress noise of window averages in NVT at fixed box (what an MD update samples).
    box.commands(["unfix scema_int", f"fix scema_int all nvt temp {t} {t} 100.0"])
    press = " ".join(f"c_thermo_press[{i}]" for i in (1, 2, 3, 6, 5, 4))  # Voigt xx yy zz yz xz xy
    box.commands([f"fix scema_win all ave/time 1 {args.window_steps} {args.window_steps} {press} mode scalar"])
    windows = []
    for _ in range(args.noise_windows):
        box.commands([f"run {args.window_steps}"])
        windows.append([box.lmp.extract_fix("scema_win", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, i) for i in range(6)])
    box.commands(["unfix scema_win"])
    windows = -np.array(windows) * ATMOSPHERE / 1e6  # MPa, tension positive
    noise = np.std(windows - windows.mean(axis=0), axis=0, ddof=1)
    # Uniaxial tension along z then unloading, x and y held at 1 atm.
    box.commands([f"variable lz0 equal {box.lz()!r}"])
    rate_fs = args.rate * 1e-15
    steps = round(args.max_strain / (rate_fs * TIMESTEP_FS))
    steps -= steps % args.block_steps
    curve = []
    box.npt(t, t, "x 1.0 1.0 1000.0 y 1.0 1.0 1000.0")
    speed = rate_fs * box.lz()  # A/fs: constant engineering strain rate relative to the held box
    for sign in (1.0, -1.0):  # load to max_strain, then back to the held length
        box.commands([f"fix scema_def all deform 1 z vel {sign * speed!r} remap x"])
        curve.append(
            box.run_blocks(steps, "v_ezz c_thermo_press[3] c_thermo_press[1] c_thermo_press[2] v_tk", args.block_steps)
        )
        box.commands(["unfix scema_def"])
    curve = np.concatenate(curve)
    strain = curve[:, 0]
    stress = -curve[:, 1] * ATMOSPHERE / 1e6
    lateral = -(curve[:, 2] + curve[:, 3]) / 2 * ATMOSPHERE / 1e6
    load = strain[: len(strain) // 2]
    peak = int(np.argmax(stress[: len(load)]))
    load_stress = stress[: len(load)]
    early = load <= 0.05  # slope with intercept: the unstrained box carries its own residual stress
    modulus = float(np.polyfit(load[early], load_stress[early], 1)[0]) if early.sum() >= 3 else float("nan")
    flow = load >= 0.08
    flow_stress = float(load_stress[flow].mean()) if flow.any() else float("nan")
    result = {
        "run_temperature_K": t,
        "strain_rate_per_s": args.rate,
        "window_steps": args.window_steps,
        "noise_windows": args.noise_windows,
        "stress_noise_MPa_voigt": noise.tolist(),
        "young_modulus_MPa_fit_0_to_5pct": modulus,
        "flow_stress_MPa_8pct_to_max": flow_stress,
        "peak_stress_MPa": float(stress[peak]),
        "strain_at_peak": float(strain[peak]),
        "stress_at_max_strain_MPa": float(stress[len(load) - 1]),
        "stress_last_unloading_block_MPa": float(stress[-1]),
        "strain_last_unloading_block": float(strain[-1]),
    }
    return result, {"strain": strain, "stress": stress, "lateral": lateral, "temperature": curve[:, 4]}


def save(out: Path, what: str, results: dict, cooling: dict | None, curve: dict | None) -> None:
    data_vars = {}
    if cooling is not None:
        data_vars["cooling_density"] = xr.DataArray(
            cooling["density"],
            dims="stage",
            coords={
                "stage_temperature": ("stage", cooling["temperature"], {"units": "K", "long_name": "stage temperature"})
            },
            attrs={
                "units": "g cm-3",
                "long_name": "mean NPT density over the second half of each cooling stage's hold",
            },
        )
    if curve is not None:
        dims = "block"
        data_vars["strain_zz"] = xr.DataArray(
            curve["strain"], dims=dims, attrs={"units": "1", "long_name": "engineering strain along z (block mean)"}
        )
        data_vars["stress_zz"] = xr.DataArray(
            curve["stress"],
            dims=dims,
            attrs={"units": "MPa", "long_name": "tensile stress along z, tension positive (block mean)"},
        )
        data_vars["stress_lateral"] = xr.DataArray(
            curve["lateral"],
            dims=dims,
            attrs={"units": "MPa", "long_name": "mean of xx and yy stress (barostat at 1 atm)"},
        )
        data_vars["block_temperature"] = xr.DataArray(
            curve["temperature"], dims=dims, attrs={"units": "K", "long_name": "kinetic temperature (block mean)"}
        )
    ds = xr.Dataset(data_vars)
    ds.attrs["results"] = json.dumps(results)
    write_dataset(ds, out / f"{what}.nc", title=f"TraPPE-UA polyethylene validation: {what}")
    (out / f"{what}.json").write_text(json.dumps(results, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["density", "cooling", "tensile"])
    parser.add_argument("--out", type=Path, default=Path("results/pe_validation"))
    parser.add_argument("--chains", type=int, default=10)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--build-density", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--melt-equil-steps", type=int, default=20000)
    parser.add_argument("--melt-sample-steps", type=int, default=20000)
    parser.add_argument("--t-low", type=float, default=150.0)
    parser.add_argument("--t-stage", type=float, default=25.0)
    parser.add_argument("--stage-ramp-steps", type=int, default=2000)
    parser.add_argument("--stage-hold-steps", type=int, default=4000)
    parser.add_argument("--temperature", type=float, default=200.0, help="run temperature (K) of the tensile test")
    parser.add_argument("--hold-steps", type=int, default=5000)
    parser.add_argument("--window-steps", type=int, default=500, help="sampling window of the noise estimate")
    parser.add_argument("--noise-windows", type=int, default=20)
    parser.add_argument("--rate", type=float, default=1.0e10, help="tensile strain rate (1/s)")
    parser.add_argument("--max-strain", type=float, default=0.15)
    parser.add_argument("--block-steps", type=int, default=500, help="steps per point of the stress-strain curve")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # One phase per call (each under ~15 min on a shared core); later phases read earlier states.
    start = time.perf_counter()
    cooling = curve = None
    if args.what == "density":
        box, results = melt(args, args.out)
    elif args.what == "cooling":
        box = Box(args.out / "melt.data", args.out / "log_cooling.lammps")
        results, cooling = cool(box, args)
    else:
        box = Box(args.out / "glass.data", args.out / "log_tensile.lammps")
        results, curve = tensile(box, args)
    results["atoms"] = box.natoms()
    results["atom_steps_per_second"] = box.atom_steps_per_second()
    results["wall_seconds"] = time.perf_counter() - start
    save(args.out, args.what, results, cooling, curve)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
