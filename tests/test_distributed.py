"""The same ThreeKGEmbedder code trains data-parallel under torchrun (2 gloo processes)."""

import json
import os
import subprocess
import sys
import time

import joblib
import numpy as np
import pytest
import torch
import torch.distributed as dist

from sk3kg.vcg import vcg_to_ecg

from .conftest import smooth_vcg

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="needs torch.distributed gloo"
)

# Plain user code: nothing in it knows about the process group torchrun set up.
RANK_SCRIPT = """
import json, os, sys
import joblib, numpy as np, torch
from sk3kg import ThreeKGEmbedder

torch.set_num_threads(1)
data, out = sys.argv[1], sys.argv[2]
X = np.load(data, mmap_mode="r")
embedder = ThreeKGEmbedder(
    width=4, depth=1, max_epochs=2, batch_size=6, random_state=0,
    checkpoint_dir=os.path.join(out, "run"), verbose=1,
).fit(X)
rank = torch.distributed.get_rank()
net = embedder.net_
torch.save(net.module_.state_dict(), os.path.join(out, f"weights{rank}.pt"))
report = {
    "world_size": torch.distributed.get_world_size(),
    "train_loss": net.history[:, "train_loss"],
    "batches": net.history[:, "train_batch_count"],
    "checkpoints": dict(net.callbacks_)["TrainingCheckpoint"].saved_epochs_,
}
with open(os.path.join(out, f"report{rank}.json"), "w") as file:
    json.dump(report, file)
if rank == 0:
    joblib.dump(embedder, os.path.join(out, "embedder.joblib"))
    np.save(os.path.join(out, "embeddings.npy"), embedder.transform(X))
"""


# Groups of 3 samples, fitted on two processes: each rank writes the samples of its batches.
GROUPED_SCRIPT = """
import json, os, sys
import numpy as np, torch
from skorch.callbacks import Callback
from sk3kg import ThreeKGEmbedder

class Batches(Callback):
    def initialize(self):
        self.seen = []
        return self
    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.seen.append(np.asarray(batch[1]).tolist())

torch.set_num_threads(1)
data, out = sys.argv[1], sys.argv[2]
X = np.load(data)
groups = np.arange(len(X)) // 3
embedder = ThreeKGEmbedder(
    width=4, depth=1, max_epochs=2, batch_size=6, random_state=0, callbacks=[Batches()],
).fit(X, groups=groups)
rank = torch.distributed.get_rank()
batches = dict(embedder.net_.callbacks_)["Batches"].seen
torch.save(embedder.net_.module_.state_dict(), os.path.join(out, f"weights{rank}.pt"))
with open(os.path.join(out, f"batches{rank}.json"), "w") as file:
    json.dump(batches, file)
"""


# Rank 1 lingers after training, or fails in the middle of it; each rank notes when it left.
EXIT_SCRIPT = """
import atexit, os, sys, time
import numpy as np, torch
from skorch.callbacks import Callback
from sk3kg import ThreeKGEmbedder

class FailOnRankOne(Callback):
    def on_epoch_begin(self, net, **kwargs):
        if rank == "1" and mode == "fail" and len(net.history) == 2:
            raise RuntimeError("rank 1 fails in training")

torch.set_num_threads(1)
data, out, mode = sys.argv[1], sys.argv[2], os.environ["EXIT_MODE"]
rank = os.environ["RANK"]
# Registered before fit, so it runs after sk3kg's own exit handler.
atexit.register(lambda: open(os.path.join(out, f"left{rank}"), "w").write(str(time.time())))
ThreeKGEmbedder(width=4, depth=1, max_epochs=3, batch_size=6, random_state=0,
                callbacks=[FailOnRankOne()]).fit(np.load(data))
if rank == "1":
    time.sleep(3)
    open(os.path.join(out, "done1"), "w").write(str(time.time()))
"""


def _torchrun(tmp_path, n_processes: int, script_text: str = RANK_SCRIPT, **env):
    script = tmp_path / "pretrain.py"
    script.write_text(script_text, encoding="utf-8")
    command = [
        *(sys.executable, "-m", "torch.distributed.run", "--standalone"),
        *("--nproc-per-node", str(n_processes)),
        *(str(script), str(tmp_path / "ecgs.npy"), str(tmp_path)),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    if sys.platform.startswith("linux"):
        env["GLOO_SOCKET_IFNAME"] = "lo"  # keep gloo's traffic on loopback
    # A new session, so a timeout can kill torchrun and both workers together.
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        _kill_session(process.pid)
        stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _kill_session(session: int) -> None:
    """Kill every process of a session: torchrun's workers have process groups of their
    own, and while one lives the pipes stay open."""
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.getsid(int(entry)) == session:
                os.kill(int(entry), 9)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ddp")
    ecgs = vcg_to_ecg(smooth_vcg(np.random.default_rng(0), 27, 128)).astype(np.float32)
    np.save(tmp_path / "ecgs.npy", ecgs)
    result = _torchrun(tmp_path, n_processes=2)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = [json.loads((tmp_path / f"report{r}.json").read_text()) for r in range(2)]
    return tmp_path, ecgs, result, reports


@pytest.fixture(scope="module")
def grouped_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ddp-groups")
    ecgs = vcg_to_ecg(smooth_vcg(np.random.default_rng(0), 27, 128)).astype(np.float32)
    np.save(tmp_path / "ecgs.npy", ecgs)
    result = _torchrun(tmp_path, n_processes=2, script_text=GROUPED_SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    batches = [json.loads((tmp_path / f"batches{r}.json").read_text()) for r in range(2)]
    return tmp_path, batches


def test_two_processes_train_on_half_the_samples_each(two_process_run):
    _, _, _, reports = two_process_run
    assert [r["world_size"] for r in reports] == [2, 2]
    # 27 samples: 14 per process (one padded), batches of 6 -> 3 batches, not 5.
    assert [r["batches"] for r in reports] == [[3, 3], [3, 3]]


def test_ranks_end_with_identical_weights(two_process_run):
    tmp_path = two_process_run[0]
    weights = [torch.load(tmp_path / f"weights{r}.pt") for r in range(2)]
    assert weights[0].keys() == weights[1].keys()
    for name, tensor in weights[0].items():
        assert torch.equal(tensor, weights[1][name]), name


def test_gathered_negatives_give_every_rank_the_global_loss(two_process_run):
    reports = two_process_run[3]
    assert reports[0]["train_loss"] == reports[1]["train_loss"]
    assert all(np.isfinite(reports[0]["train_loss"]))


def test_only_rank_zero_writes_checkpoints_and_logs(two_process_run):
    tmp_path, _, result, reports = two_process_run
    assert [r["checkpoints"] for r in reports] == [[1, 2], []]
    assert (tmp_path / "run" / "latest").read_text() == "epoch-0002"
    assert result.stdout.count("train_loss") == 1  # one epoch table, printed by rank 0


def test_the_distributed_result_loads_and_embeds_in_one_process(two_process_run):
    tmp_path, ecgs, _, _ = two_process_run
    embedder = joblib.load(tmp_path / "embedder.joblib")
    assert not dist.is_initialized()
    np.testing.assert_array_equal(embedder.transform(ecgs), np.load(tmp_path / "embeddings.npy"))


def test_grouped_batches_keep_groups_together_on_every_rank(grouped_run):
    """The group-aware sampler under torchrun: each rank's batches hold whole group chunks,
    the ranks share every epoch's samples and run as many batches."""
    _, batches = grouped_run
    assert len(batches[0]) == len(batches[1])
    for rank in batches:
        for codes in rank:
            assert np.bincount(codes)[codes].min() >= 2, codes
    first_epoch = [code for rank in batches for codes in rank[: len(rank) // 2] for code in codes]
    # Every group's 3 members in the epoch (the padding repeats one batch of 6 at most).
    assert set(first_epoch) == set(range(9)) and 27 <= len(first_epoch) <= 33
    assert min(np.bincount(first_epoch)) == 3


def test_grouped_ranks_end_with_identical_weights(grouped_run):
    tmp_path = grouped_run[0]
    weights = [torch.load(tmp_path / f"weights{r}.pt") for r in range(2)]
    for name, tensor in weights[0].items():
        assert torch.equal(tensor, weights[1][name]), name


def test_at_exit_every_rank_waits_for_the_others(tmp_path):
    """Rank 0 leaves only after rank 1 has finished: no process closes its connections
    while another still uses them (gloo aborted such a process at exit)."""
    np.save(tmp_path / "ecgs.npy", vcg_to_ecg(smooth_vcg(np.random.default_rng(0), 12, 128)))
    result = _torchrun(tmp_path, n_processes=2, script_text=EXIT_SCRIPT, EXIT_MODE="linger")
    assert result.returncode == 0, result.stderr[-3000:]
    left = float((tmp_path / "left0").read_text())
    assert left >= float((tmp_path / "done1").read_text())


def test_a_failing_rank_does_not_leave_the_others_waiting(tmp_path):
    np.save(tmp_path / "ecgs.npy", vcg_to_ecg(smooth_vcg(np.random.default_rng(0), 12, 128)))
    start = time.monotonic()
    result = _torchrun(tmp_path, n_processes=2, script_text=EXIT_SCRIPT, EXIT_MODE="fail")
    assert result.returncode != 0
    assert "rank 1 fails in training" in result.stderr
    # Rank 0 waits in a training collective; a failing rank 1 waiting at the exit
    # barrier would hold the run for the barrier's minute.
    assert time.monotonic() - start < 40
