"""Load a trained committee, predict mean and spread of the stress, and decide whom to trust."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import torch

from scema.committee.data import N_COMPONENTS, Scalers, check_inputs, stress_from_learned
from scema.committee.fit import single_thread
from scema.committee.models import RidgeMember
from scema.committee.storage import load_member, load_target

STD_DDOF = 1  # committee std is the sample standard deviation across members (ddof=1)


def member_predict(net: torch.nn.Module, scalers: Scalers, x: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """The learned target (Pa, float64) of one member for physical inputs ``x`` (n, 18)."""
    out = []
    net.eval()
    for start in range(0, x.shape[0], chunk):
        xs = torch.as_tensor(scalers.transform_x(x[start : start + chunk]), dtype=torch.float32)
        with torch.no_grad(), single_thread():  # TANNMember re-enables grad locally for dF/d eps
            out.append(net(xs).detach().numpy().astype(np.float64))
    z = np.concatenate(out, axis=0) if out else np.zeros((0, N_COMPONENTS))
    return scalers.inverse_y(z)


@dataclass
class _Member:
    net: torch.nn.Module
    scalers: Scalers
    seed: int


class Committee:
    """A trained committee (``train_committee`` output directory), ready to predict stresses."""

    def __init__(
        self,
        members: list[_Member],
        architecture: str,
        target: str = "stress",
        stiffness: np.ndarray | None = None,
        directory: Path | None = None,
        paired: bool = False,
    ):
        if len(members) < 2:
            raise ValueError(f"a committee needs >= 2 members, got {len(members)}")
        self.members = members
        self.architecture = architecture
        self.target = target
        self.stiffness = stiffness
        self.directory = directory
        self.paired = bool(paired)

    @property
    def size(self) -> int:
        return len(self.members)

    @classmethod
    def load(cls, directory) -> Committee:
        directory = Path(directory)
        found = []
        for p in directory.iterdir() if directory.is_dir() else []:
            m = re.fullmatch(r"member_(\d+)", p.name)
            if m and p.is_dir():
                found.append((int(m.group(1)), p))
        if not found:
            raise FileNotFoundError(f"no committee members (member_<i>/) in {directory}")
        found.sort()
        if [i for i, _ in found] != list(range(len(found))):
            raise ValueError(f"committee members in {directory} are not numbered 0..{len(found) - 1}")
        members, archs = [], set()
        for _, p in found:
            net, scalers, seed, architecture = load_member(p)
            members.append(_Member(net, scalers, seed))
            archs.add(architecture)
        target, stiffness, paired = load_target(directory)
        return cls(members, "+".join(sorted(archs)), target, stiffness, directory, paired)

    def member_predictions(self, inputs) -> np.ndarray:
        """Stress of every member, (size, n, 6) in Pa."""
        x = check_inputs(inputs)
        return np.stack(
            [
                stress_from_learned(x, member_predict(m.net, m.scalers, x), self.target, self.stiffness)
                for m in self.members
            ]
        )

    def predict(self, inputs) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) over members, each (n, 6) in Pa; std with ddof=1 (sample std), or, for an
        even number of antithetic pairs (draw and mirror image about the posterior mean), ddof=0:
        the mean square of the members' distance from their mean is then an unbiased estimate
        of the posterior variance (one degree of freedom per pair). Members that are draws from
        a known posterior (``posterior_std``) give that posterior's std itself."""
        preds = self.member_predictions(inputs)
        exact = self.posterior_std(inputs)
        if exact is not None:
            return preds.mean(axis=0), exact
        ddof = 0 if self.paired and self.size % 2 == 0 else STD_DDOF
        return preds.mean(axis=0), preds.std(axis=0, ddof=ddof)

    def posterior_std(self, inputs) -> np.ndarray | None:
        """(n, 6) Pa, the exact posterior std when the members are posterior draws under the physical
        prior (ridge, targets deviation and correction), else None. Why: the std of a few draws is
        itself noisy (two antithetic pairs: two degrees of freedom, its square off by 100 %), and
        it errs both ways: on the copper bar whole steps were refused, and on test data a stretch
        four times beyond the data was trusted, because two draws happened to agree."""
        if not self.exact:
            return None
        return self.members[0].net.posterior_std(check_inputs(inputs))

    @property
    def exact(self) -> bool:
        """The members are draws from a known posterior (``posterior_std``)."""
        return all(isinstance(m.net, RidgeMember) and m.net.physical for m in self.members)

    def trust_factor(self, audit_tolerance: float) -> float:
        """How many stds must fit within the accuracy for an answer to be trusted (``decide``).
        With the exact posterior std: the normal quantile z with P(|error| < z std) = 1 -
        audit_tolerance, so a trusted answer lies within the accuracy with the probability the
        audits then ask of it (1.64 at the default 0.1; a spread of 30 MPa trusted at 1 std
        missed a 30 MPa accuracy in a third of the answers, and on the copper bar its audits
        failed at 40-80 % of the steps). A few members' spread is no calibrated std, and a
        tolerance of 0 asks nothing of the audits: 1."""
        if not self.exact or not float(audit_tolerance) > 0.0:
            return 1.0
        return NormalDist().inv_cdf(1.0 - 0.5 * float(audit_tolerance))


def decide(std, accuracy_pa: float, factor: float = 1.0) -> np.ndarray:
    """True where the committee is trusted: the largest component std times ``factor``
    (``Committee.trust_factor``) is below ``accuracy_pa``.

    ``std`` is (n, 6) in Pa (from ``Committee.predict``); NaN std is never trusted, and an
    accuracy of 0 Pa trusts nothing (the run then equals brute force).
    """
    s = np.asarray(std, dtype=float)
    if s.ndim != 2 or s.shape[1] != N_COMPONENTS:
        raise ValueError(f"std must have shape (n, 6), got {s.shape}")
    if not float(accuracy_pa) >= 0.0:
        raise ValueError(f"accuracy_pa must be >= 0 (Pa), got {accuracy_pa}")
    trusted = np.all(float(factor) * s < float(accuracy_pa), axis=1)  # NaN compares False -> not trusted
    return trusted
