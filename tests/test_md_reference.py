"""The reference-stress window: its standard error is what block statistics of a correlated
series give (checked against the analytic error of an AR(1) process), the window grows until
that error meets materials.*.reference_standard_error (at most 4 windows), and a drifting box
(an ageing glass) is told apart from a noisy one. No LAMMPS: a stand-in engine feeds the series."""

from pathlib import Path

import numpy as np
import pytest

from conftest import copper_entry
from scema.md.material import MaterialSpec
from scema.md.preparation import REFERENCE_MAX_WINDOWS, blocking_standard_error, half_drift, reference_series

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
    goal, and stops at REFERENCE_MAX_WINDOWS whatever the error (material_init then warns)."""
    eng = SeriesEngine(sigma)
    series = reference_series(eng, spec(0.5 * MPA))
    k = len(eng.calls)
    assert eng.calls == [(10000, 10)] * k and len(series) == 1000 * k
    met = [blocking_standard_error(series[: 1000 * i]).max() <= 0.5 * MPA for i in range(1, k + 1)]
    assert not any(met[:-1])  # not extended past the first window that met the goal
    assert met[-1] or k == REFERENCE_MAX_WINDOWS
    if sigma == 5 * MPA:
        assert k == 1  # SE ~0.16 MPa
    if sigma == 1e3 * MPA:
        assert k == REFERENCE_MAX_WINDOWS and not met[-1]  # SE ~16 MPa: gives up after 4 windows


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
