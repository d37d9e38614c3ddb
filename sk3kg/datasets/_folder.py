"""Any folder of WFDB records: found recursively, read with wfdb, cached as one array.

A hospital's export, a PhysioNet database, MIMIC-IV-ECG: :func:`load_wfdb_folder`
finds every header below a folder, reads each record with :func:`wfdb.rdrecord`, maps
its lead names onto the asked leads (any case or spelling :func:`sk3kg.vcg.resolve_leads`
knows), converts to mV, resamples, crops or pads, flags flat leads, and streams the
rows into the memory-mapped cache the challenge and PTB-XL readers use. Top to bottom:
reading one record, reading a batch, finding the records, and the loader.
"""

from __future__ import annotations

import fnmatch
import os
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..vcg import resolve_leads
from ._bad_records import raise_bad_record, report_skipped
from ._base import get_data_home
from ._cache import cache_key, load_cached, parse_to_npy, scan_files
from ._challenge._format import RecordError, flat_leads
from ._resample import fit_length, resample

__all__ = ["UNIT_TO_MV", "load_wfdb_folder", "read_wfdb_record"]

_CACHE_VERSION = 1  # bump when the cached arrays would change for the same inputs
_BATCH = 16  # records per parallel task
_CROPS = ("start", "center")
#: Factors from the voltage units WFDB headers write to mV (lower case).
UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "v": 1e3}


def _positions(names: list[str], asked: tuple[str, ...]) -> list[int | None]:
    """Where each asked lead is among a record's signal names (None when absent)."""
    found: dict[str, int] = {}
    for index, name in enumerate(names):
        try:
            found.setdefault(resolve_leads([str(name).strip()])[0], index)
        except ValueError:  # a signal that is no ECG lead (e.g. a pulse wave)
            continue
    return [found.get(lead) for lead in asked]


def read_wfdb_record(path: str, leads: tuple[str, ...], fs: float | None, n_samples: int,
                     crop: str = "start", name: str | None = None) -> dict:  # fmt: skip
    """One WFDB record as ``(len(leads), n_samples)`` float32 in mV, with its facts.

    ``fs=None`` keeps the record's rate. Raises :class:`RecordError` naming the record
    (``name``, else the file's) and the problem (missing leads, units that are not
    voltages, NaN samples).
    """
    import wfdb  # slow to import (0.9 s, it loads pandas): only when records are read

    record_name = name or os.path.basename(path)
    # One rdrecord call: wfdb's header parsing costs as much as reading the signals.
    record = wfdb.rdrecord(path)
    positions = _positions(list(record.sig_name or []), leads)
    missing = [lead for lead, at in zip(leads, positions, strict=True) if at is None]
    if missing:
        has = ", ".join(record.sig_name or [])
        raise RecordError(f"{record_name}: lacks lead(s) {', '.join(missing)} of the asked "
                          f"leads; its signals are {has}.")  # fmt: skip
    units = [record.units[at] for at in positions]
    to_mv = [UNIT_TO_MV.get(str(unit).strip().lower()) for unit in units]
    if None in to_mv:
        raise RecordError(f"{record_name}: units {units} are not all voltages (mV, uV or V); "
                          "rewrite its header's units, or leave the record out.")  # fmt: skip
    signal = (record.p_signal[:, positions] * to_mv).T
    if not np.isfinite(signal).all():
        leads_with_gaps = np.array(leads)[~np.isfinite(signal).all(axis=1)]
        raise RecordError(f"{record_name}: missing (NaN) samples in {', '.join(leads_with_gaps)}.")
    flat = flat_leads(signal)  # over the whole record, before resampling and cropping
    resampled = signal if fs is None else resample(signal, record.fs, fs)
    return {"data": fit_length(resampled, n_samples, crop), "flat": flat,
            "fs": float(record.fs), "length": signal.shape[-1],
            "comments": "\n".join(record.comments or [])}  # fmt: skip


def _read_batch(root: str, names: list[str], **options) -> list:
    results = []
    for name in names:
        try:
            results.append(read_wfdb_record(f"{root}/{name}", name=name, **options))
        except RecordError as exc:
            results.append(exc)
        except Exception as exc:  # noqa: BLE001 - one damaged file must not end a long load
            results.append(RecordError(f"{name}: cannot be read ({type(exc).__name__}: {exc})."))
    return results


def _find(root: Path, pattern: str, records) -> tuple[list[str], list]:
    """Record names below ``root`` (header paths without ``.hea``) and the fingerprint."""
    files = sorted(scan_files(str(root), (".hea", ".dat", ".mat")))
    if records is None:
        headers = [name[:-4] for name, _, _ in files
                   if name.endswith(".hea") and fnmatch.fnmatch(name, pattern)]  # fmt: skip
        return headers, files
    chosen = set(records)
    return sorted(chosen), [f for f in files if f[0].rsplit(".", 1)[0] in chosen]


def _folder_rate(root: Path, names: list[str]) -> float:
    """The rate of the first record whose header reads (the others are checked against it)."""
    import wfdb

    for name in names:
        try:
            return float(wfdb.rdheader(f"{root}/{name}").fs)
        except Exception:  # noqa: BLE001, S112 - a damaged header is reported when read
            continue
    raise OSError(f"None of the {len(names)} WFDB headers below {root} can be read by "
                  "wfdb.rdheader; check that they are WFDB headers (or pass fs= to read the "
                  "records anyway, each bad one then named).")  # fmt: skip


def _build(target: Path, names: list[str], params: dict, n_jobs) -> dict:
    meta = {"record_ids": [], "flat": [], "lengths": [], "comments": []}
    skipped: list[tuple[str, str]] = []

    def on_record(name: str, result) -> bool:
        if isinstance(result, RecordError):
            if params["on_error"] == "raise":
                raise_bad_record(str(result))
            skipped.append((name, str(result)))
            return False
        if params["fs_in"] is not None and result["fs"] != params["fs_in"]:
            reason = (f"{name}: recorded at {result['fs']:g} Hz, not the folder's "
                      f"{params['fs_in']:g} Hz; pass fs= to resample every record.")  # fmt: skip
            if params["on_error"] == "raise":
                raise RecordError(reason)
            skipped.append((name, reason))
            return False
        meta["record_ids"].append(name)
        meta["flat"].append(result["flat"])
        meta["lengths"].append(result["length"])
        meta["comments"].append(result["comments"])
        return True

    read = partial(_read_batch, params["root"], leads=params["leads"], fs=params["fs"],
                   n_samples=params["n_samples"], crop=params["crop"])  # fmt: skip
    row_shape = (len(params["leads"]), params["n_samples"])
    parse_to_npy(target, names, read, row_shape, on_record, n_jobs=n_jobs, batch=_BATCH)
    return {"record_ids": np.array(meta["record_ids"], dtype=str),
            "flat_leads": np.array(meta["flat"], bool).reshape(-1, len(params["leads"])),
            "lengths": np.array(meta["lengths"], dtype=np.int64),
            "comments": np.array(meta["comments"], dtype=str),
            "skipped": np.array(skipped, dtype=str).reshape(-1, 2)}  # fmt: skip


def _check(root: Path, fs, duration, crop: str, on_error: str) -> None:
    if not root.is_dir():
        raise OSError(f"{root} is not a folder; pass the folder that holds the WFDB records "
                      "(.hea headers and their signal files), searched recursively.")  # fmt: skip
    if crop not in _CROPS:
        raise ValueError(f"crop must be one of {_CROPS}, got {crop!r}.")
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}.")
    if (fs is not None and not fs > 0) or not duration > 0:
        raise ValueError(f"fs and duration must be positive, got fs={fs}, duration={duration}.")


_DESCR = """\
WFDB records of {root}
{underline}

Every WFDB header below the folder matching {pattern!r}, read with wfdb.rdrecord.

**Data set characteristics:**

:Records: {n}; {skipped} skipped (see ``skipped``)
:Flat leads: {flat} records have one or more (see ``flat_leads``)
:Signals: {leads} in mV, at {fs:g} Hz, {duration:g} s from the {crop} of each record,
    zero-padded when shorter
"""


def load_wfdb_folder(path, *, fs=None, duration=10.0, leads="standard", pattern="*.hea",
                     records=None, crop="start", on_error="skip", cache=True, n_jobs=None,
                     data_home=None):  # fmt: skip
    """Load every WFDB record below a folder into one array of ECGs in mV.

    Headers (``.hea``) are found recursively; each record is read with
    :func:`wfdb.rdrecord`, its signals matched to ``leads`` by name (case and
    common spellings ignored, other signals left out), converted to mV, resampled to
    ``fs``, and cropped or zero-padded to ``duration``. The rows stream into a cache
    under the data home, so a folder larger than memory loads with the memory of a
    few records, and a second call returns a memory map at once. A progress bar
    shows the records read and the time left.

    Parameters
    ----------
    path : str or path-like
        The folder, searched recursively.
    fs : float, default=None
        Sampling rate of the result, in Hz; every record is resampled to it.
        ``None`` keeps the rate of the first record (in sorted order) and reports the
        records at another rate as bad.
    duration : float, default=10.0
        Seconds kept of each record, from its start or centre (``crop``);
        shorter records are zero-padded.
    leads : "standard" or list of str, default="standard"
        The leads to keep, in this order (see :func:`sk3kg.vcg.resolve_leads`).
        A record that lacks one of them is bad.
    pattern : str, default="\\*.hea"
        Shell pattern the headers' paths below ``path`` must match, e.g.
        ``"p1000/*.hea"``.
    records : list of str, default=None
        The records to read instead, as paths below ``path`` without ``.hea``
        (``pattern`` is then ignored; they are read and returned in sorted
        order); one missing on disk is a bad record.
    crop : {"start", "center"}, default="start"
        Where a longer record is cut.
    on_error : {"skip", "raise"}, default="skip"
        What to do with a bad record (unreadable, missing leads or samples,
        units that are not voltages, another rate under ``fs=None``): leave it out,
        listed in ``skipped`` and in one warning, or stop with an error naming it.
    cache : bool, default=True
        Keep the arrays under ``data_home`` (keyed by the files' names, sizes and
        times and by these settings) and return a memory map. ``False`` reads into
        memory and keeps nothing.
    n_jobs : int, default=None
        Processes that read records (joblib); ``None`` is one.
    data_home : str or path-like, default=None
        See :func:`get_data_home`.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        ``data`` (records, leads, samples) float32 in mV, a read-only memory map
        when cached; ``record_ids`` (the headers' paths below ``path``, without
        ``.hea``); ``fs``; ``leads``; ``flat_leads`` (records, leads) bool, a lead
        whose every sample is equal; ``lengths`` (samples per record as recorded);
        ``comments`` (each header's comment lines, joined by newlines);
        ``skipped`` (record, reason) of the records left out; ``DESCR``.

    Examples
    --------
    >>> import tempfile
    >>> import wfdb
    >>> from sk3kg.datasets import load_wfdb_folder, make_synthetic_ecgs
    >>> folder = tempfile.mkdtemp()
    >>> ecgs = make_synthetic_ecgs(3, fs=100, duration=10.0, random_state=0)
    >>> for i, x in enumerate(ecgs.data):
    ...     wfdb.wrsamp(f"r{i}", fs=100, units=["mV"] * 12, sig_name=list(ecgs.leads),
    ...                 p_signal=x.T.astype(float), fmt=["16"] * 12, write_dir=folder)
    >>> bunch = load_wfdb_folder(folder, leads=["I", "II", "V1"], cache=False)
    >>> bunch.data.shape, bunch.fs, bunch.record_ids.tolist()
    ((3, 3, 1000), 100.0, ['r0', 'r1', 'r2'])
    """
    root = Path(path)
    _check(root, fs, duration, crop, on_error)
    names, fingerprint = _find(root, pattern, records)
    if not names:
        raise OSError(f"No WFDB headers matching {pattern!r} found below {root}.")
    fs_in = _folder_rate(root, names) if fs is None else None
    rate = float(fs if fs is not None else fs_in)
    params = {"root": str(root), "leads": resolve_leads(leads), "fs": fs, "fs_in": fs_in,
              "n_samples": round(rate * duration), "crop": crop, "on_error": on_error}  # fmt: skip
    # The records asked for, not only those on disk: a missing one is a skipped record.
    chosen = pattern if records is None else names
    key = cache_key(fingerprint, _CACHE_VERSION, chosen, params["leads"], fs, fs_in,
                    params["n_samples"], crop, on_error)  # fmt: skip
    folder = Path(get_data_home(data_home)) / "wfdb-folders" / key if cache else None
    data, meta = load_cached(folder, partial(_build, names=names, params=params, n_jobs=n_jobs))
    skipped = [tuple(pair) for pair in meta["skipped"].tolist()]
    report_skipped(skipped, len(names), on_error)
    flat = meta["flat_leads"]
    descr = _DESCR.format(root=root, underline="=" * (len(str(root)) + 18), pattern=pattern,
                          n=len(data), skipped=len(skipped), flat=int(flat.any(axis=1).sum()),
                          leads=", ".join(params["leads"]), fs=rate, duration=duration,
                          crop=crop)  # fmt: skip
    return Bunch(data=data, record_ids=meta["record_ids"], fs=rate, leads=params["leads"],
                 flat_leads=flat, lengths=meta["lengths"], comments=meta["comments"],
                 skipped=skipped, DESCR=descr)  # fmt: skip
