"""Every NetCDF kind the workflow writes passes the CF checker; a damaged file is named, never read.

The checker (`cfchecks`, PyPI cfchecker with Debian's udunits2) is run as users run it, with the
minimal local standard-name, area-type and region tables in tests/cf/ so it never downloads:
the project's files use no standard_name, area type or region.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import accelerated_config, run_workflow, seed_materials
from scema.io.netcdf import CorruptFileError, read_dataset

TABLES = Path(__file__).resolve().parent / "cf"
CFCHECKS = Path(sys.executable).parent / "cfchecks"


@pytest.fixture(scope="module")
def accelerated_run(tmp_path_factory, copper_cache) -> Path:
    """The small run with clustering and a (quick) committee: the kinds brute force never writes."""
    workdir = tmp_path_factory.mktemp("cf_accelerated")
    seed_materials(workdir, copper_cache)
    cfg = accelerated_config()
    cfg["clustering"]["alpha"] = 1.0e-3
    cfg["committee"]["train_frequency"] = 8
    del cfg["committee"]["stress_accuracy_mpa"]  # the default: the committee answers, so its files fill
    cfg["committee"]["zero_kelvin_law"] = True  # the default, off in accelerated_config: zero_kelvin.nc
    run_workflow(workdir, cfg)
    return workdir


def _kind(path: Path, results: Path) -> str:
    """File kind: its path under results/ with step and batch numbers and version dirs folded."""
    rel = str(path.relative_to(results))
    rel = re.sub(r"step_\d{4}", "step_N", rel)
    rel = re.sub(r"materials/[^/]+/", "materials/M/", rel)
    rel = re.sub(r"/v\d+/", "/vK/", rel)
    return re.sub(r"_\d+\.nc$", "_B.nc", rel)


def _one_file_per_kind(*runs: Path) -> dict[str, Path]:
    kinds: dict[str, Path] = {}
    for run in runs:
        results = run / "results"
        for path in sorted(results.rglob("*.nc")):
            kinds[_kind(path, results)] = path  # the last step's file of each kind
    return kinds


def _cf_check(paths: list[Path]) -> dict[Path, tuple[int, int, list[str]]]:
    """(errors, warnings, ERROR lines) per file, from one `cfchecks` call."""
    cmd = [str(CFCHECKS), "-s", str(TABLES / "standard-names.xml"), "-a", str(TABLES / "area-types.xml")]
    cmd += ["-r", str(TABLES / "regions.xml"), *map(str, paths)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    report = {}
    for block in out.split("CHECKING NetCDF FILE: ")[1:]:
        name = Path(block.splitlines()[0].strip())
        errors = re.search(r"ERRORS detected: (\d+)", block)
        warnings = re.search(r"WARNINGS given: (\d+)", block)
        lines = [line for line in block.splitlines() if line.startswith("ERROR")]
        if errors is None:  # the checker gave up on the file
            report[name] = (1, 0, lines or [block[-500:]])
        else:
            report[name] = (int(errors.group(1)), int(warnings.group(1)), lines)
    return report


@pytest.mark.workflow
def test_every_netcdf_kind_passes_the_cf_checker(brute_force_run, accelerated_run):
    kinds = _one_file_per_kind(brute_force_run, accelerated_run)
    # brute force alone writes these; the accelerated run adds clustering and committee kinds
    for expected in ("materials/M/material.nc", "step_N/strain.nc", "step_N/stress.nc", "summary.nc"):
        assert expected in kinds, sorted(kinds)
    assert any("committee" in k for k in kinds) and any("cluster" in k for k in kinds), sorted(kinds)
    assert "materials/M/zero_kelvin.nc" in kinds, sorted(kinds)
    report = _cf_check(list(kinds.values()))
    by_kind = {kind: report.get(path, (1, 0, ["not checked"])) for kind, path in kinds.items()}
    failing = {kind: lines for kind, (errors, _w, lines) in by_kind.items() if errors}
    assert not failing, failing
    print("\n".join(f"{kind}: {e} errors, {w} warnings" for kind, (e, w, _l) in sorted(by_kind.items())))


@pytest.mark.workflow
def test_reaction_is_reported_only_for_constrained_components(brute_force_run):
    """The default condition prescribes only z on zmax: x and y there are residuals, not reactions."""
    ds = read_dataset(brute_force_run / "results/step_0002/reaction.nc")
    reaction = ds["reaction_force"].sel(boundary="zmax")
    assert ds.attrs["constrained_components"] == "zmax: z; zmin: x y z"
    assert np.isnan(reaction.sel(xyz=["x", "y"]).values).all()
    assert reaction.sel(xyz="z").item() > 0  # pulled along +z
    np.testing.assert_array_equal(np.isnan(ds["applied_displacement"].sel(boundary="zmax").values), [True, True, False])
    # the fixed face holds the specimen: the lifted reactions of the two faces balance exactly,
    # out of equilibrium too (their z liftings add up to a rigid translation along z, and the
    # nodal internal forces sum to zero); the face sums only up to the free nodes' out-of-balance
    assert ds["reaction_force"].attrs["estimator"] == "lifted"
    fixed = ds["reaction_force"].sel(boundary="zmin", xyz="z").item()
    assert fixed < 0
    assert abs(fixed + reaction.sel(xyz="z").item()) <= 1e-9 * abs(fixed)
    face_sums = ds["reaction_force"] - ds["out_of_balance_force"]
    nodes = read_dataset(brute_force_run / "results/internal_force.nc").sizes["node"]
    total = float(face_sums.sel(xyz="z").sum())
    assert abs(total) <= np.sqrt(nodes) * float(ds["residual_norm"]) + 1e-9 * abs(fixed)


DAMAGE = ["truncated_half", "truncated_by_one_byte", "empty", "overwritten_as_text", "flipped_stress_byte"]


@pytest.mark.workflow
@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_result_is_named_and_never_read_as_valid(brute_force_run, tmp_path, damage):
    original = brute_force_run / "results/step_0002/stress.nc"
    data = bytearray(original.read_bytes())
    if damage == "truncated_half":  # a disk that filled up, a copy cut short
        data = data[: len(data) // 2]
    elif damage == "truncated_by_one_byte":
        data = data[:-1]
    elif damage == "empty":
        data = b""
    elif damage == "overwritten_as_text":  # a file a user overwrote with something else
        data = b"step,stress\n1,2\n"
    else:  # one bit of a stress value changed on disk: only the checksum can tell
        values = read_dataset(original)["stress"].values
        at = bytes(data).find(values.astype("<f8").tobytes()[:48])
        assert at > 0, "stress values not stored contiguously"
        data[at + 3] ^= 0x01
    damaged = tmp_path / "stress.nc"
    damaged.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError) as info:
        read_dataset(damaged)
    message = str(info.value)
    assert "\n" not in message and str(damaged) in message and "delete it" in message
    assert read_dataset(original)["stress"].shape[1] == 6  # the intact file still reads
