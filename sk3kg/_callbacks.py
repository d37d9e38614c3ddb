"""skorch callbacks that keep long pretraining runs safe: divergence and resumable checkpoints."""

import json
import math
import os
import pickle
import shutil
import sys
from pathlib import Path

import torch
from skorch.callbacks import Callback, LRScheduler, PrintLog
from skorch.utils import Ansi
from torch.nn.parallel import DistributedDataParallel

from ._files import fsync_file


def _current_batch(net, training: bool) -> tuple[int, int]:
    """``(epoch, batch)`` of the batch being processed, both counted from 1."""
    epoch, batches = len(net.history), len(net.history[-1, "batches"])
    if not training:
        batches -= net.history[-1].get("train_batch_count", 0)
    return epoch, batches


class StopOnDivergence(Callback):
    """Stop training with an error when the loss or the weights stop being finite.

    A NaN or infinite loss leaves a model whose embeddings are NaN; this
    callback raises as soon as it appears, naming the epoch and batch, instead
    of returning such a model. Under ``torch.distributed`` all processes agree
    on the check, so they stop together.
    """

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        loss = net.history[-1, "batches", -1, "train_loss" if training else "valid_loss"]
        finite = math.isfinite(loss)
        if getattr(net, "distributed", False):
            flag = torch.tensor([finite], dtype=torch.int32, device=net.device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
            finite = bool(flag.item())
        if not finite:
            epoch, batch_index = _current_batch(net, training)
            raise ValueError(
                f"Training diverged: the {'training' if training else 'validation'} loss is "
                f"{loss} at epoch {epoch}, batch {batch_index}. Try a lower learning rate "
                f"(lr={net.lr}), check the input's scale (ECGs in millivolts, no huge or "
                "constant values), or raise the temperature."
            )

    def on_epoch_end(self, net, **kwargs):
        for name, weight in net.module_.named_parameters():
            if not torch.isfinite(weight).all():
                raise ValueError(
                    f"Training diverged: weight {name} is not finite after epoch "
                    f"{len(net.history)}. Try a lower learning rate (lr={net.lr}) or check "
                    "the input's scale."
                )


class TrainingCheckpoint(Callback):
    """Save the run after every epoch so a killed run resumes where it stopped.

    Each epoch writes the weights, the optimizer state, the history, the
    states of skorch ``LRScheduler`` callbacks and of the net's random
    generators into a new folder ``dirname/epoch-NNNN``, then points
    ``dirname/latest`` at it with an atomic rename: a process killed at any
    moment leaves the previous complete checkpoint in place. Only rank 0 of a
    distributed run writes. :meth:`restore` loads the latest checkpoint into
    an initialised net.

    It replaces skorch's ``Checkpoint`` + ``LoadInitState`` pair, which writes
    files one after the other in place (a kill in between leaves weights and
    optimizer of different epochs), silently starts over when a file is
    missing, does not save learning-rate schedules, and trains ``max_epochs``
    more epochs after loading rather than up to ``max_epochs``.

    Parameters
    ----------
    dirname : str or path-like
        Folder of the checkpoints, created when needed.
    meta : dict, default=None
        Description of the run (data shape, model size); resuming from a
        checkpoint with another description is refused.
    """

    def __init__(self, dirname, meta=None):
        self.dirname = Path(dirname)
        self.meta = meta

    def initialize(self):
        self.scheduler_states_ = {}
        self.saved_epochs_ = []
        return self

    def on_train_begin(self, net, **kwargs):
        for name, callback in net.callbacks_:
            state = self.scheduler_states_.pop(name, None)
            if state is not None and isinstance(callback, LRScheduler):
                callback.lr_scheduler_.load_state_dict(state)
                groups = net.optimizer_.param_groups
                for group, lr in zip(groups, callback.lr_scheduler_.get_last_lr(), strict=True):
                    group["lr"] = lr

    def on_epoch_end(self, net, **kwargs):
        if getattr(net, "rank", 0) == 0:
            self.save(net)
            self.saved_epochs_.append(len(net.history))

    def save(self, net) -> Path:
        """Write the net's state as the latest checkpoint and return its folder."""
        name = f"epoch-{len(net.history):04d}"
        partial = self.dirname / f".{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        module = net.module_
        if isinstance(module, DistributedDataParallel):
            module = module.module
        torch.save(module.state_dict(), partial / "params.pt")
        net.save_params(f_optimizer=partial / "optimizer.pt", f_history=partial / "history.json")
        schedulers = {
            name: callback.lr_scheduler_.state_dict()
            for name, callback in net.callbacks_
            if isinstance(callback, LRScheduler)
        }
        torch.save(schedulers, partial / "schedulers.pt")
        if hasattr(net, "generator_states"):
            torch.save(net.generator_states(), partial / "generators.pt")
        (partial / "meta.json").write_text(json.dumps(self.meta), encoding="utf-8")
        for file in partial.iterdir():
            fsync_file(file)
        final = self.dirname / name
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)
        pointer = self.dirname / ".latest.partial"
        pointer.write_text(name, encoding="utf-8")
        fsync_file(pointer)
        os.replace(pointer, self.dirname / "latest")
        for stale in self.dirname.glob("epoch-*"):
            if stale.name != name:
                shutil.rmtree(stale, ignore_errors=True)
        return final

    def latest(self) -> Path | None:
        """Folder of the latest complete checkpoint, or None when there is none."""
        pointer = self.dirname / "latest"
        if not pointer.is_file():
            return None
        folder = self.dirname / pointer.read_text(encoding="utf-8").strip()
        if not folder.is_dir():
            raise ValueError(
                f"{pointer} names {folder.name}, which is missing: the checkpoint folder was "
                f"edited by hand. Delete {self.dirname} to start over."
            )
        return folder

    def restore(self, net) -> int:
        """Load the latest checkpoint into ``net``; return the number of epochs it holds."""
        folder = self.latest()
        if folder is None:
            return 0
        saved = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if self.meta is not None and saved != self.meta:
            changed = sorted(k for k in self.meta if saved.get(k) != self.meta[k])
            raise ValueError(
                f"checkpoint_dir {self.dirname} holds a run with other {', '.join(changed)} "
                f"({', '.join(f'{k}={saved.get(k)!r}' for k in changed)}); pass the same data "
                "and model size to resume it, or another checkpoint_dir to start a new run."
            )
        try:
            net.load_params(
                f_params=folder / "params.pt",
                f_optimizer=folder / "optimizer.pt",
                f_history=folder / "history.json",
            )
            self.scheduler_states_ = torch.load(folder / "schedulers.pt")
            if hasattr(net, "load_generator_states"):
                net.load_generator_states(torch.load(folder / "generators.pt"))
        except (OSError, RuntimeError, ValueError, KeyError, EOFError, pickle.PickleError) as error:
            first_line = (str(error).splitlines() or [""])[0][:200]
            reason = f"{type(error).__name__}: {first_line}"
            raise ValueError(
                f"Could not load the checkpoint in {folder} ({reason}); it is damaged or not "
                f"written by sk3kg. Delete {self.dirname} to start over, or pass another "
                "checkpoint_dir."
            ) from error
        return len(net.history)


def restore_checkpoint(net) -> int:
    """Resume ``net`` from its :class:`TrainingCheckpoint`, if any; return epochs done."""
    for _, callback in net.callbacks_:
        if isinstance(callback, TrainingCheckpoint):
            return callback.restore(net)
    return 0


class TerminalPrintLog(PrintLog):
    """skorch's per-epoch table, coloured only when standard output is a terminal.

    skorch colours the best values with ANSI codes; written to a file or a
    pipe, those codes are noise (``\\x1b[36m0.5432\\x1b[0m``).
    """

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not _stdout_is_terminal():
            text = text.replace(color, "").replace(Ansi.ENDC.value, "")
        return text


def _stdout_is_terminal() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())
