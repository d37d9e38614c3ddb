"""Signals read a batch at a time: in-memory arrays, memory-mapped files, torch Datasets.

The embedder feeds every input through :class:`SignalDataset`, so an 8 GB
memory-mapped array or a user's ``torch.utils.data.Dataset`` trains and embeds
with the memory of a few batches. Values are checked batch by batch as they
are read, not by a pass over the whole input.
"""

import mmap
import os
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

_REAL_KINDS = "biuf"


def _refuse_dtype(dtype: np.dtype, what: str) -> None:
    if dtype.kind == "c":
        raise ValueError(
            f"{what} holds complex values ({dtype}); pass real-valued signals (float32)."
        )
    if dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{what} must hold numbers, got dtype {dtype}; pass float32 signals.")


def _to_float32(array: np.ndarray) -> np.ndarray:
    # Values beyond float32's range become inf, which check_finite_batch reports.
    with np.errstate(over="ignore"):
        return array.astype(np.float32, copy=False)


def check_finite_batch(signals: np.ndarray, indices: Sequence[int]) -> None:
    """Raise a ValueError naming the first samples of the batch with NaN or infinite values.

    In-memory inputs are checked whole and streamed ones batch by batch, with
    this one message.
    """
    finite = np.isfinite(signals).reshape(len(signals), -1).all(axis=1)
    if not finite.all():
        bad = np.asarray(indices)[~finite]
        named = ", ".join(str(int(i)) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
        if len(bad) == 1:
            which, fix = (
                f"Sample {named} of X contains",
                "it (e.g. interpolate the gaps) or leave that sample",
            )
        else:
            which, fix = (
                f"Samples {named} of X contain",
                "them (e.g. interpolate the gaps) or leave those samples",
            )
        raise ValueError(
            f"{which} NaN or infinite values (or values beyond float32's range). Repair {fix} out."
        )


class ArrayReader:
    """Read samples of an array ``(n, n_leads, T)`` or ``(n, n_leads * T)`` by fancy indexing."""

    def __init__(self, array: np.ndarray, sample_shape) -> None:
        self.array, self.sample_shape = array, tuple(sample_shape)

    def __len__(self) -> int:
        return self.array.shape[0]

    def read(self, indices: Sequence[int]) -> np.ndarray:
        batch = _to_float32(self.array[np.asarray(indices, dtype=np.intp)])
        return batch.reshape(len(batch), *self.sample_shape)


class FileReader:
    """Read samples of a memory-mapped array from its file, without mapping them.

    Reading with ``readinto`` keeps the pages in the operating system's cache
    rather than in this process's mapping, so the resident memory of a pass over
    an 8 GB file stays at a few batches; and the reader pickles as a path, so
    DataLoader workers started with ``spawn`` or ``forkserver`` do not receive a
    copy of the data.
    """

    def __init__(self, path, start: int, stride: int, dtype, n_samples: int, sample_shape):
        self.path, self.start, self.stride = os.fspath(path), start, stride
        self.dtype, self.n_samples = np.dtype(dtype), n_samples
        self.sample_shape = tuple(sample_shape)

    def __len__(self) -> int:
        return self.n_samples

    def read(self, indices: Sequence[int]) -> np.ndarray:
        raw = np.empty((len(indices), *self.sample_shape), dtype=self.dtype)
        with open(self.path, "rb", buffering=0) as file:
            for row, index in enumerate(indices):
                file.seek(self.start + int(index) * self.stride)
                if file.readinto(memoryview(raw[row]).cast("B")) != raw[row].nbytes:
                    raise ValueError(
                        f"{self.path} ends before sample {index}: the file is shorter than "
                        "its array header says (truncated or still being written)."
                    )
        return _to_float32(raw)


class DatasetReader:
    """Read samples of a map-style torch Dataset whose items are ``(n_leads, T)`` arrays."""

    def __init__(self, dataset: Dataset, sample_shape) -> None:
        self.dataset, self.sample_shape = dataset, tuple(sample_shape)

    def __len__(self) -> int:
        return len(self.dataset)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        return np.stack([self.item(int(index)) for index in indices])

    def item(self, index: int) -> np.ndarray:
        item = self.dataset[index]
        if isinstance(item, torch.Tensor):
            item = item.detach().cpu().numpy()
        if not isinstance(item, np.ndarray):
            raise TypeError(
                f"Item {index} of the dataset is a {type(item).__name__}; the embedder "
                "takes datasets whose items are (n_leads, n_timepoints) arrays or tensors "
                "(drop any label from the item)."
            )
        _refuse_dtype(item.dtype, f"Item {index} of the dataset")
        if self.sample_shape and item.shape != self.sample_shape:
            raise ValueError(
                f"Item {index} of the dataset has shape {item.shape}, but the items must "
                f"all have shape {self.sample_shape} (n_leads, n_timepoints); crop, pad or "
                "resample them to one length."
            )
        return _to_float32(item)


def _mapped_file(array: np.ndarray):
    """The ``(path, byte offset of array[0])`` of a read-only or shared memory map, or None."""
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (isinstance(root, np.memmap) and isinstance(root.base, mmap.mmap)):
        return None
    # A copy-on-write map ("c") may hold changes its file does not.
    if root.filename is None or root.mode == "c":
        return None
    return root.filename, root.offset + (array.ctypes.data - root.ctypes.data)


def is_memory_mapped(X) -> bool:
    """Whether ``X`` is a numpy array backed by a memory map (``np.load(mmap_mode=...)``)."""
    base = X
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap):
            return True
        base = base.base
    return isinstance(base, mmap.mmap)


def memmap_reader(X: np.ndarray, n_leads: int, n_timepoints: int):
    """A reader of the samples of a memory-mapped ``X``, from its file when rows are contiguous."""
    _refuse_dtype(X.dtype, "X")
    located = _mapped_file(X) if X.shape[0] else None
    row_is_contiguous = X[0].flags.c_contiguous if X.shape[0] else False
    if located is None or not row_is_contiguous:
        return ArrayReader(X, (n_leads, n_timepoints))
    path, start = located
    return FileReader(path, start, X.strides[0], X.dtype, X.shape[0], (n_leads, n_timepoints))


def dataset_reader(dataset: Dataset, sample_shape=None) -> DatasetReader:
    """A reader of a map-style Dataset; ``sample_shape`` defaults to the first item's shape."""
    if not hasattr(dataset, "__len__"):
        raise TypeError(
            "The embedder takes map-style datasets (with __len__ and __getitem__); "
            f"{type(dataset).__name__} has no length."
        )
    if len(dataset) == 0:
        raise ValueError("The dataset is empty; pass at least 2 ECGs.")
    reader = DatasetReader(dataset, ())
    first = reader.item(0)
    if first.ndim != 2:
        raise ValueError(
            f"Items of the dataset must have shape (n_leads, n_timepoints), got {first.shape} "
            f"({first.ndim} dimension(s)) for item 0."
        )
    reader.sample_shape = tuple(sample_shape or first.shape)
    return reader


class SignalDataset(Dataset):
    """``(signal, target)`` pairs read from a reader one batch at a time.

    Parameters
    ----------
    reader : ArrayReader, FileReader or DatasetReader
        Where the signals come from.
    codes : ndarray of shape (n_samples,) or (n_samples, n_labels), default=None
        The targets, kept in their dtype: integer group codes for pretraining,
        class indices or 0/1 label rows for a classifier. ``None`` gives each
        sample its own index (int64).
    check_finite : bool, default=True
        Refuse NaN or infinite values batch by batch, naming the sample.
    """

    def __init__(self, reader, codes=None, *, check_finite: bool = True) -> None:
        self.reader, self.codes, self.check_finite = reader, codes, check_finite

    def __len__(self) -> int:
        return len(self.reader)

    def __getitems__(self, indices: Sequence[int]) -> list:
        signals = self.reader.read(indices)
        if self.check_finite:
            check_finite_batch(signals, indices)
        if self.codes is None:
            codes = np.asarray(indices, np.int64)
        else:
            codes = self.codes[np.asarray(indices, dtype=np.intp)]
        return list(zip(signals, codes, strict=True))

    def __getitem__(self, index: int):
        return self.__getitems__([index])[0]
