"""Committee member networks: a plain MLP and a thermodynamics-based (TANN) member.

Both map the *scaled* 18 inputs (``Scalers.transform_x``) to the *scaled* stress
``(sigma_t - y_mean) / y_scale``; the trainer and the predictor never need to know which one
they hold.

``tann`` (after Masi, Stefanou, Vannucci, Maffi-Berthier, J. Mech. Phys. Solids 147 (2021)
104277): the network is a scalar free energy and the stress is its gradient,

    F(eps_t; eps_{t-1}, sigma_{t-1}) = sigma_{t-1} . eps_t + E * g(z(eps_t), eps_{t-1}^s, sigma_{t-1}^s)
    sigma_t = dF / d eps_t                       (torch.autograd.grad, physical strain)

with ``z(eps_t) = (eps_t - eps_{t-1} - m_d) / s_d`` the scaled strain increment, ``g`` a
smooth (SiLU by default; Softplus available) MLP, ``E`` the energy scale in Pa (``Scalers.energy_scale``) and
``eps_{t-1}^s, sigma_{t-1}^s`` the scaled conditioning. The gradient is taken with respect
to the *physical* strain ``eps_t = eps_{t-1} + d_eps_t`` (a leaf tensor), so autograd applies
the chain rule through every scaler itself and the predicted stress is a true gradient in Pa;
only afterwards is it mapped through the output scaler for the loss. The linear term
``sigma_{t-1} . eps_t`` (a conditioning-dependent, energy-consistent offset) lets ``g``
describe only the stress *change* over the step: a linear-elastic law is ``g`` quadratic in
``z``. Engineering shear strain is used on purpose: ``sigma_k = dF/d eps_k`` holds for the
Voigt pair (engineering shear strain, plain shear stress), the work-conjugate pair.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from scema.committee.data import N_COMPONENTS, N_FEATURES, STRAIN_INCREMENT, STRAIN_PREV, STRESS_PREV, Scalers

ACTIVATIONS = {"silu": nn.SiLU, "softplus": nn.Softplus, "tanh": nn.Tanh}
DEFAULT_ACTIVATION = {"mlp": "silu", "tann": "silu", "ridge": "silu"}
ARCHITECTURES = tuple(DEFAULT_ACTIVATION)


def _mlp(n_in: int, n_out: int, width: int, depth: int, activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    n = n_in
    for _ in range(depth):
        layers += [nn.Linear(n, width), ACTIVATIONS[activation]()]
        n = width
    layers.append(nn.Linear(n, n_out))
    return nn.Sequential(*layers)


class MLPMember(nn.Module):
    """Plain fully connected net: scaled 18 inputs -> scaled 6 stresses."""

    def __init__(
        self, width: int, depth: int, activation: str = "silu", scalers: Scalers | None = None, offset: bool = True
    ):
        super().__init__()
        self.net = _mlp(N_FEATURES, N_COMPONENTS, width, depth, activation)

    def forward(self, x_scaled: torch.Tensor) -> torch.Tensor:
        return self.net(x_scaled)


class TANNMember(nn.Module):
    """Free-energy network; stress = dF/d eps_t by automatic differentiation (see module doc)."""

    def __init__(
        self, width: int, depth: int, activation: str = "softplus", scalers: Scalers | None = None, offset: bool = True
    ):
        super().__init__()
        self.net = _mlp(N_FEATURES, 1, width, depth, activation)
        # offset: include sigma_s . eps_t in F (target stress); without it F is the energy of the
        # correction to the elastic prediction (target correction), whose gradient is that correction
        self.offset = bool(offset)
        # Scaler statistics as buffers: saved in the state_dict, moved with the module.
        zeros6, ones6 = torch.zeros(N_COMPONENTS), torch.ones(N_COMPONENTS)
        if scalers is not None:
            t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
            xm, xs, ym, ys = t(scalers.x_mean), t(scalers.x_scale), t(scalers.y_mean), t(scalers.y_scale)
            energy = float(scalers.energy_scale)
        else:
            xm, xs = torch.zeros(N_FEATURES), torch.ones(N_FEATURES)
            ym, ys, energy = zeros6, ones6, 1.0
        self.register_buffer("x_mean", xm.clone())
        self.register_buffer("x_scale", xs.clone())
        self.register_buffer("y_mean", ym.clone())
        self.register_buffer("y_scale", ys.clone())
        self.register_buffer("energy_scale", torch.tensor(energy, dtype=torch.float32))

    def _physical(self, x_scaled: torch.Tensor):
        x = x_scaled * self.x_scale + self.x_mean
        return x[:, STRAIN_PREV], x[:, STRESS_PREV], x[:, STRAIN_INCREMENT]

    def free_energy(self, strain: torch.Tensor, x_scaled: torch.Tensor) -> torch.Tensor:
        """F (J/m^3, up to a function of the conditioning) at physical strain ``strain`` (n, 6)."""
        eps_prev, sig_prev, _ = self._physical(x_scaled)
        inc = STRAIN_INCREMENT
        z = (strain - eps_prev - self.x_mean[inc]) / self.x_scale[inc]
        net_in = torch.cat([x_scaled[:, STRAIN_PREV], x_scaled[:, STRESS_PREV], z], dim=1)
        energy = self.energy_scale * self.net(net_in).squeeze(1)
        return energy + (sig_prev * strain).sum(dim=1) if self.offset else energy

    def stress(self, x_scaled: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
        """Physical stress (Pa) = dF/d eps_t at eps_t = eps_{t-1} + d_eps_t."""
        eps_prev, _, d_eps = self._physical(x_scaled)
        with torch.enable_grad():
            strain = (eps_prev + d_eps).detach().requires_grad_(True)
            energy = self.free_energy(strain, x_scaled)
            (sigma,) = torch.autograd.grad(energy.sum(), strain, create_graph=create_graph)
        return sigma

    def forward(self, x_scaled: torch.Tensor) -> torch.Tensor:
        sigma = self.stress(x_scaled, create_graph=self.training)
        return (sigma - self.y_mean) / self.y_scale


STRAIN_UNIT = 1e-2  # quadratic strain terms in (percent strain)^2: O(1) numbers before standardising
PAIRS = torch.triu_indices(N_COMPONENTS, N_COMPONENTS)
N_BASIS = N_FEATURES + PAIRS.shape[1]  # 18 linear + 21 quadratic


def ridge_basis(x_scaled: torch.Tensor, x_mean: torch.Tensor, x_scale: torch.Tensor) -> torch.Tensor:
    """The ridge's regressors: the 18 scaled inputs and the 21 products eps_t,i eps_t,j of the total
    strain eps_t = eps_s + d eps (a quadratic law in the strain: second-order elasticity)."""
    x = x_scaled * x_scale + x_mean
    eps = (x[:, STRAIN_PREV] + x[:, STRAIN_INCREMENT]) / STRAIN_UNIT
    return torch.cat([x_scaled, eps[:, PAIRS[0]] * eps[:, PAIRS[1]]], dim=1)


# The physical prior of a ridge member that learns a deviation from the elastic response
# (targets deviation, correction): every coefficient ~ N(0, std^2), std in Pa per unit regressor,
# as multiples of the stiffness scale c (largest diagonal entry of the material's C) so that it
# holds for copper, glass and polymer alike. "0" is the elastic prediction, right in the elastic
# range; the data move a coefficient away from it as far as the MD noise lets them.
PRIOR_INTERCEPT = 2e-4  # stress at zero strain: the reference stress's error, the stress of a 2e-4 strain
PRIOR_ELASTIC = 0.04  # eps_t: material_init's C against the tangent over a few 1e-3 of strain, and its sampling error
PRIOR_PATH = 0.01  # d eps apart from eps_t, and the saved state's deviation (sigma_s - C eps_s) / c: path dependence
PRIOR_SECOND_ORDER = 4.0  # eps_t,i eps_t,j: fcc third-order constants are -5 to -8 c, half of that in the stress
N_PHYSICAL = 1 + 3 * N_COMPONENTS + PAIRS.shape[1]  # intercept, eps_t, d eps, state deviation, 21 products


# the prior's groups of regressors, each with one scale (``evidence`` fits a factor per group)
GROUP_NAMES = ("intercept", "elastic", "path", "second_order")
N_GROUPS = len(GROUP_NAMES)


def regressor_groups() -> np.ndarray:
    """(40,) group index of each physical regressor (``models.physical_regressors`` order)."""
    n = N_COMPONENTS
    return np.concatenate([[0], np.full(n, 1), np.full(2 * n, 2), np.full(PAIRS.shape[1], 3)]).astype(int)


def column_groups(basis: np.ndarray) -> np.ndarray:
    """(k,) group of each column of the tied basis (240, k): every orbit lies in one group."""
    rows = regressor_groups()[np.repeat(np.arange(N_PHYSICAL), N_COMPONENTS)]
    out = np.empty(basis.shape[1], dtype=int)
    for j in range(basis.shape[1]):
        groups = np.unique(rows[np.abs(basis[:, j]) > 0])
        if groups.size != 1:
            raise ValueError(f"basis column {j} spans the groups {groups.tolist()}: not one group")
        out[j] = groups[0]
    return out


def physical_regressors(x: torch.Tensor, stiffness: torch.Tensor) -> torch.Tensor:
    """(n, 40) regressors in strain units from physical inputs: 1, eps_t, d eps, (sigma_s - C eps_s) / c,
    eps_t,i eps_t,j. Why eps_t and d eps rather than eps_s and d eps: an elastic law depends on
    eps_t alone, so the prior can hold the path-dependent part (d eps on its own) smaller."""
    eps_s, sig_s, d_eps = x[:, STRAIN_PREV], x[:, STRESS_PREV], x[:, STRAIN_INCREMENT]
    eps = eps_s + d_eps
    c = torch.diagonal(stiffness).max()
    state = (sig_s - eps_s @ stiffness.T) / c
    return torch.cat([torch.ones_like(eps[:, :1]), eps, d_eps, state, eps[:, PAIRS[0]] * eps[:, PAIRS[1]]], dim=1)


def physical_prior_std(stiffness: np.ndarray, measured: tuple | None = None) -> np.ndarray:
    """(40,) prior std of each physical regressor's coefficient, Pa per unit regressor. ``measured``
    (intercept Pa, elastic Pa per unit strain[, second-order Pa, second-order mean]): the intercept
    and elastic groups' std from the material's measured errors (``committee.measured_prior``)
    instead of the guesses above; with a third entry, the second-order group's std about the
    measured second-order law (``second_order_mean``) instead of 4 c about zero."""
    c = float(np.max(np.diag(stiffness)))
    n = N_COMPONENTS
    intercept, elastic = (PRIOR_INTERCEPT * c, PRIOR_ELASTIC * c) if measured is None else measured[:2]
    second = c * PRIOR_SECOND_ORDER if measured is None or len(measured) < 3 or measured[2] is None else measured[2]
    return np.concatenate(
        [
            [intercept],
            np.full(n, elastic),
            c * np.full(2 * n, PRIOR_PATH),
            np.full(PAIRS.shape[1], second),
        ]
    )


def second_order_mean(measured: tuple | None) -> np.ndarray | None:
    """(21, 6) Pa: the prior mean of the second-order coefficients (the coefficient of eps_t,i eps_t,j
    in each stress component, ``PAIRS`` order), the material's measured law; None: zero."""
    if measured is None or len(measured) < 4 or measured[3] is None:
        return None
    return np.asarray(measured[3], dtype=float).reshape(PAIRS.shape[1], N_COMPONENTS)


def prior_mean_deviation(x: np.ndarray, stiffness: np.ndarray, measured: tuple | None) -> np.ndarray:
    """(n, 6) Pa: the deviation from C eps_t the prior expects at physical inputs ``x`` (n, 18): the
    measured second-order law's sum over eps_t,i eps_t,j; zero without one. A posterior is fitted
    to the learned target minus this and the law added back to its coefficients."""
    mean = second_order_mean(measured)
    if mean is None:
        return np.zeros((np.asarray(x).shape[0], N_COMPONENTS))
    r = physical_regressors(torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(stiffness, dtype=torch.float64))
    return r.numpy()[:, N_PHYSICAL - PAIRS.shape[1] :] @ mean


class RidgeMember(nn.Module):
    """A ridge fit (closed form) of the learned target on a quadratic basis of the inputs.

    Why: an MLP extrapolates beyond its training strains as its activations happen to
    continue, and members initialised alike continue alike, so the spread stays small while
    the mean drifts. A polynomial law extrapolates its trend, and members disagree on it in
    proportion to what the data leave open, so the spread grows honestly outside the training
    range. (An MLP on the ridge's residual, ``network=True``, was measured no better on real MD
    and 10x slower: not offered.)

    Two ways to fit:

    - ``fit_physical`` (targets deviation, correction): Bayesian linear regression on
      ``physical_regressors`` with the physical prior above and the MD noise as the likelihood;
      each member is one exact draw from the posterior (its labels perturbed by the noise, its
      prior mean drawn from the prior: randomise-then-optimise), so the members' spread is the
      posterior std: small where data or physics pin the law, the prior's where they do not.
      Why: a version trained at one load level sees one point of strain space; standardising
      the regressors by that data's tiny scatter let bootstrap members fit the MD noise as
      slopes of ~100 GPa, whose extrapolation to the next load level disagreed by 110-280 MPa
      and missed the MD by as much (copper bar, step 2).
    - ``fit_ridge`` (target stress, where zero is no physical default): ridge on the
      standardised ``ridge_basis``, members on bootstrap resamples.
    """

    def __init__(
        self,
        width: int,
        depth: int,
        activation: str = "silu",
        scalers: Scalers | None = None,
        offset: bool = True,
        network: bool = False,
    ):
        super().__init__()
        self.net = _mlp(N_FEATURES, N_COMPONENTS, width, depth, activation) if network else None
        xm = torch.zeros(N_FEATURES) if scalers is None else torch.as_tensor(scalers.x_mean, dtype=torch.float32)
        xs = torch.ones(N_FEATURES) if scalers is None else torch.as_tensor(scalers.x_scale, dtype=torch.float32)
        self.register_buffer("x_mean", xm.clone())
        self.register_buffer("x_scale", xs.clone())
        self.register_buffer("basis_mean", torch.zeros(N_BASIS))
        self.register_buffer("basis_scale", torch.ones(N_BASIS))
        self.register_buffer("weights", torch.zeros(N_BASIS, N_COMPONENTS))
        self.register_buffer("intercept", torch.zeros(N_COMPONENTS))
        # physical fit: C (zero: not fitted that way), prior std of each regressor (Pa) and the
        # posterior draw (coefficients in Pa per unit regressor), in float64
        self.register_buffer("stiffness", torch.zeros(N_COMPONENTS, N_COMPONENTS, dtype=torch.float64))
        self.register_buffer("prior_std", torch.zeros(N_PHYSICAL, dtype=torch.float64))
        self.register_buffer("physical_weights", torch.zeros(N_PHYSICAL, N_COMPONENTS, dtype=torch.float64))
        # the posterior covariance of each component's coefficients (Pa^2 per unit regressor^2): the
        # spread every draw comes from, so the committee's std need not be estimated from a few draws
        self.register_buffer("physical_cov", torch.zeros(N_COMPONENTS, N_PHYSICAL, N_PHYSICAL, dtype=torch.float64))
        # the MD noise of the measured stress an answer is anchored on (target correction: sigma_s),
        # which every answer carries whatever the posterior knows (Pa, per component; 0: none)
        self.register_buffer("anchor_noise", torch.zeros(N_COMPONENTS, dtype=torch.float64))

    @property
    def physical(self) -> bool:
        return bool(self.prior_std.abs().sum() > 0)

    def basis(self, x_scaled: torch.Tensor) -> torch.Tensor:
        return (ridge_basis(x_scaled, self.x_mean, self.x_scale) - self.basis_mean) / self.basis_scale

    def fit_ridge(self, x_scaled: np.ndarray, y_scaled: np.ndarray, alpha: float) -> None:
        """Closed-form ridge in float64: W = (A^T A + alpha I)^-1 A^T y on the standardised basis."""
        a = ridge_basis(torch.as_tensor(x_scaled, dtype=torch.float64), self.x_mean.double(), self.x_scale.double())
        a = a.numpy()
        mean, scale = a.mean(axis=0), np.maximum(a.std(axis=0), 1e-12)
        z = (a - mean) / scale
        w = np.linalg.solve(z.T @ z + float(alpha) * np.eye(N_BASIS), z.T @ (y_scaled - y_scaled.mean(axis=0)))
        for buffer, value in ((self.basis_mean, mean), (self.basis_scale, scale), (self.weights, w)):
            buffer.copy_(torch.as_tensor(value))
        self.intercept.copy_(torch.as_tensor(y_scaled.mean(axis=0)))

    def fit_physical(
        self,
        x: np.ndarray,
        learned: np.ndarray,
        noise_std: np.ndarray,
        stiffness: np.ndarray,
        rng: np.random.Generator,
        row_weight: float = 1.0,
        sign: float = 1.0,
        basis: np.ndarray | None = None,
        anchor_noise: np.ndarray | None = None,
        prior_factors: np.ndarray | None = None,
        measured: tuple | None = None,
    ) -> None:
        """One posterior draw: minimise sum_rows row_weight (y - R w)^2 / noise^2 + (w - w0)^2 / prior^2
        per component, w0 ~ N(0, prior^2); ``learned`` (n, 6) Pa already carries the member's own
        noise draw (``train_committee``), ``noise_std`` (6,) Pa the MD noise of one sample,
        ``row_weight`` 1/24 when the rows are a sample's 24 cubic images (one measurement each);
        ``sign`` -1: the mirror image of the draw of +1 (same rng state, labels perturbed oppositely).
        ``basis`` (240, k): the coefficients (40, 6), in units of their prior std, are basis @ theta
        with theta ~ N(0, I) (``equivariance.equivariant_basis``: tied as a cubic crystal ties them);
        None: every coefficient independent. ``anchor_noise`` (6,) Pa: the noise of the measured
        stress the answers are anchored on (``posterior_std``). ``prior_factors`` (4,): each group's
        prior std as a multiple of today's (``evidence.fit_group_factors``; None: all 1). ``measured``:
        the intercept and elastic scales measured for the material [, None, its 0 K law]
        (``physical_prior_std``, ``second_order_mean``). With no
        rows the draw is one from the prior itself (``measured_prior.prior_version``)."""
        prior = physical_prior_std(stiffness, measured)
        self.stiffness.copy_(torch.as_tensor(stiffness, dtype=torch.float64))
        z = physical_regressors(torch.as_tensor(x, dtype=torch.float64), self.stiffness).numpy() * prior
        tied = np.eye(N_PHYSICAL * N_COMPONENTS) if basis is None else basis
        learned = learned - prior_mean_deviation(x, stiffness, measured)  # fit about the measured law
        gram, rhs = normal_equations(z, learned, noise_std, row_weight, tied)
        self._take_posterior_draw(gram, rhs, prior, rng, sign, tied, anchor_noise, prior_factors, measured)

    def fit_physical_moments(
        self,
        data,
        noise_std: np.ndarray,
        stiffness: np.ndarray,
        rng: np.random.Generator,
        row_weight: float = 1.0,
        sign: float = 1.0,
        basis: np.ndarray | None = None,
        anchor_noise: np.ndarray | None = None,
        prior_factors: np.ndarray | None = None,
        measured: tuple | None = None,
    ) -> None:
        """``fit_physical`` from the rows' sums (``moments.Moments``, images included) instead of
        the rows: the same draw to round-off, at a cost that does not grow with the rows."""
        from scema.committee.moments import about_law, moment_equations

        prior = physical_prior_std(stiffness, measured)
        self.stiffness.copy_(torch.as_tensor(stiffness, dtype=torch.float64))
        tied = np.eye(N_PHYSICAL * N_COMPONENTS) if basis is None else basis
        gram, rhs = moment_equations(about_law(data, measured), prior, noise_std, row_weight, tied)
        self._take_posterior_draw(gram, rhs, prior, rng, sign, tied, anchor_noise, prior_factors, measured)

    def _take_posterior_draw(self, gram, rhs, prior, rng, sign, tied, anchor_noise, prior_factors, measured) -> None:
        """Draw from the posterior of the data's (G, b), fitted about the measured second-order law
        (``second_order_mean``), and keep it, in Pa, with the law added back and its covariance."""
        factors = np.ones(N_GROUPS) if prior_factors is None else np.asarray(prior_factors, dtype=float)
        scale = factors[column_groups(tied)]
        w, cov = _posterior_draw(gram, rhs, scale, rng, sign, tied)
        # back from units of the physical prior's std; prior_std keeps the std the draw was taken under
        self.prior_std.copy_(torch.as_tensor(prior * factors[regressor_groups()]))
        weights = w * prior[:, None]
        mean = second_order_mean(measured)
        if mean is not None:
            weights[N_PHYSICAL - PAIRS.shape[1] :] += mean
        self.physical_weights.copy_(torch.as_tensor(weights))
        self.physical_cov.copy_(torch.as_tensor(cov * np.outer(prior, prior)))
        if anchor_noise is not None:
            self.anchor_noise.copy_(torch.as_tensor(anchor_noise, dtype=torch.float64))

    def posterior_std(self, x: np.ndarray) -> np.ndarray:
        """(n, 6) Pa: the exact posterior std of the learned target at physical inputs ``x`` (n, 18),
        of which each member's answer is one draw, with the anchor's MD noise added in quadrature:
        an answer sigma_s + C d eps + correction carries the noise of the measured sigma_s in full
        (on the 500-atom copper bar, without it, the correction target's trusted answers were 40-100
        MPa off, net of the MD noise)."""
        r = physical_regressors(torch.as_tensor(x, dtype=torch.float64), self.stiffness).numpy()
        var = np.einsum("ni,cij,nj->nc", r, self.physical_cov.numpy(), r) + self.anchor_noise.numpy() ** 2
        return np.sqrt(np.maximum(0.0, var))

    def forward(self, x_scaled: torch.Tensor) -> torch.Tensor:
        if self.physical:  # physical inputs (identity scalers), output in the target scaler's unit
            x = x_scaled.double() * self.x_scale.double() + self.x_mean.double()
            return (physical_regressors(x, self.stiffness) @ self.physical_weights).to(x_scaled.dtype)
        linear = self.basis(x_scaled) @ self.weights + self.intercept
        return linear if self.net is None else linear + self.net(x_scaled)


def normal_equations(z, learned, noise_std, row_weight, tied) -> tuple[np.ndarray, np.ndarray]:
    """The data's part of the posterior of theta (coefficients = tied @ theta, in units of the physical
    prior's std): G = sum_c A_c^T A_c w / noise_c^2 and b = sum_c A_c^T y_c w / noise_c^2, A_c = z @ tied_c
    component c's prediction per unit of theta. The components are fitted together because the
    cubic ties couple coefficients of different outputs (untied: ``tied`` the identity, G block-diagonal)."""
    tied = tied.reshape(N_PHYSICAL, N_COMPONENTS, -1)
    k = tied.shape[2]
    gram, rhs = np.zeros((k, k)), np.zeros(k)
    for c in range(N_COMPONENTS):
        a = z @ tied[:, c, :]
        keep = np.flatnonzero(np.abs(a).sum(axis=0) > 0)  # untied: only component c's own 40 columns
        a = a[:, keep]
        gram[np.ix_(keep, keep)] += row_weight * (a.T @ a) / noise_std[c] ** 2
        rhs[keep] += row_weight * (a.T @ learned[:, c]) / noise_std[c] ** 2
    return gram, rhs


def _posterior_draw(gram, rhs, scale, rng, sign, tied) -> tuple[np.ndarray, np.ndarray]:
    """(40, 6) coefficients in prior-std units, tied @ theta, theta one posterior draw under the prior
    theta ~ N(0, diag(scale^2)) (randomise-then-optimise: the prior mean drawn, the labels already
    perturbed), and the posterior covariance (6, 40, 40) of each component's coefficients."""
    k = gram.shape[0]
    precision = gram + np.diag(1.0 / scale**2)
    theta_cov = np.linalg.inv(precision)
    theta = theta_cov @ (rhs + sign * rng.standard_normal(k) / scale)
    t = tied.reshape(N_PHYSICAL, N_COMPONENTS, k)
    cov = np.einsum("rck,kl,scl->crs", t, theta_cov, t, optimize=True)
    return (tied @ theta).reshape(N_PHYSICAL, N_COMPONENTS), cov


MEMBER_CLASSES = {"mlp": MLPMember, "tann": TANNMember, "ridge": RidgeMember}


def build_member(
    architecture: str,
    width: int,
    depth: int,
    activation: str | None = None,
    scalers: Scalers | None = None,
    offset: bool = True,
) -> nn.Module:
    """``offset`` False: a tann member's energy describes the correction target (see TANNMember)."""
    if architecture not in MEMBER_CLASSES:
        raise ValueError(f"committee architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    activation = activation or DEFAULT_ACTIVATION[architecture]
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
    return MEMBER_CLASSES[architecture](width, depth, activation, scalers, offset)
