"""The challenge reader: records on disk into cached arrays, labels and a Bunch.

The 2020 and 2021 training data share their format and layout, so one reader serves
:func:`load_physionet2020` and :func:`load_physionet2021`; a :class:`ChallengeYear`
(the year's sources and description) tells them apart. Top to bottom: finding the
records below a folder and telling their source, reading them in parallel batches into
the cache, folding the cached labels into a class set, describing and reporting what
was loaded, checking the arguments, and last :func:`load_challenge`, which runs the
whole for one year.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.utils import Bunch

from .._bad_records import raise_bad_record, report_skipped
from .._base import get_data_home
from .._cache import cache_key, load_cached, parse_to_npy, scan_files
from .._resample import fit_length, resample
from ._format import RecordError, flat_leads, read_header, read_signal
from ._tables import (
    CHALLENGE_LEADS,
    CLASS_SETS,
    RECORD_NUMBERS,
    SCORED_CODES_2021,
    Source,
    code_to_index,
    get_class_set,
)

__all__ = ["ChallengeYear", "load_challenge"]

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


def _find_records(root: Path, sources: Sequence[str] | None,
                  table: dict[str, Source]) -> tuple[list[str], list, list]:  # fmt: skip
    """Headers and orphan signal files (paths below ``root``), and the files' fingerprint."""
    files = sorted(scan_files(str(root), (".hea", ".mat", ".dat")))
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
                raise_bad_record(str(result))
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


# The lines of both years' descriptions that state what was loaded.
_CHARACTERISTICS = """\
**Data set characteristics:**

:Records: {n} ({counts})
:Classes: {n_classes}, class set "{classes}"; {unlabelled} records carry none of them
:Flat leads: {flat} records have one or more ({flat_counts}; see ``flat_leads``)
:Skipped: {skipped} bad records, {skipped_flat} records with flat leads (see ``skipped``)
:Signals: 12 leads (I, II, III, aVR, aVL, aVF, V1-V6) in mV, resampled to {fs} Hz,
    {duration} s from the {crop} of each record, zero-padded when shorter"""


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
        raise_bad_record(orphan_skips[0][1])
    key = cache_key(fingerprint, _CACHE_VERSION, params["fs"], params["n_samples"],
                    params["crop"], params["skip_flat"])  # fmt: skip
    home = Path(get_data_home(data_home)) / f"physionet{params['challenge'].year}"
    build = partial(_build_cache, headers=headers, params=params, n_jobs=n_jobs)
    data, meta = load_cached(home / "cache" / key if cache else None, build)
    meta["skipped"] = orphan_skips + [tuple(pair) for pair in meta["skipped"].tolist()]
    meta["skipped_flat"] = [tuple(pair) for pair in meta["skipped_flat"].tolist()]
    return data, meta


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
    report_skipped(meta["skipped"], n_total, on_error, skipped_flat=meta["skipped_flat"],
                   stacklevel=4)  # fmt: skip
    target = _targets(meta["scored"], classes)
    if return_X_y:
        return data, target
    params.update(classes=classes, duration=duration)
    return _bunch(data, target, meta, params)
