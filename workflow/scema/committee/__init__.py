"""Query-by-committee surrogate of the MD stress at a quadrature point (method section 6).

Inputs per qp and step: ``features(eps_s, sigma_s, eps_t - eps_s)`` -> (n, 18), from the strain
and MD stress at which the qp's box state was saved; output the stress ``sigma_t`` (n, 6) in Pa,
Voigt ``xx yy zz yz xz xy`` (engineering shear strain). The members learn the stress or its
difference to an elastic prediction (``target``: deviation from C eps_t, the default, or the
correction to sigma_s + C (eps_t - eps_s)). A committee of independently seeded members,
each trained on its own bootstrap resample, predicts a mean and a spread; ``decide`` trusts the
committee where the spread of every component is below the accuracy. A version is only used
when its held-out error net of the MD noise is below that accuracy (``acceptance``).

    s = CommitteeSettings.from_config(config["committee"])    # or default_settings(size=2)
    summary = train_committee(features(...), sigma_t, s, Path("committee/copper/v3"), noise, C)
    committee = Committee.load("committee/copper/v3")
    mean, std = committee.predict(features(...))
    trust = decide(std, accuracy_pa=30e6)

Modules: settings (config -> CommitteeSettings), data (features, targets, scalers), models
(mlp, tann, ridge), fit (Lightning or closed form: one member), train (a version), predict
(load, predict, decide), storage (files of a version), acceptance (net-of-noise error),
noise (the MD noise pooled over a material's samples, which acceptance and audits subtract),
symmetry (the cube's 24 images of a sample, for crystals along the specimen axes),
equivariance (the physical prior's coefficients tied as a cubic crystal ties them), evidence
(the prior's four group scales fitted to the samples by evidence maximisation).
"""

import importlib

_EXPORTS = {  # name -> module, loaded in this order (the order the package always imported them in)
    "held_out_errors": "acceptance",
    "is_accepted": "acceptance",
    "net_error": "acceptance",
    "features": "data",
    "STD_DDOF": "predict",
    "Committee": "predict",
    "decide": "predict",
    "CommitteeSettings": "settings",
    "default_settings": "settings",
    "schema_defaults": "settings",
    "member_seed": "train",
    "train_committee": "train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """The package's names, imported on first use (PEP 562): importing a light module of it
    (noise, pass_fraction, acceptance) then costs no torch and sklearn (~1.5 s CPU, the summary
    job's largest import). The first use loads every module above, in the order the package
    always imported them, so the heavy libraries still load in the same order."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in dict.fromkeys(_EXPORTS.values()):
        importlib.import_module(f"{__name__}.{module}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
