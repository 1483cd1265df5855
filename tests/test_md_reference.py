"""The reference-stress window: its standard error is what block statistics of a correlated
series give (checked against the analytic error of an AR(1) process), the window grows until
that error meets materials.*.reference_standard_error (at most reference_max_windows windows), a
drifting box (an ageing glass) is told apart from a noisy one, and an ageing jump (a step in the
mean) is cut: the reference and its error then describe the state after it, against the
analytic answer of an AR(1) series plus a step. No LAMMPS: a stand-in engine feeds the series."""

from pathlib import Path

import numpy as np
import pytest

from conftest import copper_entry
from scema.md.material import MaterialSpec
from scema.md.preparation import blocking_standard_error, half_drift, reference_series
from scema.md.reference import find_jump, stationary_start

MPA = 1e6
ROOT = Path(__file__).resolve().parents[1]


def ar1(n: int, phi: float, sigma: float, rng: np.random.Generator, columns: int = 6) -> np.ndarray:
    """x_t = phi x_(t-1) + e_t, stationary start; var(x) = sigma^2 / (1 - phi^2)."""
    e = rng.normal(0.0, sigma, (n, columns))
    x = np.empty_like(e)
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def test_blocking_error_matches_the_analytic_error_of_a_correlated_series() -> None:
    """AR(1): SE of the mean -> sqrt(var(x) (1 + phi) / (1 - phi) / n) for n >> correlation time;
    the naive (uncorrelated) estimate is sqrt((1 - phi) / (1 + phi)) ~ 4.4x too small at phi 0.9."""
    n, phi, sigma = 2**15, 0.9, 1.0
    x = ar1(n, phi, sigma, np.random.default_rng(1))
    analytic = np.sqrt(sigma**2 / (1 - phi**2) * (1 + phi) / (1 - phi) / n)
    se = blocking_standard_error(x)
    assert se == pytest.approx(np.full(6, analytic), rel=0.3)
    assert np.all(se > 2.5 * x.std(axis=0, ddof=1) / np.sqrt(n))


def exact_ar1_mean_error(n: int, phi: float, sigma: float = 1.0) -> float:
    """Standard error of the mean of n entries of a stationary AR(1) process, exact for finite n:
    var = gamma_0 / n (1 + 2 sum_k (1 - k/n) phi^k), gamma_0 = sigma^2 / (1 - phi^2)."""
    k = np.arange(1, n)
    return float(np.sqrt(sigma**2 / (1 - phi**2) * (1 + 2 * np.sum((1 - k / n) * phi**k)) / n))


@pytest.mark.parametrize(
    ("n", "tau", "low", "high"),
    [
        (4000, 3, 1.0, 1.08),
        (16000, 30, 0.98, 1.07),
        (48000, 150, 0.98, 1.08),
    ],
)
def test_blocking_error_is_calibrated_where_the_series_spans_many_correlation_times(n, tau, low, high) -> None:
    """Mean of estimate / exact SE over 300 AR(1) columns (integrated correlation time tau blocks,
    phi = (tau - 1) / (tau + 1)). Taking the largest level with >= 16 blocks over-states by only
    2-4 % once the series spans >= ~300 tau (its top levels scatter by ~13 %)."""
    phi = (tau - 1) / (tau + 1)
    x = ar1(n, phi, 1.0, np.random.default_rng(tau), columns=300)
    ratio = blocking_standard_error(x) / exact_ar1_mean_error(n, phi)
    assert low < ratio.mean() < high
    assert np.mean(ratio < 0.8) < 0.02  # rarely far below the truth


def blocking_levels(n: int, min_blocks: int = 16) -> list[tuple[int, int]]:
    """(blocks, entries per block) of each level blocking_standard_error reads: neighbours paired
    while at least ``min_blocks`` blocks remain (an odd last block dropped)."""
    levels = [(n, 1)]
    while levels[-1][0] // 2 >= min_blocks:
        levels.append((levels[-1][0] // 2, 2 * levels[-1][1]))
    return levels


def expected_blocked_variance(blocks: int, length: int, phi: float) -> float:
    """E[s^2 / M] of the M = ``blocks`` means of ``length`` consecutive entries of a stationary
    AR(1) series (the square of one level's estimate), exact: E[sum (Y_i - Ybar)^2] =
    M (var(Y) - var(Ybar)), with var(Y) and var(Ybar) the variances of means of ``length`` and
    M ``length`` entries."""
    return (exact_ar1_mean_error(length, phi) ** 2 - exact_ar1_mean_error(blocks * length, phi) ** 2) / (blocks - 1)


@pytest.mark.parametrize(("n", "tau"), [(16000, 150), (4000, 500)])
def test_blocking_error_of_a_short_series_is_that_of_its_top_level_correlated_blocks(n, tau) -> None:
    """A series spanning ~100 tau or fewer: the top level's (>= 16) blocks are still correlated, so
    its expected estimate is below the true error (closed form, expected_blocked_variance: -7 % at
    16000 / 150, -54 % at 4000 / 500). It cannot be relaxed: a smaller error needs a longer window
    (or a less correlated series), not a new estimate. Checked on the mean square of estimate /
    exact SE over 300 columns against that closed form, within 3 Monte Carlo standard errors:
    never below it (the estimate is the largest level), and equal to it where the level below
    expects less than 2/3 of the top's square (4000 / 500), so that the top level is the one taken."""
    phi = (tau - 1) / (tau + 1)
    x = ar1(n, phi, 1.0, np.random.default_rng(tau), columns=300)
    exact = exact_ar1_mean_error(n, phi)
    square = (blocking_standard_error(x) / exact) ** 2
    mc = square.std(ddof=1) / np.sqrt(len(square))
    expected = [expected_blocked_variance(m, b, phi) / exact**2 for m, b in blocking_levels(n)]
    assert expected[-1] < 0.9  # the reference itself says: under-stated
    assert square.mean() > expected[-1] - 3 * mc, (square.mean(), expected[-1], mc)
    if expected[-2] < 2 / 3 * expected[-1]:
        assert abs(square.mean() - expected[-1]) < 3 * mc, (square.mean(), expected[-1], mc)


def test_half_drift_tells_a_trend_from_noise() -> None:
    rng = np.random.default_rng(2)
    noise = ar1(8000, 0.5, 10 * MPA, rng)
    trend = noise + np.linspace(0.0, 40 * MPA, len(noise))[:, None]  # 20 MPa between half means
    d, err = half_drift(trend)
    assert d == pytest.approx(np.full(6, 20 * MPA), abs=4 * err.max())
    assert np.all(np.abs(d) > 5 * err)
    d0, err0 = half_drift(noise)
    assert np.abs(d0).max() < 4 * err0.max()  # 6 components within 4 sigma


class SeriesEngine:
    """Stand-in for scema.md.engine.Engine.stress_blocks: white-noise block means of a given std."""

    def __init__(self, sigma: float, seed: int = 3) -> None:
        self.sigma, self.rng, self.calls = sigma, np.random.default_rng(seed), []

    def stress_blocks(self, steps: int, block: int) -> np.ndarray:
        self.calls.append((steps, block))
        return self.rng.normal(0.0, self.sigma, (steps // block, 6))


def spec(goal: float) -> MaterialSpec:
    entry = copper_entry(3, reference_sampling_steps=10000, sampling_steps=300, reference_standard_error=goal)
    return MaterialSpec.from_entry("copper", entry, base_dir=ROOT)


@pytest.mark.parametrize("sigma", [5 * MPA, 18 * MPA, 1e3 * MPA])
def test_reference_window_grows_until_its_error_meets_the_goal(sigma) -> None:
    """1,000 blocks of 10 steps per window, goal 0.5 MPa (SE ~ sigma / sqrt(1000 k) after k
    windows). The window grows exactly until the blocked SE of every component is at or below the
    goal, and stops at reference_max_windows (default 4) whatever the error (material_init then
    warns). White noise has no jump: nothing is cut."""
    eng = SeriesEngine(sigma)
    measured = reference_series(eng, spec(0.5 * MPA))
    series = measured.series
    assert measured.start == 0 and measured.jumps == ()
    k = len(eng.calls)
    assert eng.calls == [(10000, 10)] * k and len(series) == 1000 * k
    met = [blocking_standard_error(series[: 1000 * i]).max() <= 0.5 * MPA for i in range(1, k + 1)]
    assert not any(met[:-1])  # not extended past the first window that met the goal
    assert met[-1] or k == 4
    if sigma == 5 * MPA:
        assert k == 1  # SE ~0.16 MPa
    if sigma == 1e3 * MPA:
        assert k == 4 and not met[-1]  # SE ~16 MPa: gives up after 4 windows


@pytest.mark.parametrize(
    ("preparation", "message"),
    [
        ({"anneal_steps": 20000, "anneal_temperature": 250.0}, "preparation.anneal_temperature (250.0 K) must lie"),
        ({"anneal_steps": 20000, "anneal_temperature": 2500.0}, "preparation.anneal_temperature (2500.0 K) must lie"),
        ({"anneal_steps": 100}, "preparation.anneal_steps (100) must be 0 or at least 5 x"),
    ],
)
def test_bad_anneal_settings_are_refused_by_name(preparation, message) -> None:
    """The anneal pauses the quench between the run and the melt temperature, for at least 5
    barostat/thermostat damping times (1000 steps each here) or not at all."""
    entry = copper_entry(3, barostat_damping_steps=1000, preparation={"melt_temperature": 2000.0, **preparation})
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        MaterialSpec.from_entry("copper", entry, base_dir=ROOT)


def test_anneal_splits_the_quench_at_the_anneal_temperature() -> None:
    """Ramps at quench_rate: 2000 -> 700 K and 700 -> 300 K take the steps of 1300 K and 400 K."""
    prep = {"melt_temperature": 2000.0, "quench_rate": 1e13, "anneal_temperature": 700.0, "anneal_steps": 30000}
    spec = MaterialSpec.from_entry("copper", copper_entry(3, preparation=prep), base_dir=ROOT)
    dt = spec.timestep
    assert spec.anneal_steps == 30000
    assert spec.ramp_steps(2000.0, 700.0) == round(1300 / 1e13 / dt)
    assert spec.ramp_steps(700.0, spec.temperature) == round((700 - spec.temperature) / 1e13 / dt)


class RecordingEngine:
    """Stand-in for the Engine calls of the preparation: records NPT ramps and runs."""

    def __init__(self) -> None:
        self.log = []

    def build(self, spec, variables=None) -> None:
        self.log.append("build")

    def create_velocities(self, temperature, seed) -> None:
        self.log.append(("velocities", temperature))

    def npt(self, spec, pressure=0.0, t_start=None, t_stop=None) -> None:
        self.log.append(("npt", t_start, t_stop, spec.barostat_coupling))

    def run(self, steps) -> None:
        self.log.append(("run", steps))


@pytest.mark.parametrize("anneal_steps", [0, 30000])
def test_preparation_runs_melt_quench_and_anneal_in_order_with_tilts_held(anneal_steps, tmp_path) -> None:
    from scema.md.preparation import _prepare

    prep = {"melt_temperature": 2000.0, "melt_steps": 10000, "quench_rate": 1e13}
    prep |= {"anneal_temperature": 700.0, "anneal_steps": anneal_steps}
    entry = copper_entry(3, preparation=prep, barostat_coupling="tri")
    spec = MaterialSpec.from_entry("copper", entry, base_dir=ROOT)
    eng = RecordingEngine()
    _prepare(eng, spec, 1, 0, tmp_path)
    head = ["build", ("velocities", 2000.0), ("npt", 2000.0, 2000.0, "aniso"), ("run", 10000)]
    t = spec.temperature
    if anneal_steps == 0:  # tilts held while liquid: a liquid box under `tri` shears without bound
        tail = [("npt", 2000.0, t, "aniso"), ("run", spec.quench_steps)]
    else:
        tail = [("npt", 2000.0, 700.0, "aniso"), ("run", spec.ramp_steps(2000.0, 700.0))]
        tail += [("npt", 700.0, 700.0, "aniso"), ("run", 30000)]
        tail += [("npt", 700.0, t, "aniso"), ("run", spec.ramp_steps(700.0, t))]
    assert eng.log == head + tail


# -- ageing jumps: a step in the mean of an AR(1) series, against the analytic answer ------------------

PHI, SIGMA = 0.9, 1.0 * MPA  # block-to-block correlation ~ 10 blocks; long-run deviation SIGMA / (1 - PHI)
LONG_RUN = SIGMA / (1 - PHI)  # SE of the mean of m blocks -> LONG_RUN / sqrt(m) (analytic, m >> 10)
STEP = np.array([-20.0, 0.0, 8.0, 0.0, 8.0, 0.0]) * MPA  # the measured pattern: xx down, zz and xz up
LEVEL = np.array([100.0, -50.0, 30.0, 0.0, 0.0, 5.0]) * MPA  # the stress before the step


class JumpEngine:
    """Stand-in for Engine.stress_blocks: one AR(1) process about LEVEL, continued across calls,
    whose mean steps by STEP at block ``at`` (counted from the first call)."""

    def __init__(self, at: int, seed: int) -> None:
        self.at, self.rng, self.calls, self.done = at, np.random.default_rng(seed), [], 0
        self.x = self.rng.normal(0.0, SIGMA / np.sqrt(1 - PHI**2), 6)

    def stress_blocks(self, steps: int, block: int) -> np.ndarray:
        self.calls.append((steps, block))
        out = np.empty((steps // block, 6))
        for i in range(len(out)):
            self.x = PHI * self.x + self.rng.normal(0.0, SIGMA, 6)
            out[i] = LEVEL + self.x + (STEP if self.done + i >= self.at else 0.0)
        self.done += len(out)
        return out


def jump_spec(goal: float, max_windows: int = 4) -> MaterialSpec:
    entry = copper_entry(
        3,
        reference_sampling_steps=10000,
        sampling_steps=300,
        reference_standard_error=goal,
        reference_max_windows=max_windows,
    )
    return MaterialSpec.from_entry("copper", entry, base_dir=ROOT)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_jump_in_the_first_window_is_cut_and_the_measurement_goes_on_after_it(seed) -> None:
    """Windows of 1,000 blocks; the mean steps at block 700; goal 1.2 x the analytic SE of 1,000
    blocks. The first window's stationary part (300 blocks) is too short: one more window is run,
    the 1,300 blocks after the step meet the goal. The reference is the level after the step within
    4 analytic standard errors, its SE (rms over the 6 columns) the analytic one within 25 %; the plain mean over the whole
    window, what was stored before, is off by 0.35 STEP (far outside its error)."""
    goal = 1.2 * LONG_RUN / np.sqrt(1000)
    eng = JumpEngine(at=700, seed=seed)
    measured = reference_series(eng, jump_spec(goal))
    assert eng.calls == [(10000, 10)] * 2
    assert len(measured.jumps) == 1 and abs(measured.start - 700) <= 5
    tail = measured.stationary
    analytic_se = LONG_RUN / np.sqrt(len(tail))
    assert tail.mean(axis=0) == pytest.approx(LEVEL + STEP, abs=4 * analytic_se)
    se = blocking_standard_error(tail)  # each column's estimate scatters by ~30 % at 1,300 blocks
    assert np.sqrt(np.mean(se**2)) == pytest.approx(analytic_se, rel=0.25)
    assert se.max() <= goal
    plain = measured.series.mean(axis=0) - (LEVEL + STEP)
    assert plain[0] == pytest.approx(-0.35 * STEP[0], abs=4 * LONG_RUN / np.sqrt(2000))
    assert abs(plain[0]) > 10 * goal


def test_the_last_of_two_jumps_is_where_the_stationary_part_begins() -> None:
    """A staircase, 2 STEP at block 1,000 and STEP at 2,500 of 4,000: the larger is the best single
    split of the whole series, the smaller is found after it; the tail starts at the second."""
    rng = np.random.default_rng(21)
    x = ar1(4000, PHI, SIGMA, rng)
    x[1000:] += 2 * STEP
    x[2500:] += STEP
    start, jumps = stationary_start(x, 5 * MPA)
    assert [abs(j.at - a) <= 5 for j, a in zip(jumps, (1000, 2500), strict=True)] == [True, True]
    assert abs(start - 2500) <= 5
    assert jumps[-1].size[0] == pytest.approx(STEP[0], abs=4 * LONG_RUN * np.sqrt(1 / 1500 + 1 / 1500))


def test_no_jump_is_cut_from_a_stationary_series_or_below_the_goal() -> None:
    """100 jump-free AR(1) series (6 columns, 2,000 entries): no cut. A 4 MPa step, 9 analytic
    errors of the shift (LONG_RUN sqrt(1/1000 + 1/1000) = 0.45 MPa), is found with no goal but not
    with a 5 MPa goal: a shift smaller than the goal is not worth discarding data for."""
    cuts = sum(find_jump(ar1(2000, PHI, SIGMA, np.random.default_rng(100 + s)), 0.0) is not None for s in range(100))
    assert cuts == 0
    x = ar1(2000, PHI, SIGMA, np.random.default_rng(7))
    x[1000:, 0] += 4 * MPA
    assert abs(find_jump(x, 0.0).at - 1000) <= 20
    assert find_jump(x, 5 * MPA) is None


def test_a_late_jump_stops_at_reference_max_windows_and_the_warning_names_material_and_replica(capsys) -> None:
    """Two windows at most, the step at block 1,700 of 2,000: cut, but only 300 blocks (3,000 steps)
    follow it. The window stops at the maximum; material_init's report names the material, the
    replica, the jump and the key to raise."""
    from scema.md.preparation import ReferenceState
    from scema.stages.material_init import report_reference

    goal = 0.5 * LONG_RUN / np.sqrt(1000)  # not met by one window: the second is run
    spec = jump_spec(goal, max_windows=2)
    eng = JumpEngine(at=1700, seed=5)
    measured = reference_series(eng, spec)
    assert len(eng.calls) == 2 and abs(measured.start - 1700) <= 5
    tail = measured.stationary
    assert tail.mean(axis=0) == pytest.approx(LEVEL + STEP, abs=4 * LONG_RUN / np.sqrt(len(tail)))
    drift, drift_error = half_drift(tail)
    ref = ReferenceState(
        state=Path("replica_1.data"),
        reference_stress=tail.mean(axis=0),
        standard_error=blocking_standard_error(tail),
        window_stress=tail[:10],
        drift=drift,
        drift_error=drift_error,
        jumps=tuple(measured.jumps),
        measured_steps=20000,
        stationary_steps=len(tail) * 10,
        cell=np.eye(3),
        density=1.0,
        n_atoms=1,
        volume=1.0,
    )
    report_reference("copper", 1, spec, ref)
    err = capsys.readouterr().err
    assert "material copper replica 1: ageing jump at step" in err
    assert "warning: material copper replica 1: after 20000 reference steps (reference_max_windows 2 x 10000)" in err
    assert "raise materials.copper.reference_max_windows" in err


class ReplicaEngine(JumpEngine):
    """JumpEngine with the rest of the calls equilibrate_replica makes, recorded in order."""

    def __init__(self, at: int, seed: int) -> None:
        super().__init__(at, seed)
        self.log = []

    def stress_blocks(self, steps: int, block: int) -> np.ndarray:
        self.log.append("stress_blocks")
        return super().stress_blocks(steps, block)

    def write_state(self, path) -> None:
        self.log.append("write_state")

    def __getattr__(self, name):  # build, npt, nvt, run, load, set_box, ...: recorded, no effect
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            self.log.append(name)
            return np.eye(3) if name in ("average_box", "box_matrix") else 1

        return call


@pytest.mark.parametrize("at", [700, 10**9])
def test_after_a_cut_the_replica_state_is_written_again_at_the_end_of_the_window(at, tmp_path) -> None:
    """Updates start from the state file, so after a jump the file must hold the box the reference
    describes (the one after the jump), not the one from before it. Without a jump the state
    written before the window stays (the old behaviour, bitwise)."""
    from scema.md.preparation import equilibrate_replica

    eng = ReplicaEngine(at=at, seed=11)
    spec = jump_spec(1.2 * LONG_RUN / np.sqrt(1000))
    ref = equilibrate_replica(spec, 1, 0, tmp_path / "replica_0.data", engine=eng)
    last_measurement = len(eng.log) - 1 - eng.log[::-1].index("stress_blocks")
    rewritten = "write_state" in eng.log[last_measurement:]
    assert rewritten == (at == 700)
    assert eng.log.count("write_state") == (2 if at == 700 else 1)
    if at == 700:
        assert abs(ref.jumps[0].at - 7000) <= 50 and ref.measured_steps == 20000
        assert ref.stationary_steps == ref.measured_steps - ref.jumps[0].at
        assert ref.reference_stress == pytest.approx(LEVEL + STEP, abs=4 * LONG_RUN / np.sqrt(1300))
    else:
        assert ref.jumps == () and ref.stationary_steps == ref.measured_steps == 10000


def test_the_cut_jumps_are_recorded_in_material_nc_as_the_log_reports_them(tmp_path, capsys) -> None:
    """Replica 0's mean steps at block 700 (step 7,000), replica 1 has no step. Through the
    workflow's files (replica_{r}.nc, then material.nc): one jump, replica 0's, at the step and of
    the size of the AR(1) + step within 4 analytic errors of the shift, significant on xx only
    (the components without a step stay below the cut's z); replica 0's stationary part is the
    window after it; replica 1 lists none. The log line of the cut quotes the file's numbers; the
    file passes the CF checker."""
    import dataclasses

    from scema.io.datasets import material_replica_dataset
    from scema.io.netcdf import read_dataset, write_dataset
    from scema.md.preparation import equilibrate_replica
    from scema.md.reference import JUMP_Z
    from scema.stages.material_init import run
    from test_cf import _cf_check

    spec = jump_spec(1.2 * LONG_RUN / np.sqrt(1000))
    files, refs = [], []
    for r, at in ((0, 700), (1, 10**9)):
        state = tmp_path / f"replica_{r}.data"
        refs.append(equilibrate_replica(spec, 1, r, state, engine=ReplicaEngine(at=at, seed=11 + r)))
        dataset = material_replica_dataset("copper", spec, r, refs[-1], np.eye(6))
        files.append(str(write_dataset(dataset, tmp_path / f"replica_{r}.nc", f"replica {r}")))
    cfg = {field.name: getattr(spec, field.name) for field in dataclasses.fields(spec) if field.name != "name"}
    capsys.readouterr()
    run("copper", cfg, files, str(tmp_path / "material.nc"))
    log = capsys.readouterr().err
    ds = read_dataset(tmp_path / "material.nc")

    assert ds["reference_jumps"].values.tolist() == [1, 0] and ds.sizes["jump"] == 1
    assert ds["jump_replica"].values.tolist() == [0]
    step = int(ds["jump_step"].values[0])
    assert abs(step - 7000) <= 50 and step == refs[0].jumps[0].at
    assert ds["reference_measured_steps"].values.tolist() == [20000, 10000]
    assert ds["reference_stationary_steps"].values.tolist() == [20000 - step, 10000]
    size, z = ds["jump_size"].values[0], ds["jump_z"].values[0]
    assert size == pytest.approx(STEP, abs=4 * LONG_RUN * np.sqrt(1 / 700 + 1 / 1300))
    assert z[0] > JUMP_Z and np.all(z[[1, 3, 5]] < JUMP_Z)
    assert "coordinates" in read_attrs(tmp_path / "material.nc", "jump_size")
    assert ds["jump_size"].attrs["units"] == "Pa" and ds["jump_z"].attrs["units"] == "1"

    parts = " ".join(f"{c} {v / MPA:+.1f}" for c, v in zip(("xx", "yy", "zz", "yz", "xz", "xy"), size))
    assert f"material copper replica 0: ageing jump at step {step} of the reference window: {parts} MPa" in log
    assert "replica 1: ageing jump" not in log
    errors, _, lines = _cf_check([tmp_path / "material.nc"])[tmp_path / "material.nc"]
    assert errors == 0, lines


def read_attrs(path, name) -> dict:
    """A variable's attributes as stored in the file (xarray moves ``coordinates`` to encoding)."""
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        return {key: nc[name].getncattr(key) for key in nc[name].ncattrs()}
