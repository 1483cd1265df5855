"""Feature layout and scalers of the committee surrogate.

One sample per quadrature point and step: the 18 inputs are ``(eps_s, sigma_s, eps_t - eps_s)``
(6 each, Voigt ``xx yy zz yz xz xy``, strain with engineering shear, stress in Pa), where
``eps_s, sigma_s`` are the strain and MD stress at which the qp's box state was saved, so that
inputs and label always describe one real MD path. The stress is ``sigma_t`` in Pa; what the
networks learn is that stress (target ``stress``), its deviation from the elastic response
to the total strain ``C eps_t`` (target ``deviation``) or its correction to the elastic
prediction ``sigma_s + C (eps_t - eps_s)`` (target ``correction``), C the material's
homogenised stiffness. Inputs and targets are standardised
(``sklearn.preprocessing.StandardScaler``); only the fitted ``mean_``/``scale_`` arrays are
stored (``scalers.npz``, no pickle), so loading never executes code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.preprocessing import StandardScaler

N_COMPONENTS = 6
N_FEATURES = 18
STRAIN_PREV = slice(0, 6)
STRESS_PREV = slice(6, 12)
STRAIN_INCREMENT = slice(12, 18)


def _as_voigt(name: str, a) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != N_COMPONENTS:
        raise ValueError(f"{name} must have shape (n, 6) (Voigt xx yy zz yz xz xy), got {a.shape}")
    return a


def features(strain_prev, stress_prev, strain_increment) -> np.ndarray:
    """Stack ``(eps_s, sigma_s, eps_t - eps_s)`` into the (n, 18) committee input.

    Each argument is (n, 6) (or (6,) for one sample): strains dimensionless with engineering
    shear, stress in Pa.
    """
    parts = [
        _as_voigt("strain_prev", strain_prev),
        _as_voigt("stress_prev", stress_prev),
        _as_voigt("strain_increment", strain_increment),
    ]
    n = {p.shape[0] for p in parts}
    if len(n) != 1:
        raise ValueError(f"features: inconsistent sample counts {[p.shape[0] for p in parts]}")
    return np.concatenate(parts, axis=1)


def check_inputs(inputs, name: str = "inputs") -> np.ndarray:
    x = np.asarray(inputs, dtype=float)
    if x.ndim != 2 or x.shape[1] != N_FEATURES:
        raise ValueError(f"{name} must have shape (n, 18) (see scema.committee.features), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains non-finite values")
    return x


def check_targets(targets, n: int) -> np.ndarray:
    y = np.asarray(targets, dtype=float)
    if y.ndim != 2 or y.shape != (n, N_COMPONENTS):
        raise ValueError(f"targets must have shape ({n}, 6) (stress in Pa), got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("targets contain non-finite values")
    return y


def elastic_prediction(x: np.ndarray, stiffness: np.ndarray, target: str = "correction") -> np.ndarray:
    """What the box would give if it stayed elastic, (n, 6) Pa.

    ``correction``: ``sigma_s + C (eps_t - eps_s)``, anchored on the measured sigma_s (which
    carries that measurement's MD noise); ``deviation``: ``C eps_t``, from the strain alone.
    """
    c = np.asarray(stiffness, dtype=float)
    if target == "deviation":
        return (x[:, STRAIN_PREV] + x[:, STRAIN_INCREMENT]) @ c.T
    return x[:, STRESS_PREV] + x[:, STRAIN_INCREMENT] @ c.T


def learned_target(x: np.ndarray, stress: np.ndarray, target: str, stiffness: np.ndarray | None) -> np.ndarray:
    """What the networks are trained on: the stress itself, or its difference to an elastic prediction.

    With ``correction`` the label sigma_t - sigma_s - C d eps contains minus the MD noise of
    sigma_s, which is an input: that noise is 'learnable' (sigma_s - f(eps_s)) and members
    learn different parts of it. ``deviation`` (sigma_t - C eps_t) has only the label's own
    noise, independent of every input.
    """
    if target == "stress":
        return stress
    return stress - elastic_prediction(x, stiffness, target)


def stress_from_learned(x: np.ndarray, learned: np.ndarray, target: str, stiffness: np.ndarray | None) -> np.ndarray:
    """Inverse of ``learned_target``: the stress (Pa) from a network output."""
    if target == "stress":
        return learned
    return learned + elastic_prediction(x, stiffness, target)


STRAIN_SCALE_FLOOR = 1e-4  # strains vary by ~1e-3 per step in practice
STRESS_SCALE_FLOOR_PA = 1e6  # 1 MPa, far below MD noise


@dataclass(frozen=True)
class Scalers:
    """Affine standardisation ``z = (v - mean) / scale`` of inputs (18) and targets (6).

    ``energy_scale`` (J/m^3, i.e. Pa) is the factor between the dimensionless network output
    and the free energy for ``tann`` members (unused, 1.0, for ``mlp``).
    """

    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: np.ndarray
    y_scale: np.ndarray
    energy_scale: float = 1.0

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, stress_change: np.ndarray | None = None) -> Scalers:
        """``stress_change`` (n, 6): the part of ``y`` a tann energy must produce (default y - sigma_s)."""
        sx = StandardScaler().fit(x)
        sy = StandardScaler().fit(y)
        # Physical floors on the scales: a feature that barely varies in the training set (a
        # shear strain of a uniaxial test, FE round-off ~1e-18) must not blow up to 1e15 sigmas
        # when the query moves it by an ordinary amount.
        floors = np.empty(x.shape[1])
        floors[:] = STRAIN_SCALE_FLOOR
        floors[STRESS_PREV] = STRESS_SCALE_FLOOR_PA
        sx.scale_ = np.maximum(sx.scale_, floors)
        sy.scale_ = np.maximum(sy.scale_, STRESS_SCALE_FLOOR_PA)
        # Increment of stress over the step, per component, sets the energy scale of a tann
        # member: dF/d eps ~ d sigma  =>  F ~ scale(d_eps) * scale(d_sigma) (geometric mean).
        change = y - x[:, STRESS_PREV] if stress_change is None else stress_change
        dsig_scale = np.maximum(StandardScaler().fit(change).scale_, STRESS_SCALE_FLOOR_PA)
        energy = float(np.exp(np.mean(np.log(sx.scale_[STRAIN_INCREMENT] * dsig_scale))))
        return cls(sx.mean_.copy(), sx.scale_.copy(), sy.mean_.copy(), sy.scale_.copy(), energy)

    @classmethod
    def identity(cls) -> Scalers:
        """No scaling: members that work on physical inputs and targets (a physical-prior ridge)."""
        zeros, ones = np.zeros(N_FEATURES), np.ones(N_FEATURES)
        return cls(zeros, ones, np.zeros(N_COMPONENTS), np.ones(N_COMPONENTS))

    def transform_x(self, x: np.ndarray) -> np.ndarray:
        return (x - self.x_mean) / self.x_scale

    def transform_y(self, y: np.ndarray) -> np.ndarray:
        return (y - self.y_mean) / self.y_scale

    def inverse_y(self, z: np.ndarray) -> np.ndarray:
        return z * self.y_scale + self.y_mean

    def save(self, path: Path) -> None:
        np.savez(
            path,
            x_mean=self.x_mean,
            x_scale=self.x_scale,
            y_mean=self.y_mean,
            y_scale=self.y_scale,
            energy_scale=np.float64(self.energy_scale),
        )

    @classmethod
    def load(cls, path: Path) -> Scalers:
        with np.load(path, allow_pickle=False) as z:
            return cls(
                z["x_mean"].copy(),
                z["x_scale"].copy(),
                z["y_mean"].copy(),
                z["y_scale"].copy(),
                float(z["energy_scale"]),
            )
