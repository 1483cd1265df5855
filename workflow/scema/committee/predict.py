"""Load a trained committee, predict mean and spread, and decide whom to trust."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from scema.committee.data import N_COMPONENTS, Scalers, check_inputs
from scema.committee.models import build_member
from scema.committee.train import FORMAT_VERSION, MODEL_FILE, SCALERS_FILE, _member_predict

STD_DDOF = 1  # committee std is the sample standard deviation across members (ddof=1)


@dataclass
class _Member:
    net: torch.nn.Module
    scalers: Scalers
    seed: int


class Committee:
    """A trained committee (``train_committee`` output directory), ready to predict."""

    def __init__(self, members: list[_Member], architecture: str, directory: Path | None = None):
        if len(members) < 2:
            raise ValueError(f"a committee needs >= 2 members, got {len(members)}")
        self.members = members
        self.architecture = architecture
        self.directory = directory

    @property
    def size(self) -> int:
        return len(self.members)

    @classmethod
    def load(cls, directory) -> "Committee":
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
            payload = torch.load(p / MODEL_FILE, map_location="cpu", weights_only=True)
            if payload.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"{p / MODEL_FILE}: unsupported format_version {payload.get('format_version')}")
            scalers = Scalers.load(p / SCALERS_FILE)
            hp = payload["hparams"]
            net = build_member(payload["architecture"], hp["width"], hp["depth"], hp["activation"], scalers=scalers)
            net.load_state_dict(payload["state_dict"])
            net.eval()
            members.append(_Member(net, scalers, int(payload["seed"])))
            archs.add(payload["architecture"])
        return cls(members, "+".join(sorted(archs)), directory)

    def member_predictions(self, inputs) -> np.ndarray:
        """Stress of every member, (size, n, 6) in Pa."""
        x = check_inputs(inputs)
        return np.stack([_member_predict(m.net, m.scalers, x) for m in self.members])

    def predict(self, inputs) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) over members, each (n, 6) in Pa; std with ddof=1 (sample std)."""
        preds = self.member_predictions(inputs)
        return preds.mean(axis=0), preds.std(axis=0, ddof=STD_DDOF)


def decide(std, accuracy_pa: float) -> np.ndarray:
    """True where the committee is trusted: the largest component std is below ``accuracy_pa``.

    ``std`` is (n, 6) in Pa (from ``Committee.predict``); NaN std is never trusted, and an
    accuracy of 0 Pa trusts nothing (the run then equals brute force).
    """
    s = np.asarray(std, dtype=float)
    if s.ndim != 2 or s.shape[1] != N_COMPONENTS:
        raise ValueError(f"std must have shape (n, 6), got {s.shape}")
    if not float(accuracy_pa) >= 0.0:
        raise ValueError(f"accuracy_pa must be >= 0 (Pa), got {accuracy_pa}")
    trusted = np.all(s < float(accuracy_pa), axis=1)  # NaN compares False -> not trusted
    return trusted
