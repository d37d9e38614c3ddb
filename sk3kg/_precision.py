"""Mixed precision: the ``precision`` parameter, resolved per device, and the nets' autocast.

The encoder's convolutions run in the chosen precision under ``torch.autocast``;
everything that low precision would hurt stays in float32: the weights and the
optimizer state (autocast casts copies, never the parameters), the batch-norm
statistics (buffers of the float32 module), the views' lead transforms (the
augmentation runs before autocast), and the loss, whose inputs ``infer`` casts
back to float32 so the NT-Xent similarities and log-sum-exp are float32 sums.
"""

import contextlib
import sys
import warnings
from pathlib import Path

import torch
from skorch.utils import TeeGenerator

#: The values of ``precision``: float32, bfloat16, float16 (CUDA), or the fastest safe one.
PRECISIONS = ("auto", "32", "bf16", "16")

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "16": torch.float16}
_RESOLVED = ("32", "bf16", "16")
# CPU flags of native bfloat16 arithmetic (x86 AVX-512 BF16 and AMX, Arm BF16).
_CPU_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}
_CPUINFO = Path("/proc/cpuinfo")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (read from ``/proc/cpuinfo`` on Linux)."""
    if not sys.platform.startswith("linux") or not _CPUINFO.exists():
        return False
    for line in _CPUINFO.read_text(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return bool(_CPU_BF16_FLAGS & set(value.split()))
    return False


def resolve_precision(precision: str, device) -> str:
    """The precision a net computes in on ``device``: ``"32"``, ``"bf16"`` or ``"16"``.

    Parameters
    ----------
    precision : {"auto", "32", "bf16", "16"}
        ``"auto"`` picks ``"bf16"`` where the hardware runs it natively (a CUDA
        GPU with bfloat16 support, a CPU with AVX-512 BF16, AMX or Arm BF16)
        and ``"32"`` elsewhere. ``"bf16"`` on a CPU without native bfloat16
        warns: it is emulated, many times slower than float32.
    device : str or torch.device
        Where the net runs.

    Returns
    -------
    precision : {"32", "bf16", "16"}
        The resolved precision.

    Examples
    --------
    >>> from sk3kg._precision import resolve_precision
    >>> resolve_precision("32", "cpu")
    '32'
    >>> resolve_precision("16", "cpu")
    Traceback (most recent call last):
    ...
    ValueError: precision="16" (float16 with a gradient scaler) runs on CUDA only; ...
    """
    device_type = torch.device(device).type
    if precision == "16" and device_type != "cuda":
        raise ValueError(
            f'precision="16" (float16 with a gradient scaler) runs on CUDA only; on the '
            f'{device_type} device use precision="bf16" (bfloat16 needs no scaler) or "32".'
        )
    if precision == "bf16" and device_type == "cpu" and not cpu_has_native_bf16():
        warnings.warn(
            'precision="bf16" on a CPU without native bfloat16 (no AVX-512 BF16, AMX or Arm '
            "BF16): torch emulates it, and training ran 14x slower than in float32 on an AMD "
            'EPYC (Zen 3). Pass precision="auto" (bfloat16 where native, float32 elsewhere) '
            'or "32".',
            UserWarning,
            stacklevel=3,
        )
    if precision != "auto":
        return precision
    if device_type == "cuda":
        # Native bfloat16 from Ampere (compute capability 8) on; older GPUs emulate it slowly.
        major, _ = torch.cuda.get_device_capability(torch.device(device))
        return "bf16" if major >= 8 else "32"
    return "bf16" if device_type == "cpu" and cpu_has_native_bf16() else "32"


class MixedPrecisionMixin:
    """Mixin class for sk3kg's skorch nets: forward passes in ``precision``, losses in float32.

    The net must set the attribute ``precision`` (resolved, ``"32"``,
    ``"bf16"`` or ``"16"``) before ``initialize``. ``infer`` runs the module
    under ``torch.autocast`` and returns float32; ``backward`` scales the loss
    under float16 (``grad_scaler_``, a ``torch.amp.GradScaler``), and
    ``train_step`` then unscales the gradients before the ``on_grad_computed``
    callbacks (gradient clipping sees true gradients) and steps through the
    scaler, which skips steps whose gradients overflowed.
    """

    def initialize(self):
        """Initialise the net and, under float16, its gradient scaler.

        Returns
        -------
        self : skorch.NeuralNet
            The initialised net.
        """
        if self.precision not in _RESOLVED:
            raise ValueError(
                f"precision={self.precision!r} is not one of {_RESOLVED}; resolve 'auto' with "
                "resolve_precision before building the net."
            )
        super().initialize()
        self.grad_scaler_ = torch.amp.GradScaler("cuda") if self.precision == "16" else None
        return self

    def autocast(self):
        """The context in which forward passes run in the net's precision.

        Returns
        -------
        context : torch.autocast or contextlib.nullcontext
            Autocast to bfloat16 or float16; nothing under ``"32"``.
        """
        if self.precision == "32":
            return contextlib.nullcontext()
        device_type = torch.device(self.device).type
        return torch.autocast(device_type, dtype=_AUTOCAST_DTYPES[self.precision])

    def infer(self, x, **fit_params):
        """Run the module on ``x`` in the net's precision; return float32.

        Parameters
        ----------
        x : torch.Tensor or array-like
            The batch.
        **fit_params
            Passed to the module.

        Returns
        -------
        output : torch.Tensor
            The module's output, cast to float32 for the loss.
        """
        with self.autocast():
            return super().infer(x, **fit_params).float()

    def backward(self, loss: torch.Tensor) -> None:
        """Back-propagate ``loss``, scaled under float16.

        Parameters
        ----------
        loss : torch.Tensor of shape ()
            The batch's loss.
        """
        if self.grad_scaler_ is not None:
            loss = self.grad_scaler_.scale(loss)
        loss.backward()

    def train_step(self, batch, **fit_params):
        """One optimisation step; under float16, through the gradient scaler.

        Parameters
        ----------
        batch : tuple
            A batch of the training DataLoader.
        **fit_params
            Passed to ``train_step_single``.

        Returns
        -------
        step : dict
            ``"loss"`` and ``"y_pred"`` of the batch.
        """
        if self.grad_scaler_ is None:
            return super().train_step(batch, **fit_params)
        self.optimizer_.zero_grad()
        step = self.train_step_single(batch, **fit_params)
        self.grad_scaler_.unscale_(self.optimizer_)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        self.grad_scaler_.step(self.optimizer_)
        self.grad_scaler_.update()
        return step
