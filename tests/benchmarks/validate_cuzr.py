"""Validate the Cu-Zr glass material of config/examples/cuzr_glass_bar.yaml: density, shear modulus,
uniaxial stress-strain through yield, and a load-unload-reload cycle (residual strain).

Compare with (the numbers printed next to each measurement). The potential file is Mendelev,
Sordelet, Kramer, J. Appl. Phys. 102 (2007) 043501 (see tests/test_materials_cuzr.py), not the
2009 refit (Phil. Mag. 89 (2009) 967), for which most Cu-Zr MD glass data are published:
- density of Cu64Zr36 glass: no published value for this file was found; ideal mixing of the
  fcc Cu and hcp Zr atomic volumes gives 7.66 g/cm^3, a plausibility check only;
- Young's modulus: experiment 92.3 GPa for bulk Cu64Zr36 glass (Xu, Lohwongwatana, Duan,
  Johnson, Garland, Acta Mater. 52 (2004) 2621; abstract at authors.library.caltech.edu/records/
  dvxmd-scp86); with a Poisson ratio ~0.35 (assumed, not measured there) G ~34 GPa. MD glasses
  quenched at 1e12-1e13 K/s are expected to be softer;
- uniaxial tension of MD Cu-Zr glasses at 1e9-1e10/s: a stress peak at ~5-8 % strain followed
  by flow, the peak lower and earlier for faster quenches and smaller boxes. No published
  peak stress for this file, composition and quench rate was verified here, so the printed
  yield numbers are measurements, not a pass/fail comparison.

    .venv/bin/python tests/benchmarks/validate_cuzr.py --cells 4 --quench-rate 1e14 --out /tmp/cuzr.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

from scema.config import validate_config  # noqa: E402
from scema.md import units as lmp_units  # noqa: E402
from scema.md.engine import Engine  # noqa: E402
from scema.md.material import MaterialSpec  # noqa: E402
from scema.md.preparation import equilibrate_replica, finite_strain_stiffness, symmetrise  # noqa: E402

GPA = 1e9


def tension(eng: Engine, spec: MaterialSpec, rate: float, strain: float, every: int) -> np.ndarray:
    """Uniaxial tension along z at ``rate`` (1/s), lateral stresses held at zero (NPT on x, y).

    Returns rows (strain_zz, sigma_zz Pa) every ``every`` steps, strain relative to the start.
    """
    steps = int(round(strain / (rate * spec.timestep)))
    lz0 = eng.box_matrix()[2, 2]
    t = spec.temperature
    eng.commands(
        [f"unfix {fix}" for fix in ("scema_nvt", "scema_nve", "scema_t") if eng.lmp.has_id("fix", fix)]
        + [
            f"fix scema_t all npt temp {t!r} {t!r} {spec.thermostat_damping!r} x 0 0 {spec.barostat_damping!r} "
            f"y 0 0 {spec.barostat_damping!r}",
            f"fix scema_d all deform 1 z erate {rate * lmp_units.time_unit_seconds(spec.units)!r} remap x units box",
        ]
    )
    rows = []
    for _ in range(steps // every):
        eng.run(every)
        rows.append((eng.box_matrix()[2, 2] / lz0 - 1.0, eng.stress_now()[2]))
    eng.commands(["unfix scema_d"])
    return np.array(rows)


def relax_to_zero_stress(eng: Engine, spec: MaterialSpec, steps: int) -> None:
    """Unload: every stress component to zero (NPT aniso), the box finds its residual strain."""
    t = spec.temperature
    eng.commands(
        [
            "unfix scema_t",
            f"fix scema_t all npt temp {t!r} {t!r} {spec.thermostat_damping!r} aniso 0 0 {spec.barostat_damping!r}",
        ]
    )
    eng.run(steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "config/examples/cuzr_glass_bar.yaml")
    parser.add_argument("--material", default="cuzr_glass")
    parser.add_argument("--cells", type=int, default=None, help="fcc cells per edge of the seed lattice (4 atoms each)")
    parser.add_argument("--quench-rate", type=float, default=None, help="K/s, overrides the config")
    parser.add_argument("--rate", type=float, default=1e10, help="tension strain rate, 1/s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="write the numbers as JSON here")
    args = parser.parse_args()
    cfg = validate_config(yaml.safe_load(open(args.config)), search_dirs=[REPO])
    entry = cfg["materials"][args.material]
    if args.cells:
        entry["variables"]["cells"] = args.cells
    if args.quench_rate:
        entry["preparation"]["quench_rate"] = args.quench_rate
    # the residual stress is not needed here: a short reference window, never extended
    entry.update(reference_sampling_steps=3000, reference_standard_error=1e9)
    spec = MaterialSpec.from_config(args.material, entry)
    work = Path(tempfile.mkdtemp(prefix="scema_cuzr_"))
    result: dict = {"atoms": None, "quench_rate_K_per_s": spec.preparation["quench_rate"], "rate_per_s": args.rate}
    with Engine(log=work / "lammps.log") as eng:
        start = time.perf_counter()
        ref = equilibrate_replica(spec, args.seed, 0, work / "glass.data", engine=eng)
        result["material_init_s"] = time.perf_counter() - start
        result["atoms"] = ref.n_atoms
        result["density_g_cm3"] = ref.density / 1e3
        c = symmetrise(finite_strain_stiffness(spec, ref.state, args.seed, 0, engine=eng)) / GPA
        result["shear_modulus_GPa"] = float(np.mean(np.diag(c)[3:]))
        result["bulk_modulus_GPa"] = float(np.mean(c[:3, :3]))
        print(
            f"{ref.n_atoms} atoms, prepared in {result['material_init_s']:.0f} s: density "
            f"{result['density_g_cm3']:.3f} g/cm3 (ideal mixing 7.66), G = {result['shear_modulus_GPa']:.1f} GPa "
            f"(exp E 92.3 -> G ~34), B = {result['bulk_modulus_GPa']:.0f} GPa",
            flush=True,
        )

        eng.load(spec, ref.state)
        curve = tension(eng, spec, args.rate, 0.15, 250)
        peak = int(np.argmax(curve[:, 1]))
        result["yield_strain"], result["yield_stress_GPa"] = float(curve[peak, 0]), float(curve[peak, 1] / GPA)
        result["flow_stress_GPa"] = float(curve[-5:, 1].mean() / GPA)
        result["tension_curve"] = curve.tolist()
        print(
            f"tension at {args.rate:.0e}/s: peak {result['yield_stress_GPa']:.2f} GPa at strain "
            f"{result['yield_strain']:.3f}, flow {result['flow_stress_GPa']:.2f} GPa",
            flush=True,
        )

        eng.load(spec, ref.state)
        lz0 = eng.box_matrix()[2, 2]
        load = tension(eng, spec, args.rate, 0.08, 250)
        relax_to_zero_stress(eng, spec, 20 * spec.barostat_damping_steps)
        residual = eng.box_matrix()[2, 2] / lz0 - 1.0
        reload = tension(eng, spec, args.rate, 0.06, 250)
        result["residual_strain_after_8pct"] = float(residual)
        result["load_curve"], result["reload_curve"] = load.tolist(), reload.tolist()
        print(
            f"load to 8 %, unload to zero stress: residual strain {residual:.4f}; reload peak "
            f"{reload[:, 1].max() / GPA:.2f} GPa",
            flush=True,
        )
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
