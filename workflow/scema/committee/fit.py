"""PyTorch Lightning glue: fit one committee member, deterministically, on one CPU thread.

Adam on the MSE of the scaled target, learning rate halved after ``max(2, patience // 4)``
epochs without validation improvement (ReduceLROnPlateau, floor 1e-3 x initial), early
stopping on the validation MSE with ``patience`` epochs, and the weights of the best
validation epoch restored. Determinism: ``seed_everything(member seed)``,
``Trainer(deterministic=True)``, CPU, ``num_workers=0``, an explicit ``torch.Generator`` for
shuffling and ONE intra-op thread (faster for these tiny nets on a shared box, and it fixes
the floating-point reduction order). Lightning writes nothing to the cwd.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from scema.committee.data import Scalers
from scema.committee.models import build_member
from scema.committee.settings import CommitteeSettings


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
    """Run torch (and numpy's BLAS) on one intra-op thread, restored after.

    The nets are tiny: one thread is ~3x faster than two contending ones, and a fixed thread
    count makes the floating-point reduction order (hence the bits) independent of the machine.
    """
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        # numpy's BLAS too: the posterior's 19x19 to 240x240 solves ran 100x slower on two
        # threads contending with other jobs (measured at load 8)
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(threads)


class _DropInfo(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


@contextlib.contextmanager
def quiet_and_deterministic():
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


class ImageBatches(torch.utils.data.Sampler):
    """Mini-batches that visit each of ``n`` samples once per epoch, each as one of its
    ``images`` images drawn afresh (image k of sample i at row k n + i).

    Why: a network trained on all 24 cube images of every sample pays 24x per epoch (measured:
    25x CPU on a copper run's 1,266 samples) for exact copies of one noisy MD stress; one random
    image per visit costs what the originals cost and, over the epochs, shows every image.
    """

    def __init__(self, n: int, images: int, batch_size: int, generator: torch.Generator):
        self.n, self.images, self.batch_size, self.generator = n, images, batch_size, generator

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator)
        rows = order + self.n * torch.randint(self.images, (self.n,), generator=self.generator)
        yield from (rows[i : i + self.batch_size].tolist() for i in range(0, self.n, self.batch_size))

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)


def fit_member(
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    settings: CommitteeSettings,
    seed: int,
    workdir: Path,
    images: int = 1,
    physical: dict | None = None,
) -> tuple[torch.nn.Module, Scalers, dict]:
    """Train one member on (x, y) (its bootstrap sample, y the learned target); returns net
    (weights of the best validation epoch), scalers, info.

    ``physical`` (ridge, targets deviation and correction): {"moments": the sums of its
    noise-perturbed rows and their images (``moments.Moments``), "noise_std": (6,) Pa, "stiffness":
    (6, 6) Pa, "rng": the member's generator, "sign": +-1 (antithetic pairs), "basis": None or the
    coefficients' ties (``equivariance``)}: the member is a posterior draw under the physical prior
    (``RidgeMember.fit_physical_moments``; x, y are then not fitted).

    ``images`` > 1: x, y are that many blocks of the same samples' images (image k of sample i
    at row k n + i, as ``scema.committee.symmetry.augment`` stacks them); the ridge fits all
    rows, a network sees one random image of each sample per epoch (``ImageBatches``)."""
    L = _lightning()
    L.seed_everything(seed, workers=False, verbose=False)
    offset = settings.target == "stress"
    if physical is not None:  # a posterior draw on physical regressors: inputs and target as they are
        scalers = Scalers.identity()
        net = build_member("ridge", settings.width, settings.depth, scalers=scalers, offset=offset)
        net.fit_physical_moments(
            physical["moments"],
            physical["noise_std"],
            physical["stiffness"],
            physical["rng"],
            1.0 / images,
            physical["sign"],
            physical.get("basis"),
            physical.get("anchor_noise"),
            physical.get("prior_factors"),
            physical.get("measured"),
        )
    else:
        scalers = Scalers.fit(x, y, stress_change=None if offset else y)
        net = build_member(settings.architecture, settings.width, settings.depth, scalers=scalers, offset=offset)
    if settings.architecture == "ridge":  # closed form: nothing for Lightning to train
        if physical is None:
            net.fit_ridge(scalers.transform_x(x), scalers.transform_y(y), settings.ridge_alpha)
        net.eval()
        with torch.no_grad():
            pred = net(torch.as_tensor(scalers.transform_x(x_val), dtype=torch.float32)).numpy()
        loss = float(np.mean((pred - scalers.transform_y(y_val)) ** 2))
        return net, scalers, {"epochs": 0, "best_epoch": 0, "best_val_loss": loss}

    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    train_ds = torch.utils.data.TensorDataset(t(scalers.transform_x(x)), t(scalers.transform_y(y)))
    val_ds = torch.utils.data.TensorDataset(t(scalers.transform_x(x_val)), t(scalers.transform_y(y_val)))
    generator = torch.Generator().manual_seed(seed)
    # Whole mini-batches are fetched with one fancy index (TensorDataset accepts index lists):
    # the per-sample fetch + collate of the default loader costs more than the step itself.
    if images > 1:
        batches = ImageBatches(len(train_ds) // images, images, settings.batch_size, generator)
    else:
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
