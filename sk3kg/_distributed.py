"""Data-parallel training on ``torch.distributed``: process group, devices, negatives.

The embedder runs unchanged under ``torchrun`` (or ``accelerate launch``, which
sets the same environment): each process trains on its shard of the samples,
``DistributedDataParallel`` averages the gradients, and the projections of all
processes can be gathered so every process contrasts against the global batch.
"""

import atexit
import os
import sys
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

_LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def is_distributed() -> bool:
    """Whether a default process group of more than one process is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank_and_world_size() -> tuple[int, int]:
    """This process's rank and the number of processes, ``(0, 1)`` outside a group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


_EXIT_TIMEOUT = timedelta(seconds=60)
_exit = {"group": None, "failed": False}  # the group of the exit barrier; a failing process


def _note_failure(hook):
    """``sys.excepthook`` that first records that the process is failing."""

    def excepthook(*args):
        _exit["failed"] = True
        hook(*args)

    return excepthook


def _destroy_process_group() -> None:
    """At exit: wait for every process (a minute at most), then tear the group down.

    Without the barrier a process that finishes first closes its connections while
    the others still use theirs; gloo then aborted a process at exit ("terminate
    called without an active exception") after a run that had trained correctly.
    The barrier runs on a gloo group of its own, so it cannot meet a collective of
    training and its timeout holds; a process ending on an uncaught exception does
    not wait (the others are not coming, and the launcher stops them once it exits).
    """
    if not dist.is_initialized():
        return
    try:
        if not _exit["failed"]:
            dist.monitored_barrier(group=_exit["group"], timeout=_EXIT_TIMEOUT)
    except RuntimeError:
        pass  # another process is gone or stuck: nothing left to wait for
    finally:
        dist.destroy_process_group()


def join_process_group(required: bool) -> bool:
    """Join the launcher's process group when ``torchrun`` started this process.

    Uses an already initialised default group; otherwise initialises one from
    the launcher's environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
    ``MASTER_PORT``) with gloo for CPU tensors and NCCL for CUDA tensors.
    Returns whether training is distributed.
    """
    if is_distributed():
        return True
    launched = all(name in os.environ for name in _LAUNCHER_VARIABLES)
    if launched and int(os.environ["WORLD_SIZE"]) > 1 and not dist.is_initialized():
        dist.init_process_group()
        _exit["group"] = dist.new_group(backend="gloo")
        atexit.register(_destroy_process_group)
        sys.excepthook = _note_failure(sys.excepthook)
        return True
    if required:
        raise ValueError(
            "distributed=True but this process is not part of a process group: start it "
            "with torchrun (torchrun --nproc_per_node N script.py) or call "
            "torch.distributed.init_process_group() before fit."
        )
    return False


def resolve_device(device: str) -> str:
    """The torch device of an estimator's ``device``: ``"auto"`` is CUDA when available."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def local_device(device: str) -> str:
    """The device of this process: ``cuda`` becomes ``cuda:LOCAL_RANK`` under a launcher."""
    if device != "cuda" or not is_distributed():
        return device
    local_rank = int(os.environ.get("LOCAL_RANK", dist.get_rank() % torch.cuda.device_count()))
    torch.cuda.set_device(local_rank)
    return f"cuda:{local_rank}"


def wrap_data_parallel(module: torch.nn.Module) -> DistributedDataParallel:
    """Wrap ``module`` so backward all-reduces its gradients (rank 0's weights broadcast first)."""
    device = next(module.parameters()).device
    device_ids = [device] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids)


def broadcast_buffers(module: torch.nn.Module) -> None:
    """Copy rank 0's buffers (batch-norm running statistics) to every process."""
    for buffer in module.buffers():
        dist.broadcast(buffer, src=0)


class _AllGather(torch.autograd.Function):
    """``all_gather`` whose backward hands each process the gradient of its own part.

    Every process computes the loss on the gathered tensor, so the gradients of
    all processes are summed (``all_reduce``) before slicing; only public
    collectives are used, so it runs on gloo as on NCCL.
    """

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, tensor.contiguous())
        return torch.stack(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad[dist.get_rank()]


def gather_views(
    projections: torch.Tensor, groups: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Projections and group codes of all processes, in NT-Xent's two-view layout.

    ``projections`` stacks the first then the second views of this process's
    ``n`` samples; the result stacks the first views of all processes, then
    their second views, so every process contrasts against the global batch.
    Processes may hold batches of different sizes (the group-aware batches do):
    each is padded to the largest for the collective, and the padding dropped.
    """
    n = projections.shape[0] // 2
    world_size = dist.get_world_size()
    sizes = [torch.zeros(1, dtype=torch.long, device=groups.device) for _ in range(world_size)]
    dist.all_gather(sizes, torch.tensor([n], dtype=torch.long, device=groups.device))
    sizes = [int(size) for size in sizes]
    padding = max(sizes) - n
    views = F.pad(projections.reshape(2, n, -1), (0, 0, 0, padding))
    gathered = _AllGather.apply(views)  # (world, 2, largest n, dim)
    parts = [gathered[rank, :, :size] for rank, size in enumerate(sizes)]
    projections = torch.cat(parts, dim=1).reshape(-1, gathered.shape[-1])
    padded_groups = F.pad(groups, (0, padding), value=-1)
    group_parts = [torch.empty_like(padded_groups) for _ in range(world_size)]
    dist.all_gather(group_parts, padded_groups.contiguous())
    return projections, torch.cat([part[:size] for part, size in zip(group_parts, sizes,
                                                                      strict=True)])  # fmt: skip
