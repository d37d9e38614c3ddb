"""Input checks every sk3kg estimator runs on ECGs: shape, leads, length, values.

``ThreeKGEmbedder`` and ``ECGClassifier`` both take ECGs as in-memory arrays
``(n_samples, n_leads, n_timepoints)`` (or flattened lead after lead),
memory-mapped arrays or torch Datasets. :func:`validate_signals` checks any of
them and returns a reader of float32 samples; in-memory arrays are checked
whole, streamed inputs by shape here and by value batch by batch as they are
read (:func:`~sk3kg._data.check_finite_batch`), with the same messages.
"""

from collections import Counter

import numpy as np
from sklearn.utils.validation import check_array, validate_data
from torch.utils.data import Dataset

from ._data import ArrayReader, check_finite_batch, dataset_reader, is_memory_mapped, memmap_reader


def _check_flattened(n_columns: int, n_leads: int) -> None:
    if n_columns % n_leads:
        raise ValueError(
            f"X has {n_columns} columns, not a multiple of its {n_leads} leads; "
            "pass (n_samples, n_leads, n_timepoints) or leads flattened one "
            "after the other."
        )


def _ndim(X) -> int | None:
    """Dimensions of an array or nested list; None when numpy cannot tell (ragged)."""
    if hasattr(X, "ndim"):
        return X.ndim
    if isinstance(X, list | tuple):
        try:
            return np.ndim(X)
        except ValueError:
            return None
    return None


def _check_ndim(ndim: int, shape) -> None:
    if ndim not in (2, 3):
        raise ValueError(
            f"X must have shape (n_samples, n_leads, n_timepoints) or (n_samples, "
            f"n_leads * n_timepoints); got {ndim} dimension(s) {tuple(shape)}. Reshape "
            "your data, e.g. ecg.reshape(1, n_leads, -1) for a single ECG."
        )


def _refuse_ragged(X) -> None:
    """Name the shapes of a list of ECGs that do not stack into one array."""
    shapes = [np.shape(ecg) if _ndim(ecg) is not None else "ragged" for ecg in X]
    counts = Counter(shapes)
    first_odd = next((i for i, shape in enumerate(shapes) if shape != shapes[0]), 0)
    found = ", ".join(f"{shape}: {n} ECG(s)" for shape, n in counts.most_common(5))
    raise ValueError(
        f"X is a list of ECGs of unequal shapes ({found}; ECG {first_odd} is the first "
        f"that differs from ECG 0's {shapes[0]}). Crop, pad or resample them to one "
        "length (e.g. sk3kg.datasets.load_physionet2020(duration=...) does) and stack them."
    )


def _streamed_shape(X: np.ndarray, n_leads: int) -> tuple[int, int, int]:
    """``(n_samples, n_leads, n_timepoints)`` of a memory-mapped X, from its shape alone."""
    _check_ndim(X.ndim, X.shape)
    if X.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}); pass some ECGs.")
    if X.ndim == 3:
        return X.shape
    _check_flattened(X.shape[1], n_leads)
    return X.shape[0], n_leads, X.shape[1] // n_leads


def check_groups(groups, n_samples: int) -> np.ndarray:
    """``groups`` as an array of one id per sample, or a ValueError saying the shape to pass."""
    groups = np.asarray(groups)
    if groups.shape != (n_samples,):
        raise ValueError(
            f"groups must have one id per sample, shape ({n_samples},); got shape {groups.shape}."
        )
    return groups


def _leads_owner(estimator) -> str:
    return "" if "leads" in estimator.get_params() else " (a parameter of the embedder)"


def check_signal_shape(estimator, shape, *, n_leads: int, min_length: int, reset: bool) -> None:
    """Refuse other lead counts or lengths than expected; record them on ``reset``.

    Parameters
    ----------
    estimator : estimator
        Gets ``n_leads_in_`` and ``n_timepoints_in_`` on ``reset``; names itself
        in the messages.
    shape : tuple of int
        ``(n_samples, n_leads, n_timepoints)`` of X.
    n_leads : int
        The number of leads expected.
    min_length : int
        The shortest signal the encoder takes.
    reset : bool
        Whether this is ``fit`` (record the shape) or a later call (compare with it).
    """
    what = type(estimator).__name__
    if shape[1] != n_leads:
        swapped = shape[2] == n_leads
        hint = (
            f"its axes look swapped (time before leads): pass X.transpose(0, 2, 1), of shape "
            f"{(shape[0], shape[2], shape[1])}."
            if swapped
            else f"set leads= to the names of X's rows{_leads_owner(estimator)}."
        )
        raise ValueError(
            f"X has {shape[1]} leads (shape {tuple(shape)}) but the {what} "
            f"{'expects' if reset else 'was fitted on'} {n_leads}; {hint}"
        )
    if not reset and shape[2] != estimator.n_timepoints_in_:
        raise ValueError(
            f"X has signals of {shape[2]} time steps but the {what} was "
            f"fitted on {estimator.n_timepoints_in_}; crop, pad or resample to "
            f"{estimator.n_timepoints_in_}."
        )
    if reset and shape[2] < min_length:
        raise ValueError(
            f"Signals of {shape[2]} time step(s) per lead (X has "
            f"{shape[1] * shape[2]} feature(s)) are shorter than the encoder's minimum of "
            f"{min_length} (2 ** n_stages); pass longer signals or lower n_stages."
        )
    if reset:
        estimator.n_leads_in_, estimator.n_timepoints_in_ = shape[1:]


def _validate_array(estimator, X, n_leads: int, min_length: int, reset: bool) -> np.ndarray:
    ndim = _ndim(X)
    if ndim is None and isinstance(X, list | tuple):
        _refuse_ragged(X)
    if ndim is not None and ndim not in (2, 3):
        _check_ndim(ndim, np.shape(X))
    check = {"n_leads": n_leads, "min_length": min_length, "reset": reset}
    # NaN is refused below, naming the samples, as the streamed path does.
    if ndim == 3:
        X = check_array(X, dtype=np.float32, allow_nd=True, ensure_all_finite=False)
        check_signal_shape(estimator, X.shape, **check)
        flat = X.reshape(X.shape[0], -1)
        flat = validate_data(
            estimator, flat, reset=reset, dtype=np.float32, ensure_all_finite=False
        )
    else:
        flat = validate_data(estimator, X, reset=reset, dtype=np.float32, ensure_all_finite=False)
        _check_flattened(flat.shape[1], n_leads)
        check_signal_shape(estimator, (flat.shape[0], n_leads, flat.shape[1] // n_leads), **check)
    check_finite_batch(flat, np.arange(len(flat)))
    return flat.reshape(flat.shape[0], n_leads, -1)


def validate_signals(estimator, X, *, n_leads: int, min_length: int, reset: bool):
    """Check the ECGs ``X``; return a reader of its float32 samples and whether it streams.

    In-memory arrays are validated whole (by scikit-learn's ``validate_data``,
    which also records ``n_features_in_``); memory-mapped arrays and Datasets
    only by shape here, their values batch by batch as they are read
    (``streamed=True``).

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted or used; gets ``n_features_in_``,
        ``n_leads_in_`` and ``n_timepoints_in_`` on ``reset``.
    X : array-like, memory-mapped array or torch Dataset
        The ECGs.
    n_leads : int
        The number of leads expected.
    min_length : int
        The shortest signal the encoder takes.
    reset : bool
        ``True`` in ``fit``: record the shapes. ``False``: compare with them.

    Returns
    -------
    reader : ArrayReader, FileReader or DatasetReader
        Reads batches of float32 samples ``(n_leads, n_timepoints)``.
    streamed : bool
        Whether values still have to be checked as batches are read.
    """
    check = {"n_leads": n_leads, "min_length": min_length, "reset": reset}
    if isinstance(X, Dataset):
        reader = dataset_reader(X)
        shape = (len(reader), *reader.sample_shape)
    elif is_memory_mapped(X):
        shape = _streamed_shape(X, n_leads)
        reader = memmap_reader(X, *shape[1:])
    else:
        signals = _validate_array(estimator, X, n_leads, min_length, reset)
        return ArrayReader(signals, signals.shape[1:]), False
    check_signal_shape(estimator, shape, **check)
    if reset:
        estimator.n_features_in_ = shape[1] * shape[2]
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    return reader, True
