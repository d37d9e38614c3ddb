"""Seeds: one integer per fit, derived seeds per epoch and process, weights drawn from a seed."""

import contextlib
import threading

import numpy as np
import torch
from sklearn.utils import check_random_state

# Weights are initialised from torch's global generator, forked and reseeded; the
# lock keeps two fits in threads of one process (e.g. joblib's threading or Dask
# backends) from reseeding it under each other.
_GLOBAL_RNG = threading.Lock()


@contextlib.contextmanager
def seeded_weights(seed: int):
    """Draw weights from torch's global generator seeded with ``seed``, leaving it as it was."""
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def derived_seed(*entropy: int) -> int:
    """A seed for one (run, epoch, process): a resumed run draws as the original."""
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])


def draw_seed(random_state) -> int:
    """The integer seed of one fit, drawn from an estimator's ``random_state``."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
