"""Load the PhysioNet/CinC Challenge 2020 training data from disk into arrays, with a cache."""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy.signal import resample_poly
from sklearn.utils import Bunch
from tqdm.auto import tqdm

from .._base import atomic_path, get_data_home
from ._format import RecordError, read_header, read_signal
from ._tables import (
    CHALLENGE_LEADS,
    CLASS_SETS,
    SCORED_CODES,
    SOURCES,
    code_to_index,
    get_class_set,
)

__all__ = ["load_physionet2020"]

_CACHE_VERSION = 1  # bump when the cached arrays would change for the same inputs
_BATCH = 32  # records per parallel task: large enough to hide the dispatch cost
_CROPS = ("start", "center")
# Cached metadata besides "scored" (labels over the 27 scored codes) and "skipped".
_META_DTYPES = {
    "record_ids": str,
    "sources": str,
    "age": np.float32,
    "sex": str,
    "lengths": np.int64,
}
_MAX_LISTED = 20  # skipped records named in the warning; all of them are in bunch.skipped


def _source_of(relative: str) -> str:
    """Source of a record from its path below the root: folder name, else name prefix."""
    *folders, name = relative.split("/")
    for part in folders:
        if part in SOURCES:
            return part
    prefixes = sorted(SOURCES.values(), key=lambda s: -len(s.prefix))
    match = (
        s.name
        for s in prefixes
        if name.startswith(s.prefix) and name[len(s.prefix) :][:1].isdigit()
    )
    return next(match, "unknown")


def _stem(relative: str) -> str:
    return relative.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _scan(root: str) -> list[tuple[str, int, int]]:
    """(path below the root, size, mtime) of every record file. Plain strings and a loop,
    not pathlib and recursion: this walk is most of the time of a cached load."""
    found, folders = [], [(root, "")]
    while folders:
        folder, prefix = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir():
                    folders.append((entry.path, f"{prefix}{entry.name}/"))
                elif entry.name.endswith((".hea", ".mat", ".dat")):
                    st = entry.stat()
                    found.append((f"{prefix}{entry.name}", st.st_size, st.st_mtime_ns))
    return found


def _find_records(root: Path, sources: Sequence[str] | None) -> tuple[list[str], list, list]:
    """Headers and orphan signal files (paths below ``root``), and the files' fingerprint."""
    files = sorted(_scan(str(root)))
    if sources is not None:
        files = [f for f in files if _source_of(f[0]) in sources]
    headers, orphans, last_header = [], [], None
    for name, _, _ in files:  # sorted, so "X.hea" comes right before "X.mat"
        if name.endswith(".hea"):
            headers.append(name)
            last_header = name[:-4]
        elif name.endswith(".mat") and name[:-4] != last_header:
            orphans.append(name)
    return headers, orphans, files


def _resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    if fs_in == fs_out:
        return signal
    ratio = Fraction(fs_out).limit_denominator(10**6) / Fraction(fs_in).limit_denominator(10**6)
    return resample_poly(signal, ratio.numerator, ratio.denominator, axis=-1)


def _fit_length(signal: np.ndarray, n_samples: int, crop: str) -> np.ndarray:
    out = np.zeros((signal.shape[0], n_samples), dtype=np.float32)
    length = signal.shape[-1]
    start = (length - n_samples) // 2 if crop == "center" and length > n_samples else 0
    kept = signal[:, start : start + n_samples]
    out[:, : kept.shape[-1]] = kept
    return out


def _read_one(header_path: Path, fs: float, n_samples: int, crop: str) -> dict:
    header = read_header(header_path)
    signal = _resample(read_signal(header, header_path.parent), header.fs, fs)
    age = header.comments.get("age", "")
    try:
        age = float(age)
    except ValueError:
        age = np.nan
    sex = header.comments.get("sex", "").strip().lower()[:1]
    return {
        "data": _fit_length(signal, n_samples, crop),
        "scored": np.isin(SCORED_CODES, header.dx_codes).astype(np.uint8),
        "age": age,
        "sex": {"m": "male", "f": "female"}.get(sex, "unknown"),
        "length": signal.shape[-1],
    }


def _read_batch(root: Path, names: list[str], fs: float, n_samples: int, crop: str) -> list:
    results = []
    for name in names:
        try:
            results.append(_read_one(root / name, fs, n_samples, crop))
        except RecordError as exc:
            results.append(exc)
        except Exception as exc:  # noqa: BLE001 - one odd file must not end a long load
            message = f"{_stem(name)}: unexpected {type(exc).__name__}: {exc}"
            results.append(RecordError(message))
    return results


def _raise(reason: str) -> None:
    raise RecordError(f"{reason} Pass on_error='skip' to leave bad records out.")


def _npy_header(f, n_rows: int, row_shape: tuple[int, ...]) -> None:
    header = {"descr": "<f4", "fortran_order": False, "shape": (n_rows, *row_shape)}
    np.lib.format.write_array_header_1_0(f, header)


def _parse_to_npy(target: Path, headers: list[str], params: dict, n_jobs: int | None):
    """Read the records in parallel, streaming rows into ``target``; return their metadata.

    Rows are written with plain file writes, not a memory map, so that the pages of
    the growing file count against the page cache rather than this process's memory.
    """
    row_shape = (len(CHALLENGE_LEADS), params["n_samples"])
    batches = [headers[i : i + _BATCH] for i in range(0, len(headers), _BATCH)]
    tasks = (
        delayed(_read_batch)(params["root"], b, params["fs"], params["n_samples"], params["crop"])
        for b in batches
    )
    meta = {"record_ids": [], "sources": [], "scored": [], "age": [], "sex": [], "lengths": []}
    skipped = []
    with (
        open(target, "wb") as f,
        tqdm(total=len(headers), unit="rec", desc="Reading ECGs", disable=None) as bar,
    ):
        _npy_header(f, len(headers), row_shape)
        offset = f.tell()
        # One batch needs no worker processes, whose start-up costs seconds.
        n_jobs = n_jobs if len(batches) > 1 else None
        results = Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
        for batch, batch_results in zip(batches, results, strict=True):
            for name, result in zip(batch, batch_results, strict=True):
                if isinstance(result, RecordError):
                    if params["on_error"] == "raise":
                        _raise(str(result))
                    skipped.append((_stem(name), str(result)))
                    continue
                f.write(result.pop("data").tobytes())
                meta["record_ids"].append(_stem(name))
                meta["sources"].append(_source_of(name))
                for key in ("scored", "age", "sex"):
                    meta[key].append(result[key])
                meta["lengths"].append(result["length"])
            bar.update(len(batch))
        n_rows = len(meta["record_ids"])
        f.seek(0)
        _npy_header(f, n_rows, row_shape)  # numpy pads the header so the first axis can shrink
        if f.tell() != offset:
            raise RuntimeError("numpy wrote a .npy header of another size; please report this.")
        f.truncate(offset + n_rows * int(np.prod(row_shape)) * 4)
    return meta, skipped


def _cache_key(fingerprint: list, fs: float, n_samples: int, crop: str) -> str:
    digest = hashlib.sha256(f"{_CACHE_VERSION} {fs!r} {n_samples} {crop}\n".encode())
    digest.update(repr(fingerprint).encode())  # a list of (str, int, int): a stable repr
    return digest.hexdigest()[:24]


def _write_cache(folder: Path, headers: list[str], params: dict, n_jobs: int | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "data.npy") as tmp:
        meta, skipped = _parse_to_npy(tmp, headers, params, n_jobs)
    columns = {key: np.array(meta[key], dtype=dtype) for key, dtype in _META_DTYPES.items()}
    columns["scored"] = np.array(meta["scored"], dtype=np.uint8).reshape(-1, len(SCORED_CODES))
    columns["skipped"] = np.array(skipped, dtype=str).reshape(-1, 2)
    # The metadata is written last: its presence marks a complete cache entry.
    with atomic_path(folder / "meta.npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, **columns)


def _read_cache(folder: Path, mmap: bool) -> tuple[np.ndarray, dict] | None:
    if not (folder / "meta.npz").is_file():
        return None
    with np.load(folder / "meta.npz", allow_pickle=False) as columns:
        meta = {key: columns[key] for key in columns.files}
    meta["skipped"] = [tuple(pair) for pair in meta["skipped"].tolist()]
    data = np.load(folder / "data.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
    return data, meta


def _targets(scored: np.ndarray, classes: str) -> np.ndarray:
    """Fold the labels over the 27 scored codes into the classes of a class set."""
    index = code_to_index(classes)
    fold = np.zeros((len(SCORED_CODES), len(get_class_set(classes).codes)), dtype=np.uint8)
    fold[np.arange(len(SCORED_CODES)), [index[code] for code in SCORED_CODES]] = 1
    return ((scored @ fold) > 0).astype(np.uint8)


def _describe(meta: dict, target: np.ndarray, params: dict) -> str:
    sources = dict(zip(*np.unique(meta["sources"], return_counts=True), strict=True))
    counts = ", ".join(f"{name} {n}" for name, n in sources.items()) or "none"
    return _DESCR.format(
        n=len(meta["record_ids"]), counts=counts, classes=params["classes"],
        n_classes=target.shape[1], unlabelled=int((target.sum(axis=1) == 0).sum()),
        skipped=len(meta["skipped"]), fs=params["fs"], duration=params["duration"],
        crop=params["crop"],
    )  # fmt: skip


def _report_skipped(skipped: list, n_total: int, on_error: str) -> None:
    if not skipped:
        return
    if on_error == "raise":
        _raise(skipped[0][1])
    listed = "\n  ".join(reason for _, reason in skipped[:_MAX_LISTED])
    more = f"\n  and {len(skipped) - _MAX_LISTED} more" if len(skipped) > _MAX_LISTED else ""
    warnings.warn(
        f"Skipped {len(skipped)} of {n_total} records (all listed in the result's 'skipped'):"
        f"\n  {listed}{more}\nPass on_error='raise' to stop at the first one instead.",
        UserWarning,
        stacklevel=3,
    )


def _check_params(classes: str, crop: str, on_error: str, fs: float, duration: float, sources):
    if classes not in CLASS_SETS:
        raise ValueError(f"classes must be one of {CLASS_SETS}, got {classes!r}.")
    if crop not in _CROPS:
        raise ValueError(f"crop must be one of {_CROPS}, got {crop!r}.")
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}.")
    if not fs > 0 or not duration > 0:
        raise ValueError(f"fs and duration must be positive, got fs={fs}, duration={duration}.")
    unknown = sorted(set(sources or ()) - {*SOURCES, "unknown"})
    if unknown or isinstance(sources, str):
        raise ValueError(f"sources must be a list of {list(SOURCES)}, got {sources!r}.")


def _load_arrays(root: Path, sources, params: dict, cache: bool, data_home, n_jobs):
    headers, orphans, fingerprint = _find_records(root, sources)
    if not headers and not orphans:
        raise OSError(f"No challenge records (.hea files) found under {root}.")
    orphan_skips = [(_stem(n), f"{_stem(n)}: header file {root / n[:-4]}.hea is missing; "
                     "download it again or delete the signal file.")
                    for n in orphans]  # fmt: skip
    if orphan_skips and params["on_error"] == "raise":
        _raise(orphan_skips[0][1])
    key = _cache_key(fingerprint, params["fs"], params["n_samples"], params["crop"])
    if cache:
        folder = Path(get_data_home(data_home)) / "physionet2020" / "cache" / key
        cached = _read_cache(folder, mmap=True)
        if cached is None:
            _write_cache(folder, headers, params, n_jobs)
            cached = _read_cache(folder, mmap=True)
    else:  # read into memory through a scratch file, leaving nothing in the data home
        with tempfile.TemporaryDirectory(prefix="sk3kg-uncached-") as tmp:
            _write_cache(Path(tmp), headers, params, n_jobs)
            cached = _read_cache(Path(tmp), mmap=False)
    data, meta = cached
    meta["skipped"] = orphan_skips + meta["skipped"]
    return data, meta


def load_physionet2020(
    path: str | os.PathLike,
    *,
    sources: Sequence[str] | None = None,
    fs: float = 500,
    duration: float = 10.0,
    classes: str = "3kg",
    crop: str = "start",
    cache: bool = True,
    on_error: str = "skip",
    n_jobs: int | None = None,
    data_home: str | os.PathLike | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load PhysioNet/CinC Challenge 2020 records from a folder, as arrays and labels.

    Every ``.hea`` file below ``path`` is a record, whatever the folder layout.
    Signals are scaled to mV with each header's own gain and baseline, resampled to
    ``fs`` (polyphase filter), then cropped or zero-padded to ``duration``. Labels
    come from the ``#Dx:`` codes, equivalent codes merged. The result is cached under
    the data home, keyed by the files' names, sizes and modification times and by
    ``fs``, ``duration`` and ``crop``; the next call returns it as a memory map.

    Parameters
    ----------
    path : str or path-like
        Folder holding the records (any depth), such as the ``training`` folder of
        the challenge's version 1.0.2.
    sources : list of str, default=None
        Only these sources (keys of :data:`SOURCES`, or ``"unknown"``), told by the
        folder names of 1.0.2 or else by the record name's prefix. All when None.
    fs : float, default=500
        Sampling rate of the output, in Hz.
    duration : float, default=10.0
        Length of the output, in seconds.
    classes : {"3kg", "merged", "scored"}, default="3kg"
        Class set of the target, see :func:`get_class_set`.
    crop : {"start", "center"}, default="start"
        Which part of a longer record to keep.
    cache : bool, default=True
        Keep the arrays under the data home and memory-map them. When False, read
        into memory and keep nothing.
    on_error : {"skip", "raise"}, default="skip"
        What to do with a bad record (unreadable or truncated signal file, missing
        header, NaN or -32768 samples, an all-zero lead, leads other than the 12
        standard ones): skip it with one warning listing all of them, or raise a
        ``ValueError`` naming the record and the problem.
    n_jobs : int, default=None
        Processes reading records in parallel; ``None`` means 1 unless set by
        ``joblib.parallel_config``, ``-1`` all cores. Each process must import
        sk3kg first, which takes seconds, so parallel reading pays only for large
        sets on many cores; one process reads 400-800 records/s.
    data_home : str or path-like, default=None
        Where the cache lives, see :func:`get_data_home`.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (n_records, 12, round(fs * duration))
            The signals in mV, float32, leads in the order of ``leads``; a
            memory map when ``cache`` is True.
        target : ndarray of shape (n_records, n_classes)
            The labels, uint8; a record with no code of the class set has an
            all-zero row.
        target_names : list of str
            Abbreviations of the classes.
        target_codes : list of str
            SNOMED CT codes of the classes.
        record_ids : ndarray of str of shape (n_records,)
            Record names.
        sources : ndarray of str of shape (n_records,)
            Source of each record (a key of :data:`SOURCES`, or ``"unknown"``).
        age : ndarray of float32 of shape (n_records,)
            Age in years, NaN where unknown.
        sex : ndarray of str of shape (n_records,)
            Sex as written in the header.
        lengths : ndarray of int of shape (n_records,)
            Each record's length at ``fs`` before cropping or padding.
        fs : float
            Sampling rate, in Hz.
        leads : tuple of str
            Lead order, :data:`CHALLENGE_LEADS`.
        skipped : list of (str, str)
            The records left out and why.
        n_unlabelled : int
            Number of records with an all-zero ``target`` row.
        DESCR : str
            Description of the data set.
    (data, target) : tuple
        When ``return_X_y`` is True.

    See Also
    --------
    fetch_physionet2020 : Download the data, then load it with this function.
    write_physionet2020 : Write arrays in the challenge's format.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sk3kg.datasets import load_physionet2020, write_physionet2020
    >>> folder = tempfile.mkdtemp()
    >>> signals = np.sin(np.linspace(0, 60, 1000)) * np.ones((3, 12, 1))
    >>> _ = write_physionet2020(folder, signals, 500, dx_codes=["426783006", "59118001", ""])
    >>> ecg = load_physionet2020(folder, fs=250, duration=1.0, classes="merged",
    ...                          data_home=tempfile.mkdtemp())
    >>> ecg.data.shape, ecg.target.sum(axis=0)[[4, 20]], ecg.n_unlabelled
    ((3, 12, 250), array([1, 1], dtype=uint64), 1)
    """
    sources = None if sources is None else list(sources)
    _check_params(classes, crop, on_error, fs, duration, sources)
    root = Path(path)
    if not root.is_dir():
        raise OSError(f"{root} is not a folder. Point load_physionet2020 at the folder that "
                      "holds the .hea and .mat files, or use fetch_physionet2020().")  # fmt: skip
    n_samples = round(fs * duration)
    params = {"root": root, "fs": fs, "n_samples": n_samples, "crop": crop, "on_error": on_error}
    data, meta = _load_arrays(root, sources, params, cache, data_home, n_jobs)
    _report_skipped(meta["skipped"], len(meta["record_ids"]) + len(meta["skipped"]), on_error)
    target = _targets(meta["scored"], classes)
    if return_X_y:
        return data, target
    class_set = get_class_set(classes)
    params.update(classes=classes, duration=duration)
    return Bunch(
        data=data,
        target=target,
        target_names=list(class_set.abbreviations),
        target_codes=list(class_set.codes),
        record_ids=np.asarray(meta["record_ids"], dtype=str),
        sources=np.asarray(meta["sources"], dtype=str),
        age=np.asarray(meta["age"], dtype=np.float32),
        sex=np.asarray(meta["sex"], dtype=str),
        lengths=np.asarray(meta["lengths"], dtype=np.int64),
        fs=fs,
        leads=CHALLENGE_LEADS,
        skipped=meta["skipped"],
        n_unlabelled=int((target.sum(axis=1) == 0).sum()),
        DESCR=_describe(meta, target, params),
    )


_DESCR = """\
.. _physionet2020_dataset:

PhysioNet/CinC Challenge 2020 12-lead ECGs
------------------------------------------

**Data set characteristics:**

:Records: {n} ({counts})
:Classes: {n_classes}, class set "{classes}"; {unlabelled} records carry none of them
:Skipped: {skipped} bad records (see ``skipped``)
:Signals: 12 leads (I, II, III, aVR, aVL, aVF, V1-V6) in mV, resampled to {fs} Hz,
    {duration} s from the {crop} of each record, zero-padded when shorter

The public training set of the 2020 challenge (version 1.0.2, 43,101 records) pools
six sources: CPSC 2018 and its unused part (500 Hz), St Petersburg INCART (257 Hz),
PTB (1000 Hz), PTB-XL (500 Hz) and Georgia (500 Hz). Each record carries SNOMED CT
diagnosis codes; 27 of them are scored. The challenge scores three pairs as one
class (713427006 = 59118001, 284470004 = 63593006, 427172004 = 17338001), giving
24 classes ("merged"). The 3KG paper (Gopal et al. 2021) evaluates on 23 classes
without listing them; the set "3kg" follows the authors' public training code,
which also merges prolonged PR interval (164947007) into first-degree AV block
(270492004).

.. rubric:: References

- Perez Alday EA, Gu A, Shah AJ, et al. Classification of 12-lead ECGs: the
  PhysioNet/Computing in Cardiology Challenge 2020. Physiol Meas 41 (2020) 124003.
- Gopal B, Han R, Raghupathi G, et al. 3KG: contrastive learning of 12-lead
  electrocardiograms using physiologically-inspired augmentations. ML4H 2021.
- Goldberger A, Amaral L, Glass L, et al. PhysioBank, PhysioToolkit, and PhysioNet.
  Circulation 101 (2000) e215-e220.
"""
