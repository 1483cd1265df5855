"""What a committee version directory holds, and how it is written and read back.

v{k}/member_{i}/model.pt      state_dict + architecture hyperparameters (torch.save)
v{k}/member_{i}/scalers.npz   input/target mean and scale (+ tann energy scale), no pickle
v{k}/target.npz               what the members learn (deviation | correction | stress) and the stiffness C
v{k}/metrics.nc               held-out RMSE, MD noise and net error per member and component
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from scema.committee.acceptance import HeldOutErrors
from scema.committee.data import Scalers
from scema.committee.models import DEFAULT_ACTIVATION, build_member
from scema.committee.settings import CommitteeSettings

MODEL_FILE = "model.pt"
SCALERS_FILE = "scalers.npz"
TARGET_FILE = "target.npz"
METRICS_FILE = "metrics.nc"
FORMAT_VERSION = 2


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


def save_target(directory: Path, target: str, stiffness: np.ndarray | None) -> None:
    c = np.full((6, 6), np.nan) if stiffness is None else np.asarray(stiffness, dtype=float)
    np.savez(directory / TARGET_FILE, target=np.array(target), stiffness=c)


def load_target(directory: Path) -> tuple[str, np.ndarray | None]:
    with np.load(directory / TARGET_FILE, allow_pickle=False) as z:
        target, c = str(z["target"]), z["stiffness"].copy()
    return target, (None if target == "stress" else c)


def metrics_dataset(
    errors: HeldOutErrors,
    train_size: np.ndarray,
    epochs: np.ndarray,
    best_epoch: np.ndarray,
    seeds: np.ndarray,
    n_validation: int,
    settings: CommitteeSettings,
) -> xr.Dataset:
    from scema.io.netcdf import component_coord, index_coord

    pa, one = "Pa", "1"
    member_comp, comp, member = ("member", "component"), ("component",), ("member",)
    held = "on the held-out validation set"
    variables = {
        "validation_rmse": (member_comp, errors.member_rmse, pa, f"member root-mean-square stress error {held}"),
        "validation_net_error": (
            member_comp,
            errors.member_net,
            pa,
            f"member stress error {held} net of the MD noise, sqrt(max(0, rmse^2 - noise^2))",
        ),
        "committee_validation_rmse": (
            comp,
            errors.committee_rmse,
            pa,
            f"committee-mean root-mean-square stress error {held}",
        ),
        "committee_validation_net_error": (
            comp,
            errors.committee_net,
            pa,
            f"committee-mean stress error {held} net of the MD noise",
        ),
        "validation_noise": (comp, errors.noise, pa, "root-mean-square MD noise of the held-out stresses"),
        "train_size": (
            member,
            train_size.astype(np.int64),
            one,
            "number of training samples (bootstrap draws) of the member",
        ),
        "epochs": (member, epochs.astype(np.int64), one, "training epochs run (early stopping included)"),
        "best_epoch": (
            member,
            best_epoch.astype(np.int64),
            one,
            "epoch (1-based) with the lowest validation loss, whose weights are kept",
        ),
        "member_seed": (
            member,
            seeds.astype(np.int64),
            one,
            "random seed of the member (initialisation, bootstrap, shuffling)",
        ),
        "validation_size": (
            (),
            np.int64(n_validation),
            one,
            "number of held-out validation samples (shared by all members)",
        ),
    }
    ds = xr.Dataset(
        {
            name: (dims, values, {"units": units, "long_name": long})
            for name, (dims, values, units, long) in variables.items()
        },
        coords={**index_coord("member", len(train_size), "committee member index"), **component_coord()},
    )
    ds.attrs.update({f"settings_{k}": (v if not isinstance(v, bool) else int(v)) for k, v in asdict(settings).items()})
    ds.attrs["std_ddof"] = 1
    return ds
