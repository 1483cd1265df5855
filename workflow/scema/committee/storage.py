"""What a committee version directory holds, and how it is written and read back.

v{k}/member_{i}/model.pt      state_dict + architecture hyperparameters (torch.save)
v{k}/member_{i}/scalers.npz   input/target mean and scale (+ tann energy scale), no pickle
v{k}/target.npz               what the members learn (deviation | correction | stress), the stiffness C
                              and whether the members are antithetic pairs
v{k}/metrics.nc               held-out RMSE, MD noise and net error per member and component
                              (built by scema.io.datasets.committee_metrics_dataset)
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from scema.committee.data import Scalers
from scema.committee.models import DEFAULT_ACTIVATION, build_member
from scema.committee.settings import CommitteeSettings

MODEL_FILE = "model.pt"
SCALERS_FILE = "scalers.npz"
TARGET_FILE = "target.npz"
METRICS_FILE = "metrics.nc"
FORMAT_VERSION = 4  # 3: physical-prior ridge members, paired flag in target.npz; 4: their posterior covariance


def save_member(
    directory: Path,
    net: torch.nn.Module,
    scalers: Scalers,
    settings: CommitteeSettings,
    index: int,
    seed: int,
    info: dict,
) -> None:
    directory.mkdir(parents=True, exist_ok=False)
    payload = {
        "format_version": FORMAT_VERSION,
        "architecture": settings.architecture,
        "hparams": {
            "width": int(settings.width),
            "depth": int(settings.depth),
            "activation": DEFAULT_ACTIVATION[settings.architecture],
            "offset": settings.target == "stress",
        },
        "member": int(index),
        "seed": int(seed),
        "settings": asdict(settings),
        "info": dict(info),
        "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()},
    }
    torch.save(payload, directory / MODEL_FILE)
    scalers.save(directory / SCALERS_FILE)


def load_member(directory: Path) -> tuple[torch.nn.Module, Scalers, int, str]:
    """(net in eval mode, scalers, seed, architecture) of one saved member."""
    payload = torch.load(directory / MODEL_FILE, map_location="cpu", weights_only=True)
    if payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{directory / MODEL_FILE}: unsupported format_version {payload.get('format_version')}")
    scalers = Scalers.load(directory / SCALERS_FILE)
    hp = payload["hparams"]
    net = build_member(
        payload["architecture"], hp["width"], hp["depth"], hp["activation"], scalers=scalers, offset=hp["offset"]
    )
    net.load_state_dict(payload["state_dict"])
    net.eval()
    return net, scalers, int(payload["seed"]), payload["architecture"]


def save_target(directory: Path, target: str, stiffness: np.ndarray | None, paired: bool = False) -> None:
    """``paired``: members 2j, 2j + 1 are antithetic posterior draws (``train_committee``)."""
    c = np.full((6, 6), np.nan) if stiffness is None else np.asarray(stiffness, dtype=float)
    np.savez(directory / TARGET_FILE, target=np.array(target), stiffness=c, paired=np.array(bool(paired)))


def load_target(directory: Path) -> tuple[str, np.ndarray | None, bool]:
    """(target, C or None for the stress target, whether the members come in antithetic pairs)."""
    with np.load(directory / TARGET_FILE, allow_pickle=False) as z:
        target, c, paired = str(z["target"]), z["stiffness"].copy(), bool(z["paired"])
    return target, (None if target == "stress" else c), paired
