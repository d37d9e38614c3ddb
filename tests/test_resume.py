"""A pretraining run killed at any point resumes from its last checkpoint, as if never stopped."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from skorch.callbacks import LRScheduler

from sk3kg import ThreeKGEmbedder
from sk3kg.vcg import vcg_to_ecg

from .conftest import smooth_vcg

SMALL = {"width": 4, "depth": 1, "max_epochs": 2, "batch_size": 8, "random_state": 0}

# Trains 6 epochs with a step learning-rate schedule; argv: data, checkpoint_dir
# ("" for none), output prefix, seconds to sleep after each batch (to be killable).
TRAIN_SCRIPT = """
import json, sys, time
import numpy as np, torch
from skorch.callbacks import Callback, LRScheduler
from sk3kg import ThreeKGEmbedder

torch.set_num_threads(1)
data, checkpoint_dir, out, pause = sys.argv[1], sys.argv[2] or None, sys.argv[3], sys.argv[4]

class Pause(Callback):
    def initialize(self):
        self.epochs_run = 0
        return self

    def on_batch_end(self, net, **kwargs):
        time.sleep(float(pause))

    def on_epoch_end(self, net, **kwargs):
        self.epochs_run += 1

schedule = LRScheduler("StepLR", step_size=2, gamma=0.5)
embedder = ThreeKGEmbedder(
    width=4, depth=1, max_epochs=6, batch_size=8, lr=1e-2, random_state=0,
    checkpoint_dir=checkpoint_dir, callbacks=[schedule, Pause()],
)
embedder.fit(np.load(data, mmap_mode="r"))
net = embedder.net_
torch.save({"params": net.module_.state_dict(), "optimizer": net.optimizer_.state_dict()},
           out + ".pt")
history = {key: net.history[:, key] for key in ("epoch", "event_lr", "train_loss")}
history["epochs_run"] = dict(net.callbacks_)["Pause"].epochs_run
with open(out + ".json", "w") as file:
    json.dump(history, file)
"""


@pytest.fixture
def ecgs(rng):
    return vcg_to_ecg(smooth_vcg(rng, 32, 128)).astype(np.float32)


def _start(tmp_path, checkpoint_dir, out, pause):
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT, encoding="utf-8")
    args = [sys.executable, str(script), str(tmp_path / "ecgs.npy"), checkpoint_dir, out, pause]
    return subprocess.Popen(args, stderr=subprocess.PIPE, text=True)


def _finish(process, timeout=120):
    try:
        _, stderr = process.communicate(timeout=timeout)
    finally:
        process.kill()
    assert process.returncode == 0, stderr


def _kill_after_checkpoint(process, checkpoint_dir, epoch, timeout=120):
    """SIGKILL ``process`` in the epoch after checkpoint ``epoch``; return the last saved."""
    pointer, deadline = checkpoint_dir / "latest", time.monotonic() + timeout
    try:
        while not (pointer.is_file() and pointer.read_text() >= f"epoch-{epoch:04d}"):
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        time.sleep(0.1)  # into the next epoch, between two checkpoints
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    return int(pointer.read_text().removeprefix("epoch-"))


def _assert_same_state(resumed, reference):
    for name, tensor in reference["params"].items():
        assert torch.equal(resumed["params"][name], tensor), name
    for key, state in reference["optimizer"]["state"].items():
        for name, tensor in state.items():
            assert torch.equal(resumed["optimizer"]["state"][key][name], tensor), name
    assert resumed["optimizer"]["param_groups"] == reference["optimizer"]["param_groups"]


def test_a_killed_run_resumes_its_epochs_optimizer_and_schedule(ecgs, tmp_path):
    np.save(tmp_path / "ecgs.npy", ecgs)
    checkpoint_dir = tmp_path / "run"
    reference = _start(tmp_path, "", str(tmp_path / "reference"), "0")
    killed = _start(tmp_path, str(checkpoint_dir), str(tmp_path / "killed"), "0.05")
    saved = _kill_after_checkpoint(killed, checkpoint_dir, epoch=2)
    assert 2 <= saved < 6 and not (tmp_path / "killed.json").exists()
    _finish(_start(tmp_path, str(checkpoint_dir), str(tmp_path / "resumed"), "0"))
    _finish(reference)

    resumed = json.loads((tmp_path / "resumed.json").read_text())
    expected = json.loads((tmp_path / "reference.json").read_text())
    assert resumed["epoch"] == [1, 2, 3, 4, 5, 6]
    assert resumed["epochs_run"] == 6 - saved
    assert resumed["event_lr"] == expected["event_lr"] == [1e-2, 1e-2, 5e-3, 5e-3, 2.5e-3, 2.5e-3]
    assert resumed["train_loss"] == expected["train_loss"]
    _assert_same_state(torch.load(tmp_path / "resumed.pt"), torch.load(tmp_path / "reference.pt"))


def test_raising_max_epochs_continues_a_finished_run(ecgs, tmp_path):
    schedule = LRScheduler("StepLR", step_size=1, gamma=0.5)
    params = {**SMALL, "checkpoint_dir": tmp_path / "run", "callbacks": [schedule]}
    ThreeKGEmbedder(**params).fit(ecgs)
    continued = ThreeKGEmbedder(**{**params, "max_epochs": 3}).fit(ecgs)
    straight = ThreeKGEmbedder(**{**SMALL, "max_epochs": 3, "callbacks": [schedule]}).fit(ecgs)
    assert continued.history_[:, "epoch"] == [1, 2, 3]
    assert continued.history_[:, "event_lr"] == straight.history_[:, "event_lr"]
    np.testing.assert_array_equal(continued.transform(ecgs), straight.transform(ecgs))


def test_a_finished_run_is_loaded_not_trained_again(ecgs, tmp_path):
    params = {**SMALL, "checkpoint_dir": str(tmp_path / "run")}
    first = ThreeKGEmbedder(**params).fit(ecgs)
    again = ThreeKGEmbedder(**params).fit(ecgs)
    assert again.history_[:, "dur"] == first.history_[:, "dur"]
    np.testing.assert_array_equal(again.transform(ecgs), first.transform(ecgs))


def test_a_half_written_checkpoint_is_ignored(ecgs, tmp_path):
    run = tmp_path / "run"
    first = ThreeKGEmbedder(**{**SMALL, "checkpoint_dir": run}).fit(ecgs)
    (run / ".epoch-0003.partial").mkdir()
    (run / ".epoch-0003.partial" / "params.pt").write_bytes(b"\x00" * 10)
    (run / "epoch-0003").mkdir()
    again = ThreeKGEmbedder(**{**SMALL, "checkpoint_dir": run}).fit(ecgs)
    np.testing.assert_array_equal(again.transform(ecgs), first.transform(ecgs))


def test_a_corrupt_checkpoint_is_refused_saying_what_to_do(ecgs, tmp_path):
    run = tmp_path / "run"
    ThreeKGEmbedder(**{**SMALL, "checkpoint_dir": run}).fit(ecgs)
    (run / "epoch-0002" / "params.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"Could not load the checkpoint .* Delete .* to start"):
        ThreeKGEmbedder(**{**SMALL, "checkpoint_dir": run}).fit(ecgs)


@pytest.mark.parametrize(
    ("change", "named"),
    [({"X": slice(0, 24)}, "n_samples=32"), ({"width": 8}, "width=4")],
    ids=["other-data", "other-model"],
)
def test_a_checkpoint_of_another_run_is_refused(ecgs, tmp_path, change, named):
    params = {**SMALL, "checkpoint_dir": os.fspath(tmp_path / "run")}
    ThreeKGEmbedder(**params).fit(ecgs)
    other = ThreeKGEmbedder(**{**params, **{k: v for k, v in change.items() if k != "X"}})
    with pytest.raises(ValueError, match=f"holds a run with other .*{named}"):
        other.fit(ecgs[change.get("X", slice(None))])
