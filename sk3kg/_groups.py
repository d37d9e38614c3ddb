"""Batches that keep the members of a group together, so they meet as positives."""

import warnings

import numpy as np
from sklearn.model_selection import GroupShuffleSplit
from torch.utils.data import Sampler, Subset


def warn_small_groups(codes: np.ndarray, group_size: int, names=None) -> None:
    """Warn, naming them, of groups with fewer than ``group_size`` members.

    Such a group forms one chunk of its own members: a group of one has no positive
    but its sample's own two views.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Integer group code of each sample, ``0 .. n_groups - 1``.
    group_size : int
        Members the batches keep together.
    names : ndarray of shape (n_groups,), default=None
        The user's group ids, by code, for the message.
    """
    counts = np.bincount(codes)
    small = np.flatnonzero(counts < group_size)
    if len(small):
        shown = names[small[:3]] if names is not None else small[:3]
        named = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in shown)
        warnings.warn(
            f"{len(small)} of {len(counts)} groups have fewer than group_size={group_size} "
            f"members (e.g. {named}, with {counts[small[0]]}): their samples meet only the "
            "members they have, and a group of one no positive but its own two views. Merge "
            "such groups if their samples belong together, or lower group_size.",
            UserWarning,
            stacklevel=3,
        )


def _chunks(codes: np.ndarray, group_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Each group's members, shuffled and cut into chunks of ``group_size`` to ``2k - 1``
    (a group smaller than ``group_size``: one chunk of all its members)."""
    order = rng.permutation(len(codes))
    order = order[np.argsort(codes[order], kind="stable")]  # shuffled within each group
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, np.diff(sorted_codes) != 0])
    counts = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, counts)  # position within the group
    per_group = np.maximum(counts // group_size, 1)
    # The remainder joins the group's last chunk.
    chunk = np.minimum(rank // group_size, np.repeat(per_group - 1, counts))
    chunk += np.repeat(np.cumsum(per_group) - per_group, counts)
    return np.split(order, np.flatnonzero(np.diff(chunk)) + 1)


class GroupBatchSampler(Sampler):
    """Batches of whole chunks of groups: every sample meets ``group_size - 1`` of its group.

    Each epoch, the members of every group are shuffled and cut into chunks of
    ``group_size`` members (a remainder joins the other chunks, so a chunk has
    ``group_size`` to ``2 * group_size - 1``; a smaller group is one chunk); the
    chunks are shuffled and packed into batches of at most ``batch_size``
    samples, never splitting a chunk. Every sample is seen once per epoch, and in
    its batch are at least ``group_size - 1`` other members of its group (all of
    them, in a smaller group): the positives of a contrastive loss keyed on
    groups (P groups x K members per batch, as in metric learning). Under data
    parallelism each of ``num_replicas`` processes takes every
    ``num_replicas``-th batch of the same shuffled list (the list is padded by
    repeating it cyclically so that all processes get as many).

    Parameters
    ----------
    groups : array-like of shape (n_samples,)
        Group id of each sample (any hashable values numpy can sort).
    batch_size : int
        Most samples per batch; at least ``2 * group_size - 1``.
    group_size : int, default=2
        Members of a group kept together.
    seed : int, default=0
        With the epoch (:meth:`set_epoch`), seeds the shuffles: the same seed and
        epoch give the same batches on every process.
    num_replicas : int, default=1
        Processes that share the epoch.
    rank : int, default=0
        This process's index among them.

    See Also
    --------
    sk3kg.ThreeKGEmbedder : Uses it when ``fit`` gets ``groups`` and ``group_size > 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg import GroupBatchSampler
    >>> groups = np.repeat(np.arange(50), 2)  # 50 records cut in 2 segments
    >>> batches = list(GroupBatchSampler(groups, batch_size=16, seed=0))
    >>> len(batches), sum(len(b) for b in batches)  # every sample once
    (7, 100)
    >>> all(np.bincount(groups[b])[groups[b]].min() == 2 for b in batches)
    True
    """

    def __init__(self, groups, batch_size, group_size=2, seed=0, num_replicas=1, rank=0):
        self.codes = np.unique(np.asarray(groups), return_inverse=True)[1].reshape(-1)
        self.batch_size, self.group_size = int(batch_size), int(group_size)
        self.seed, self.num_replicas, self.rank = seed, num_replicas, rank
        self.epoch = 0
        if self.batch_size < 2 * self.group_size - 1:
            raise ValueError(
                f"batch_size={batch_size} cannot hold a chunk of up to "
                f"{2 * self.group_size - 1} members of one group (group_size={group_size}); "
                f"use batch_size >= {2 * self.group_size - 1}."
            )

    def set_epoch(self, epoch: int) -> None:
        """Draw the next epoch's batches from ``(seed, epoch)``.

        Parameters
        ----------
        epoch : int
            The epoch about to start.
        """
        self.epoch = epoch

    def _batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        chunks = _chunks(self.codes, self.group_size, rng)
        batches, current, size = [], [], 0
        for index in rng.permutation(len(chunks)):
            chunk = chunks[index]
            if size + len(chunk) > self.batch_size:
                batches.append(np.concatenate(current))
                current, size = [], 0
            current.append(chunk)
            size += len(chunk)
        batches.append(np.concatenate(current))
        padded = -(-len(batches) // self.num_replicas) * self.num_replicas
        batches = [batches[i % len(batches)] for i in range(padded)]
        return batches[self.rank :: self.num_replicas]

    def __iter__(self):
        for batch in self._batches():
            yield batch.tolist()

    def __len__(self) -> int:
        return len(self._batches())


def within_batch_partners(batches, groups) -> float:
    """Share of samples whose batch holds another member of their group.

    Parameters
    ----------
    batches : iterable of array-like of int
        Sample indices of each batch.
    groups : array-like of shape (n_samples,)
        Group code of each sample.

    Returns
    -------
    share : float
        In [0, 1]; 1 when every sample has a positive from its group in its batch.
    """
    groups = np.asarray(groups)
    met = total = 0
    for batch in batches:
        codes = np.unique(groups[np.asarray(batch)], return_inverse=True)[1]
        met += int((np.bincount(codes)[codes] > 1).sum())
        total += len(codes)
    return met / max(total, 1)


def group_codes(dataset) -> np.ndarray:
    """The group codes of a dataset's samples (of the subset of one a split took)."""
    if isinstance(dataset, Subset):
        return group_codes(dataset.dataset)[np.asarray(dataset.indices)]
    # A SignalDataset's codes; skorch's Dataset (``net.fit(X, groups)``) holds them as y.
    codes = getattr(dataset, "codes", getattr(dataset, "y", None))
    return np.arange(len(dataset)) if codes is None else np.asarray(codes)


class GroupValidSplit:
    """skorch's ``train_split`` that holds out whole groups, so none straddles the split.

    Parameters
    ----------
    fraction : float
        Share of the groups held out for validation.
    random_state : int
        Seeds the split: every process and every resumed run holds out the same groups.
    """

    def __init__(self, fraction: float, random_state: int) -> None:
        self.fraction, self.random_state = fraction, random_state

    def __call__(self, dataset, y=None, **fit_params) -> tuple[Subset, Subset]:
        codes = group_codes(dataset)
        splitter = GroupShuffleSplit(1, test_size=self.fraction, random_state=self.random_state)
        train, valid = next(splitter.split(np.zeros(len(codes)), groups=codes))
        return Subset(dataset, train), Subset(dataset, valid)
