"""Query-by-committee surrogate of the MD stress at a quadrature point.

Inputs per qp and step: ``features(eps_{t-1}, sigma_{t-1}, d_eps_t)`` -> (n, 18); output the
stress ``sigma_t`` (n, 6) in Pa, Voigt ``xx yy zz yz xz xy`` (engineering shear strain).
A committee of independently seeded members, each trained on its own bootstrap resample,
predicts a mean and a spread; ``decide`` trusts the committee where the spread (std across
members, ddof=1) of every component is below the requested accuracy, and otherwise the MD
must be run.

    settings = CommitteeSettings(size=4, architecture="mlp")   # or "tann"
    summary = train_committee(features(...), sigma_t, settings, Path("committee/v3"))
    committee = Committee.load("committee/v3")
    mean, std = committee.predict(features(...))
    trust = decide(std, accuracy_pa=30e6)
"""

from scema.committee.data import features
from scema.committee.predict import STD_DDOF, Committee, decide
from scema.committee.train import CommitteeSettings, member_seed, train_committee

__all__ = [
    "Committee",
    "CommitteeSettings",
    "STD_DDOF",
    "decide",
    "features",
    "member_seed",
    "train_committee",
]
