"""Run a trained module over ECGs a batch at a time, as every estimator's output does."""

import numpy as np
import torch
from skorch.dataset import unpack_data


def forward_in_batches(net, module: torch.nn.Module, dataset, n_outputs: int) -> np.ndarray:
    """Apply ``module`` in eval mode to every sample of ``dataset``; return float32 rows.

    Parameters
    ----------
    net : ContrastiveNet or FineTuneNet
        Supplies the batches (``get_iterator``), the device and the precision
        (``autocast``).
    module : torch.nn.Module
        Maps ``(batch, n_leads, n_timepoints)`` to ``(batch, n_outputs)``; its
        training flag is restored afterwards.
    dataset : torch.utils.data.Dataset
        The samples, e.g. a :class:`~sk3kg._data.SignalDataset`.
    n_outputs : int
        Columns of the result.

    Returns
    -------
    outputs : ndarray of shape (len(dataset), n_outputs)
        The module's outputs, in float32 whatever precision it computed in.
    """
    was_training = module.training
    module.eval()
    outputs = np.empty((len(dataset), n_outputs), dtype=np.float32)
    start = 0
    try:
        with torch.inference_mode(), net.autocast():
            for batch in net.get_iterator(dataset, training=False):
                x = torch.as_tensor(unpack_data(batch)[0], device=net.device)
                chunk = module(x).float().cpu().numpy()
                outputs[start : start + len(chunk)] = chunk
                start += len(chunk)
    finally:
        module.train(was_training)
    return outputs
