"""Load the PhysioNet/CinC Challenge training data from disk into arrays, with a cache.

The 2020 and 2021 data share their format and layout; one reader serves
:func:`load_physionet2020` here and :func:`load_physionet2021`, told apart by a
:class:`ChallengeYear` (the year's sources and description).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.utils import Bunch

from .._base import get_data_home
from .._cache import cache_key, load_cached, parse_to_npy
from .._resample import fit_length, resample
from ._format import RecordError, flat_leads, read_header, read_signal
from ._tables import (
    CHALLENGE_LEADS,
    CLASS_SETS,
    RECORD_NUMBERS,
    SCORED_CODES_2021,
    SOURCES,
    Source,
    code_to_index,
    get_class_set,
)

__all__ = ["load_physionet2020"]

_CACHE_VERSION = 2  # bump when the cached arrays would change for the same inputs
_BATCH = 32  # records per parallel task: large enough to hide the dispatch cost
_CROPS = ("start", "center")
# Labels are cached over the codes scored in either year (the 2021 codes include the
# 2020 ones), so that any class set can be folded from the same cache.
_LABEL_CODES = SCORED_CODES_2021
# Cached metadata besides "scored" (labels over _LABEL_CODES), "flat_leads" and the
# skipped records.
_META_DTYPES = {
    "record_ids": str,
    "sources": str,
    "age": np.float32,
    "sex": str,
    "lengths": np.int64,
}
_MAX_LISTED = 20  # skipped records named in the warning; all of them are in bunch.skipped


class ChallengeYear(NamedTuple):
    """What tells one challenge year's data apart: its sources and its description."""

    year: int
    sources: dict[str, Source]
    descr: str  # a template with the field {characteristics}


def _source_of(relative: str, sources: dict[str, Source]) -> str:
    """Source of a record from its path below the root: folder name, else name prefix
    (and number, for the two 2021 sources that share the prefix "JS")."""
    *folders, name = relative.split("/")
    for part in folders:
        if part in sources:
            return part
    for source in sorted(sources.values(), key=lambda s: -len(s.prefix)):
        if not name.startswith(source.prefix):
            continue
        digits = re.match(r"\d+", name[len(source.prefix) :])
        low, high = RECORD_NUMBERS.get(source.name, (0, math.inf))
        if digits and low <= int(digits[0]) <= high:
            return source.name
    return "unknown"


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


def _find_records(root: Path, sources: Sequence[str] | None,
                  table: dict[str, Source]) -> tuple[list[str], list, list]:  # fmt: skip
    """Headers and orphan signal files (paths below ``root``), and the files' fingerprint."""
    files = sorted(_scan(str(root)))
    if sources is not None:
        files = [f for f in files if _source_of(f[0], table) in sources]
    headers, orphans, last_header = [], [], None
    for name, _, _ in files:  # sorted, so "X.hea" comes right before "X.mat"
        if name.endswith(".hea"):
            headers.append(name)
            last_header = name[:-4]
        elif name.endswith(".mat") and name[:-4] != last_header:
            orphans.append(name)
    return headers, orphans, files


def _read_one(header_path: Path, fs: float, n_samples: int, crop: str) -> dict:
    header = read_header(header_path)
    signal = read_signal(header, header_path.parent)
    flat = flat_leads(signal)  # over the whole record, before resampling and cropping
    signal = resample(signal, header.fs, fs)
    age = header.comments.get("age", "")
    try:
        age = float(age)
    except ValueError:
        age = np.nan
    sex = header.comments.get("sex", "").strip().lower()[:1]
    return {
        "data": fit_length(signal, n_samples, crop),
        "scored": np.isin(_LABEL_CODES, header.dx_codes).astype(np.uint8),
        "flat": flat,
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


def _flat_reason(record: str, flat: np.ndarray) -> str:
    leads = ", ".join(np.array(CHALLENGE_LEADS)[flat])
    return f"{record}: flat leads {leads} (every sample equal), left out as skip_flat=True asks."


def _parse_to_npy(target: Path, headers: list[str], params: dict, n_jobs: int | None):
    """Read the records in parallel, streaming rows into ``target``; return their metadata,
    the bad records and the records left out for their flat leads."""
    meta = {"record_ids": [], "sources": [], "scored": [], "flat": [], "age": [], "sex": [],
            "lengths": []}  # fmt: skip
    skipped, skipped_flat = [], []

    def on_record(name: str, result) -> bool:
        if isinstance(result, RecordError):
            if params["on_error"] == "raise":
                _raise(str(result))
            skipped.append((_stem(name), str(result)))
            return False
        if params["skip_flat"] and result["flat"].any():
            skipped_flat.append((_stem(name), _flat_reason(_stem(name), result["flat"])))
            return False
        meta["record_ids"].append(_stem(name))
        meta["sources"].append(_source_of(name, params["challenge"].sources))
        for key in ("scored", "flat", "age", "sex"):
            meta[key].append(result[key])
        meta["lengths"].append(result["length"])
        return True

    read = partial(_read_batch, params["root"], fs=params["fs"],
                   n_samples=params["n_samples"], crop=params["crop"])  # fmt: skip
    row_shape = (len(CHALLENGE_LEADS), params["n_samples"])
    parse_to_npy(target, headers, read, row_shape, on_record, n_jobs=n_jobs, batch=_BATCH)
    return meta, skipped, skipped_flat


def _build_cache(target: Path, headers: list[str], params: dict, n_jobs: int | None) -> dict:
    meta, skipped, skipped_flat = _parse_to_npy(target, headers, params, n_jobs)
    columns = {key: np.array(meta[key], dtype=dtype) for key, dtype in _META_DTYPES.items()}
    columns["scored"] = np.array(meta["scored"], dtype=np.uint8).reshape(-1, len(_LABEL_CODES))
    columns["flat_leads"] = np.array(meta["flat"], dtype=bool).reshape(-1, len(CHALLENGE_LEADS))
    columns["skipped"] = np.array(skipped, dtype=str).reshape(-1, 2)
    columns["skipped_flat"] = np.array(skipped_flat, dtype=str).reshape(-1, 2)
    return columns


def _targets(scored: np.ndarray, classes: str) -> np.ndarray:
    """Fold the labels over _LABEL_CODES into the classes of a class set (a 2020 set
    leaves out the three codes only 2021 scores)."""
    index = code_to_index(classes)
    fold = np.zeros((len(_LABEL_CODES), len(get_class_set(classes).codes)), dtype=np.uint8)
    for row, code in enumerate(_LABEL_CODES):
        if code in index:
            fold[row, index[code]] = 1
    return ((scored @ fold) > 0).astype(np.uint8)


def _count_leads(flat: np.ndarray) -> str:
    counts = flat.sum(axis=0)
    return ", ".join(f"{lead} {n}" for lead, n in zip(CHALLENGE_LEADS, counts, strict=True) if n)


def _describe(meta: dict, target: np.ndarray, params: dict) -> str:
    sources = dict(zip(*np.unique(meta["sources"], return_counts=True), strict=True))
    counts = ", ".join(f"{name} {n}" for name, n in sources.items()) or "none"
    flat = meta["flat_leads"]
    characteristics = _CHARACTERISTICS.format(
        n=len(meta["record_ids"]), counts=counts, classes=params["classes"],
        n_classes=target.shape[1], unlabelled=int((target.sum(axis=1) == 0).sum()),
        flat=int(flat.any(axis=1).sum()), flat_counts=_count_leads(flat) or "no lead",
        skipped=len(meta["skipped"]), skipped_flat=len(meta["skipped_flat"]),
        fs=params["fs"], duration=params["duration"], crop=params["crop"],
    )  # fmt: skip
    return params["challenge"].descr.format(characteristics=characteristics)


def _report_skipped(skipped: list, skipped_flat: list, n_total: int, on_error: str) -> None:
    """One warning for the records left out: the bad ones (which raise instead under
    on_error="raise") and those with flat leads that skip_flat=True leaves out."""
    if skipped and on_error == "raise":
        _raise(skipped[0][1])
    every = skipped + skipped_flat
    if not every:
        return
    listed = "\n  ".join(reason for _, reason in every[:_MAX_LISTED])
    more = f"\n  and {len(every) - _MAX_LISTED} more" if len(every) > _MAX_LISTED else ""
    advice = ["Pass on_error='raise' to stop at the first bad record instead."] * bool(skipped)
    advice += ["Pass skip_flat=False to keep the records with flat leads (the result's "
               "'flat_leads' marks those leads)."] * bool(skipped_flat)  # fmt: skip
    warnings.warn(
        f"Skipped {len(every)} of {n_total} records (all listed in the result's 'skipped'):"
        f"\n  {listed}{more}\n" + " ".join(advice),
        UserWarning,
        stacklevel=4,
    )


def _check_params(classes: str, crop: str, on_error: str, fs: float, duration: float,
                  sources, table: dict[str, Source]) -> None:  # fmt: skip
    if classes not in CLASS_SETS:
        raise ValueError(f"classes must be one of {CLASS_SETS}, got {classes!r}.")
    if crop not in _CROPS:
        raise ValueError(f"crop must be one of {_CROPS}, got {crop!r}.")
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}.")
    if not fs > 0 or not duration > 0:
        raise ValueError(f"fs and duration must be positive, got fs={fs}, duration={duration}.")
    unknown = sorted(set(sources or ()) - {*table, "unknown"})
    if unknown or isinstance(sources, str):
        raise ValueError(f"sources must be a list of {list(table)}, got {sources!r}.")


def _load_arrays(root: Path, sources, params: dict, cache: bool, data_home, n_jobs):
    table = params["challenge"].sources
    headers, orphans, fingerprint = _find_records(root, sources, table)
    if not headers and not orphans:
        raise OSError(f"No challenge records (.hea files) found under {root}.")
    orphan_skips = [(_stem(n), f"{_stem(n)}: header file {root / n[:-4]}.hea is missing; "
                     "download it again or delete the signal file.")
                    for n in orphans]  # fmt: skip
    if orphan_skips and params["on_error"] == "raise":
        _raise(orphan_skips[0][1])
    key = cache_key(fingerprint, _CACHE_VERSION, params["fs"], params["n_samples"],
                    params["crop"], params["skip_flat"])  # fmt: skip
    home = Path(get_data_home(data_home)) / f"physionet{params['challenge'].year}"
    build = partial(_build_cache, headers=headers, params=params, n_jobs=n_jobs)
    data, meta = load_cached(home / "cache" / key if cache else None, build)
    meta["skipped"] = orphan_skips + [tuple(pair) for pair in meta["skipped"].tolist()]
    meta["skipped_flat"] = [tuple(pair) for pair in meta["skipped_flat"].tolist()]
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
    skip_flat: bool = False,
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
    ``fs``, ``duration``, ``crop`` and ``skip_flat``; the next call returns it as a
    memory map.

    A lead is **flat** when every one of its samples in the record has the same
    value (all zeros in the sample records we checked). Records with flat leads are
    part of the data as distributed; they are loaded, and ``flat_leads`` marks
    those leads.

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
    classes : str, default="3kg"
        Class set of the target, one of :data:`CLASS_SETS` (see
        :func:`get_class_set`); the 2021 sets count the codes only 2021 scores too.
    crop : {"start", "center"}, default="start"
        Which part of a longer record to keep.
    cache : bool, default=True
        Keep the arrays under the data home and memory-map them. When False, read
        into memory and keep nothing.
    on_error : {"skip", "raise"}, default="skip"
        What to do with a bad record (unreadable or truncated signal file, missing
        header, NaN or -32768 samples, leads other than the 12 standard ones): skip
        it with one warning listing all of them, or raise a ``ValueError`` naming the
        record and the problem.
    skip_flat : bool, default=False
        Leave out the records with one or more flat leads, listing them in
        ``skipped`` and in one warning (they are not errors: ``on_error="raise"``
        does not raise for them).
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
        flat_leads : ndarray of bool of shape (n_records, 12)
            True for each flat lead of each record, leads in the order of ``leads``.
        fs : float
            Sampling rate, in Hz.
        leads : tuple of str
            Lead order, :data:`CHALLENGE_LEADS`.
        skipped : list of (str, str)
            The records left out and why: the bad ones, then those with flat
            leads when ``skip_flat`` is True.
        n_unlabelled : int
            Number of records with an all-zero ``target`` row.
        DESCR : str
            Description of the data set.
    (data, target) : tuple
        When ``return_X_y`` is True.

    See Also
    --------
    fetch_physionet2020 : Download the data, then load it with this function.
    load_physionet2021 : The same for the 2021 challenge's data.
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
    return load_challenge(_CHALLENGE_2020, path, sources=sources, fs=fs, duration=duration,
                          classes=classes, crop=crop, cache=cache, on_error=on_error,
                          skip_flat=skip_flat, n_jobs=n_jobs, data_home=data_home,
                          return_X_y=return_X_y)  # fmt: skip


def load_challenge(challenge: ChallengeYear, path, *, sources, fs, duration, classes, crop,
                   cache, on_error, skip_flat, n_jobs, data_home, return_X_y):  # fmt: skip
    """What :func:`load_physionet2020` and :func:`load_physionet2021` do, for one year."""
    sources = None if sources is None else list(sources)
    _check_params(classes, crop, on_error, fs, duration, sources, challenge.sources)
    root = Path(path)
    if not root.is_dir():
        raise OSError(f"{root} is not a folder. Point load_physionet{challenge.year} at the "
                      "folder that holds the .hea and .mat files, or use "
                      f"fetch_physionet{challenge.year}().")  # fmt: skip
    params = {"root": root, "fs": fs, "n_samples": round(fs * duration), "crop": crop,
              "on_error": on_error, "skip_flat": bool(skip_flat),
              "challenge": challenge}  # fmt: skip
    data, meta = _load_arrays(root, sources, params, cache, data_home, n_jobs)
    n_total = len(meta["record_ids"]) + len(meta["skipped"]) + len(meta["skipped_flat"])
    _report_skipped(meta["skipped"], meta["skipped_flat"], n_total, on_error)
    target = _targets(meta["scored"], classes)
    if return_X_y:
        return data, target
    params.update(classes=classes, duration=duration)
    return _bunch(data, target, meta, params)


def _bunch(data: np.ndarray, target: np.ndarray, meta: dict, params: dict) -> Bunch:
    class_set = get_class_set(params["classes"])
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
        flat_leads=np.asarray(meta["flat_leads"], dtype=bool),
        fs=params["fs"],
        leads=CHALLENGE_LEADS,
        skipped=meta["skipped"] + meta["skipped_flat"],
        n_unlabelled=int((target.sum(axis=1) == 0).sum()),
        DESCR=_describe(meta, target, params),
    )


# The lines of both years' descriptions that state what was loaded.
_CHARACTERISTICS = """\
**Data set characteristics:**

:Records: {n} ({counts})
:Classes: {n_classes}, class set "{classes}"; {unlabelled} records carry none of them
:Flat leads: {flat} records have one or more ({flat_counts}; see ``flat_leads``)
:Skipped: {skipped} bad records, {skipped_flat} records with flat leads (see ``skipped``)
:Signals: 12 leads (I, II, III, aVR, aVL, aVF, V1-V6) in mV, resampled to {fs} Hz,
    {duration} s from the {crop} of each record, zero-padded when shorter"""

_DESCR = """\
.. _physionet2020_dataset:

PhysioNet/CinC Challenge 2020 12-lead ECGs
------------------------------------------

{characteristics}

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

_CHALLENGE_2020 = ChallengeYear(2020, SOURCES, _DESCR)
