"""Train a query-by-committee surrogate with PyTorch Lightning.

Recipe (all deterministic for a given ``CommitteeSettings.seed`` on CPU):

1. One split of the samples, drawn from the committee seed, into a training part and a
   held-out validation part (``validation_fraction``), shared by all members so their
   validation errors are comparable.
2. Member ``i`` gets its own seed ``member_seed(seed, i)`` (``numpy.random.SeedSequence``
   of ``[seed, i]``): it sets the weight initialisation (``lightning.seed_everything``), the
   bootstrap resample of the training part (n draws with replacement) and the shuffling.
3. Scalers (StandardScaler) are fitted on the member's bootstrap sample; Adam on the MSE of
   the scaled stress, learning rate halved after ``max(2, patience // 4)`` epochs without
   validation improvement (ReduceLROnPlateau, floor 1e-3 x initial); early stopping on the
   validation MSE with ``patience`` epochs, and the weights of the best validation epoch are
   restored before saving.

Determinism: ``seed_everything(member seed)``, ``Trainer(deterministic=True)``, CPU,
``num_workers=0``, explicit ``torch.Generator`` for shuffling, and torch limited to ONE
intra-op thread while training and predicting (faster for these tiny nets on a shared box,
and it fixes the floating-point reduction order). Same seed, same torch build -> bitwise
identical weights and predictions. torch's global determinism flag and thread count are
restored afterwards. Lightning writes nothing to the cwd (no logger, no checkpointing, no
progress bar/summary, ``default_root_dir`` inside the temp build dir).

Output directory (built in a temp dir next to ``out_dir`` and renamed into place)::

    out_dir/member_{i}/model.pt      state_dict + architecture hyperparameters (torch.save)
    out_dir/member_{i}/scalers.npz   input/target mean and scale (+ tann energy scale)
    out_dir/metrics.nc               per-member validation RMSE (Pa), train size, epochs run
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from scema.committee.data import Scalers, check_inputs, check_targets
from scema.committee.models import ARCHITECTURES, DEFAULT_ACTIVATION, build_member

MODEL_FILE = "model.pt"
SCALERS_FILE = "scalers.npz"
METRICS_FILE = "metrics.nc"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CommitteeSettings:
    size: int = 4
    architecture: str = "mlp"
    width: int = 64
    depth: int = 2
    max_epochs: int = 300
    patience: int = 20
    validation_fraction: float = 0.2
    learning_rate: float = 1e-3
    batch_size: int = 64
    seed: int = 0

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"committee architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if int(self.size) < 2:
            raise ValueError(f"committee size must be >= 2 (the std across members needs two), got {self.size}")
        for name in ("width", "depth", "max_epochs", "patience", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"committee {name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 < float(self.validation_fraction) < 1.0:
            raise ValueError(f"committee validation_fraction must be in (0, 1), got {self.validation_fraction}")
        if not float(self.learning_rate) > 0.0:
            raise ValueError(f"committee learning_rate must be > 0, got {self.learning_rate}")
        if int(self.seed) < 0:
            raise ValueError(f"committee seed must be >= 0, got {self.seed}")


def member_seed(seed: int, index: int) -> int:
    """Seed of member ``index`` derived from the committee seed (31-bit, for torch/numpy)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, dtype=np.uint32)[0] >> 1)


def split_indices(n: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shared train/validation split (sorted index arrays) drawn from the committee seed."""
    n_val = int(round(validation_fraction * n))
    if n_val < 2 or n - n_val < 4:
        raise ValueError(
            f"too few samples ({n}) for validation_fraction={validation_fraction}: "
            "need >= 2 validation and >= 4 training samples"
        )
    perm = np.random.default_rng(np.random.SeedSequence([int(seed), 2**31 - 1])).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def lr_patience(patience: int) -> int:
    """Epochs without validation improvement before the learning rate is halved."""
    return max(2, int(patience) // 4)


# ----------------------------------------------------------------------------- Lightning
def _lightning():
    import lightning as L  # deferred: importing lightning costs ~1 s

    return L


def _make_lit_module(net: torch.nn.Module, learning_rate: float, lr_patience: int):
    L = _lightning()

    class LitMember(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            with torch.enable_grad():  # tann needs autograd for its stress, even in validation
                pred = self.net(x)
            loss = torch.nn.functional.mse_loss(pred.detach(), y)
            self.log("val_loss", loss, on_epoch=True, batch_size=x.shape[0], logger=False)
            return loss

        def configure_optimizers(self):
            optimizer = torch.optim.Adam(self.parameters(), lr=learning_rate)
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=0.5, patience=lr_patience, min_lr=learning_rate * 1e-3
            )
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": plateau, "monitor": "val_loss", "interval": "epoch"},
            }

    return LitMember()


def _best_weights_callback():
    L = _lightning()

    class KeepBest(L.Callback):
        """Keep (in memory) the weights of the epoch with the lowest validation loss."""

        def __init__(self):
            self.best = float("inf")
            self.best_epoch = -1
            self.state = None

        def on_validation_epoch_end(self, trainer, pl_module):
            if trainer.sanity_checking:
                return
            loss = float(trainer.callback_metrics["val_loss"])
            if loss < self.best:
                self.best = loss
                self.best_epoch = trainer.current_epoch
                self.state = copy.deepcopy(pl_module.net.state_dict())

    return KeepBest()


@contextlib.contextmanager
def single_thread():
    """Run torch on one intra-op thread, restored after.

    The nets are tiny: one thread is ~3x faster than two contending ones, and a fixed thread
    count makes the floating-point reduction order (hence the bits) independent of the machine.
    """
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        yield
    finally:
        torch.set_num_threads(threads)


class _DropInfo(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


@contextlib.contextmanager
def _quiet_and_deterministic():
    """Silence Lightning's chatter; restore torch's global determinism flag and threads after."""
    _lightning()  # import first, so that all its loggers exist
    names = [n for n in logging.root.manager.loggerDict if n.startswith("lightning")]
    loggers = [logging.getLogger(n) for n in {"lightning", "lightning.pytorch", "lightning.fabric", *names}]
    drop = _DropInfo()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        for lg in loggers:
            lg.addFilter(drop)
        with warnings.catch_warnings(), single_thread():
            for pattern in (
                r".*does not have many workers.*",
                r".*number of training batches.*",
                r".*srun.*",
                r".*LeafSpec.*",
            ):
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        for lg in loggers:
            lg.removeFilter(drop)
        torch.use_deterministic_algorithms(was_deterministic, warn_only=warn_only)


def _train_member(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                  settings: CommitteeSettings, seed: int, workdir: Path) -> tuple[torch.nn.Module, Scalers, dict]:
    """Train one member on (x, y) (its bootstrap sample); returns net (best epoch), scalers, info."""
    L = _lightning()
    L.seed_everything(seed, workers=False, verbose=False)
    scalers = Scalers.fit(x, y)
    net = build_member(settings.architecture, settings.width, settings.depth, scalers=scalers)

    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    train_ds = torch.utils.data.TensorDataset(t(scalers.transform_x(x)), t(scalers.transform_y(y)))
    val_ds = torch.utils.data.TensorDataset(t(scalers.transform_x(x_val)), t(scalers.transform_y(y_val)))
    generator = torch.Generator().manual_seed(seed)
    # Whole mini-batches are fetched with one fancy index (TensorDataset accepts index lists):
    # the per-sample fetch + collate of the default loader costs more than the step itself.
    batches = torch.utils.data.BatchSampler(
        torch.utils.data.RandomSampler(train_ds, generator=generator), settings.batch_size, drop_last=False
    )
    train_dl = torch.utils.data.DataLoader(train_ds, sampler=batches, batch_size=None, num_workers=0)
    val_dl = torch.utils.data.DataLoader(val_ds, sampler=[list(range(len(val_ds)))], batch_size=None, num_workers=0)

    keep_best = _best_weights_callback()
    early = L.pytorch.callbacks.EarlyStopping(
        monitor="val_loss", patience=settings.patience, mode="min", check_on_train_epoch_end=False
    )
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=settings.max_epochs,
        deterministic=True,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(workdir),
        num_sanity_val_steps=0,
        inference_mode=False,  # tann validation differentiates F with respect to the strain
        callbacks=[keep_best, early],
    )
    lit = _make_lit_module(net, settings.learning_rate, lr_patience(settings.patience))
    trainer.fit(lit, train_dataloaders=train_dl, val_dataloaders=val_dl)
    if keep_best.state is not None:
        net.load_state_dict(keep_best.state)
    net.eval()
    info = {
        "epochs": int(trainer.current_epoch),
        "best_epoch": int(keep_best.best_epoch) + 1,
        "best_val_loss": float(keep_best.best),
    }
    return net, scalers, info


def _member_predict(net: torch.nn.Module, scalers: Scalers, x: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Physical stress (Pa, float64) of one member for physical inputs ``x`` (n, 18)."""
    out = []
    net.eval()
    for start in range(0, x.shape[0], chunk):
        xs = torch.as_tensor(scalers.transform_x(x[start : start + chunk]), dtype=torch.float32)
        with torch.no_grad(), single_thread():  # TANNMember re-enables grad locally for dF/d eps
            out.append(net(xs).detach().numpy().astype(np.float64))
    z = np.concatenate(out, axis=0) if out else np.zeros((0, 6))
    return scalers.inverse_y(z)


def save_member(directory: Path, net: torch.nn.Module, scalers: Scalers, settings: CommitteeSettings,
                index: int, seed: int, info: dict) -> None:
    directory.mkdir(parents=True, exist_ok=False)
    payload = {
        "format_version": FORMAT_VERSION,
        "architecture": settings.architecture,
        "hparams": {
            "width": int(settings.width),
            "depth": int(settings.depth),
            "activation": DEFAULT_ACTIVATION[settings.architecture],
        },
        "member": int(index),
        "seed": int(seed),
        "settings": asdict(settings),
        "info": dict(info),
        "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()},
    }
    torch.save(payload, directory / MODEL_FILE)
    scalers.save(directory / SCALERS_FILE)


def _metrics_dataset(val_rmse: np.ndarray, committee_rmse: np.ndarray, train_size: np.ndarray,
                     epochs: np.ndarray, best_epoch: np.ndarray, seeds: np.ndarray,
                     n_validation: int, settings: CommitteeSettings) -> xr.Dataset:
    from scema.io.netcdf import component_coord, index_coord

    coords = {**index_coord("member", len(train_size), "committee member index"), **component_coord()}
    ds = xr.Dataset(
        {
            "validation_rmse": (
                ("member", "component"),
                val_rmse,
                {"units": "Pa", "long_name": "member root-mean-square stress error on the held-out validation set"},
            ),
            "committee_validation_rmse": (
                ("component",),
                committee_rmse,
                {"units": "Pa", "long_name": "committee-mean root-mean-square stress error on the held-out validation set"},
            ),
            "train_size": (
                ("member",),
                train_size.astype(np.int64),
                {"units": "1", "long_name": "number of training samples (bootstrap draws) of the member"},
            ),
            "epochs": (
                ("member",),
                epochs.astype(np.int64),
                {"units": "1", "long_name": "training epochs run (early stopping included)"},
            ),
            "best_epoch": (
                ("member",),
                best_epoch.astype(np.int64),
                {"units": "1", "long_name": "epoch (1-based) with the lowest validation loss, whose weights are kept"},
            ),
            "member_seed": (
                ("member",),
                seeds.astype(np.int64),
                {"units": "1", "long_name": "random seed of the member (initialisation, bootstrap, shuffling)"},
            ),
            "validation_size": (
                (),
                np.int64(n_validation),
                {"units": "1", "long_name": "number of held-out validation samples (shared by all members)"},
            ),
        },
        coords=coords,
    )
    ds.attrs.update({f"settings_{k}": (v if not isinstance(v, bool) else int(v)) for k, v in asdict(settings).items()})
    ds.attrs["std_ddof"] = 1
    return ds


def _atomic_install(tmp: Path, out_dir: Path) -> None:
    """Rename the finished ``tmp`` to ``out_dir``; an existing ``out_dir`` is replaced."""
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old."))
        old.rmdir()
        os.rename(out_dir, old)
        os.rename(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out_dir)


def train_committee(inputs, targets, settings: CommitteeSettings, out_dir) -> dict:
    """Train ``settings.size`` members on (inputs (n, 18), targets (n, 6) Pa); write ``out_dir``.

    The directory appears complete or not at all (built in ``.{name}.*`` next to it, renamed at
    the end; an existing ``out_dir`` is replaced). Returns a summary dict (see keys below).
    """
    if not isinstance(settings, CommitteeSettings):
        raise TypeError(f"settings must be a CommitteeSettings, got {type(settings).__name__}")
    x = check_inputs(inputs)
    y = check_targets(targets, x.shape[0])
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    train_idx, val_idx = split_indices(x.shape[0], settings.validation_fraction, settings.seed)
    x_tr, y_tr, x_val, y_val = x[train_idx], y[train_idx], x[val_idx], y[val_idx]

    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        scratch = tmp / ".lightning"
        scratch.mkdir()
        seeds, infos, preds = [], [], []
        with _quiet_and_deterministic():
            for i in range(settings.size):
                seed = member_seed(settings.seed, i)
                rng = np.random.default_rng(seed)
                boot = rng.integers(0, x_tr.shape[0], size=x_tr.shape[0])
                net, scalers, info = _train_member(x_tr[boot], y_tr[boot], x_val, y_val, settings, seed, scratch)
                preds.append(_member_predict(net, scalers, x_val))
                save_member(tmp / f"member_{i}", net, scalers, settings, i, seed, info)
                seeds.append(seed)
                infos.append(info)
        shutil.rmtree(scratch, ignore_errors=True)

        preds_arr = np.stack(preds)  # (member, n_val, 6)
        val_rmse = np.sqrt(np.mean((preds_arr - y_val[None]) ** 2, axis=1))
        committee_rmse = np.sqrt(np.mean((preds_arr.mean(axis=0) - y_val) ** 2, axis=0))
        epochs = np.array([inf["epochs"] for inf in infos])
        best_epoch = np.array([inf["best_epoch"] for inf in infos])
        train_size = np.full(settings.size, x_tr.shape[0])
        ds = _metrics_dataset(val_rmse, committee_rmse, train_size, epochs, best_epoch,
                              np.array(seeds), len(val_idx), settings)
        from scema.io.netcdf import write_dataset

        write_dataset(ds, tmp / METRICS_FILE, title="SCEMa committee surrogate training metrics",
                      history=f"train_committee {settings.architecture} size={settings.size} seed={settings.seed}")
        _atomic_install(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    return {
        "out_dir": out_dir,
        "architecture": settings.architecture,
        "size": settings.size,
        "n_samples": int(x.shape[0]),
        "n_train": int(x_tr.shape[0]),
        "n_validation": int(len(val_idx)),
        "member_seeds": seeds,
        "epochs": epochs.tolist(),
        "best_epoch": best_epoch.tolist(),
        "validation_rmse_pa": val_rmse,  # (size, 6)
        "committee_validation_rmse_pa": committee_rmse,  # (6,)
        "max_validation_rmse_pa": float(val_rmse.max()),
        "seconds": time.perf_counter() - start,
    }
