"""MIMIC-IV-ECG: about 800,000 diagnostic 12-lead ECGs, the largest open pretraining corpus.

Version 1.0 on PhysioNet (open access, ODbL): 10-s records at 500 Hz in WFDB, laid
out as ``files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN.{hea,dat}`` (subject, then study),
with ``record_list.csv`` and ``machine_measurements.csv`` (the ECG machine's
measurements and its free-text report lines ``report_0`` ... ``report_17``). The
records carry no diagnosis labels: they are for pretraining. Top to bottom: choosing
records, the machine reports, the loader and the fetcher.
"""

from __future__ import annotations

import csv
import os
import re
from functools import partial
from pathlib import Path

import numpy as np

from ._base import get_data_home
from ._cache import scan_files
from ._download import describe_missing, download_verified
from ._folder import load_wfdb_folder

__all__ = ["MIMIC_IV_ECG_URL", "fetch_mimic_iv_ecg", "load_mimic_iv_ecg"]

#: Address of version 1.0 of MIMIC-IV-ECG on PhysioNet, from which
#: :func:`fetch_mimic_iv_ecg` downloads (about 90 GB for all 800,035 records).
MIMIC_IV_ECG_URL = "https://physionet.org/files/mimic-iv-ecg/1.0/"
_TABLES = ("record_list.csv", "machine_measurements.csv")
_RECORD = re.compile(r"files/p\d+/p(\d+)/s(\d+)/(\d+)$")


def choose_records(records, n_records: int | None = None, subjects=None) -> list[str]:
    """The records of ``subjects`` (all when None), the first ``n_records`` in path order.

    ``records`` are paths without extension, ``files/pNNNN/p<subject>/s<study>/<study>``.
    """
    chosen = sorted(r for r in records if _RECORD.fullmatch(r))
    if subjects is not None:
        wanted = {int(s) for s in subjects}
        chosen = [r for r in chosen if int(_RECORD.fullmatch(r)[1]) in wanted]
    return chosen if n_records is None else chosen[:n_records]


def _select(sums: dict[str, str], n_records, subjects) -> dict[str, str]:
    """The two tables and the ``.hea`` and ``.dat`` files of the chosen records."""
    records = {name[:-4] for name in sums if name.endswith(".hea")}
    keep = {f"{r}{ext}" for r in choose_records(records, n_records, subjects)
            for ext in (".hea", ".dat")}  # fmt: skip
    return {name: digest for name, digest in sums.items() if name in keep or name in _TABLES}


def _reports(path: Path, studies: set[int]) -> dict[int, str]:
    """Each study's machine report: its non-empty ``report_*`` fields, one per line."""
    if not path.is_file():
        return {}
    found = {}
    with open(path, newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            study = int(row["study_id"])
            if study in studies:
                lines = [row[k].strip() for k in row if k.startswith("report_") and row[k]]
                found[study] = "\n".join(line for line in lines if line)
    return found


_DESCR = """\
MIMIC-IV-ECG 1.0
================

Diagnostic 12-lead ECGs of patients of the Beth Israel Deaconess Medical Center
(Boston), 2008-2019: 800,035 records of 161,352 subjects, 10 s at 500 Hz, from
PhysioNet (Gow et al., 2023; open access, ODbL). No diagnosis labels: the machine's
report lines are in ``reports``; ``subject_id`` groups the records of one patient
(``ThreeKGEmbedder().fit(X, groups=subject_id)``). Its patients are not those of the
PhysioNet/CinC challenges or PTB-XL (other hospitals).

**Data set characteristics:**

:Records: {n} of {subjects} subjects; {skipped} skipped (see ``skipped``)
:Flat leads: {flat} records have one or more (see ``flat_leads``)
:Signals: {leads} in mV, at {fs:g} Hz, {duration:g} s
"""


def load_mimic_iv_ecg(path, *, n_records=None, subjects=None, fs=500, duration=10.0,
                      leads="standard", cache=True, on_error="skip", n_jobs=None,
                      data_home=None):  # fmt: skip
    """Load MIMIC-IV-ECG records already on disk, with their subjects and machine reports.

    Parameters
    ----------
    path : str or path-like
        The folder that holds ``files/`` (and ``machine_measurements.csv``).
    n_records : int, default=None
        Read only the first ``n_records`` records (in path order, so whole
        subjects' folders first); ``None`` reads all.
    subjects : list of int, default=None
        Read only these subjects' records.
    fs : float, default=500
        Sampling rate of the result, in Hz (the records' own is 500).
    duration : float, default=10.0
        Seconds kept of each record.
    leads : "standard" or list of str, default="standard"
        The leads to keep, in this order.
    cache, on_error, n_jobs, data_home
        As in :func:`load_wfdb_folder`, which reads the records.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        What :func:`load_wfdb_folder` returns, and ``subject_id`` and
        ``study_id`` (int64, one per record; ``subject_id`` is the ``groups`` of
        a patient's records) and ``reports`` (the machine's report lines of each
        record, newline-joined; empty when ``machine_measurements.csv`` is absent).

    See Also
    --------
    fetch_mimic_iv_ecg : Download the records first.

    Examples
    --------
    >>> import tempfile
    >>> from sk3kg.datasets import load_mimic_iv_ecg
    >>> load_mimic_iv_ecg(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    OSError: No MIMIC-IV-ECG records (files/p*/p*/s*/*.hea) below ...
    """
    root = Path(path)
    found = [name[:-4] for name, _, _ in scan_files(str(root / "files"), (".hea",))] \
        if (root / "files").is_dir() else []  # fmt: skip
    records = choose_records([f"files/{name}" for name in found], n_records, subjects)
    if not records:
        raise OSError(f"No MIMIC-IV-ECG records (files/p*/p*/s*/*.hea) below {root}"
                      f"{' for these subjects' if subjects is not None else ''}; download them "
                      "with fetch_mimic_iv_ecg().")  # fmt: skip
    bunch = load_wfdb_folder(root, fs=fs, duration=duration, leads=leads, records=records,
                             cache=cache, on_error=on_error, n_jobs=n_jobs,
                             data_home=data_home)  # fmt: skip
    parts = [_RECORD.fullmatch(r) for r in bunch.record_ids]
    bunch.subject_id = np.array([int(m[1]) for m in parts], dtype=np.int64)
    bunch.study_id = np.array([int(m[2]) for m in parts], dtype=np.int64)
    reports = _reports(root / "machine_measurements.csv", set(bunch.study_id.tolist()))
    bunch.reports = np.array([reports.get(s, "") for s in bunch.study_id.tolist()], dtype=str)
    bunch.DESCR = _DESCR.format(
        n=len(bunch.data), subjects=len(np.unique(bunch.subject_id)), skipped=len(bunch.skipped),
        flat=int(bunch.flat_leads.any(axis=1).sum()), leads=", ".join(bunch.leads),
        fs=bunch.fs, duration=duration,
    )  # fmt: skip
    return bunch


def fetch_mimic_iv_ecg(*, data_home: str | os.PathLike | None = None, n_records=None,
                       subjects=None, download_if_missing: bool = True,
                       base_url: str = MIMIC_IV_ECG_URL, n_jobs: int = 8,
                       **load_kwargs):  # fmt: skip
    """Download MIMIC-IV-ECG (all of it, or a number of records or subjects) and load it.

    The list of files and their sha256 (``SHA256SUMS.txt``) comes from ``base_url``.
    The two tables and the ``.hea`` and ``.dat`` files of the chosen records are
    brought into ``<data_home>/mimic-iv-ecg/1.0/`` when missing or damaged:
    concurrently, each to a ``.part`` file that resumes where an interrupted transfer
    stopped (HTTP Range), retried on transient errors and renamed into place only once
    its sha256 matches. A second call downloads nothing. A user can start with
    ``n_records=10_000`` (about 1.1 GB) and ask for more later: only the new records
    are fetched.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Where to keep the data, see :func:`get_data_home`.
    n_records : int, default=None
        The first ``n_records`` records in path order; ``None`` is all 800,035.
    subjects : list of int, default=None
        Only these subjects' records.
    download_if_missing : bool, default=True
        When False, raise an ``OSError`` if the chosen records are not all on disk.
    base_url : str, default=MIMIC_IV_ECG_URL
        URL of the folder holding ``SHA256SUMS.txt``, the tables and ``files/``.
    n_jobs : int, default=8
        Concurrent downloads.
    **load_kwargs
        Passed to :func:`load_mimic_iv_ecg`: ``fs``, ``duration``, ``leads``,
        ``cache``, ``on_error``.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        As returned by :func:`load_mimic_iv_ecg`.

    Examples
    --------
    >>> import tempfile
    >>> from sk3kg.datasets import fetch_mimic_iv_ecg
    >>> fetch_mimic_iv_ecg(data_home=tempfile.mkdtemp(), download_if_missing=False)
    Traceback (most recent call last):
    ...
    OSError: MIMIC-IV-ECG not found in ...
    """
    root = Path(get_data_home(data_home)) / "mimic-iv-ecg" / "1.0"
    select = partial(_select, n_records=n_records, subjects=subjects)
    missing = download_verified(root, base_url, select, download=download_if_missing,
                                n_jobs=n_jobs, desc="Downloading MIMIC-IV-ECG")  # fmt: skip
    if missing:
        raise OSError(
            f"MIMIC-IV-ECG not found in {root}: {describe_missing(missing)}. Call "
            "fetch_mimic_iv_ecg(download_if_missing=True) to download it, or download "
            f"{base_url} yourself and call load_mimic_iv_ecg('<that folder>')."
        )
    return load_mimic_iv_ecg(root, n_records=n_records, subjects=subjects,
                             data_home=data_home, **load_kwargs)  # fmt: skip
