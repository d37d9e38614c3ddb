"""Load PTB-XL from disk: WFDB signals into one cached array, labels from its tables."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ...vcg import STANDARD_LEADS
from .._base import get_data_home
from .._cache import cache_key, load_cached, parse_to_npy
from .._folder import read_wfdb_record
from ._labels import PTBXL_TASKS, task_target
from ._tables import DATABASE, check_folder, read_database, read_statements

__all__ = ["load_ptbxl", "source_rate"]

_CACHE_VERSION = 1  # bump when the cached arrays would change for the same inputs
_BATCH = 32  # records per parallel task: large enough to hide the dispatch cost
_DURATION = 10.0  # seconds, the length of every PTB-XL record
_FILENAME_COLUMN = {100: "filename_lr", 500: "filename_hr"}
_AGAIN = "delete them and run fetch_ptbxl(), which downloads them again"


def source_rate(fs: float, source_fs: int | None) -> int:
    """The copy of the signals to read: ``source_fs``, else 100 Hz up to ``fs=100``, else 500."""
    if source_fs is None:
        return 100 if fs <= 100 else 500
    if source_fs not in _FILENAME_COLUMN:
        raise ValueError(f"source_fs must be 100, 500 or None, got {source_fs!r}.")
    return int(source_fs)


def _read_record(path: str, fs: float, n_samples: int) -> dict:
    """One record in mV, standard lead order, resampled to ``fs`` and fitted to ``n_samples``."""
    record = read_wfdb_record(path, STANDARD_LEADS, fs, n_samples)
    return {"data": record["data"], "flat_leads": record["flat"]}


def _read_batch(root: str, names: list[str], fs: float, n_samples: int) -> list[dict]:
    results = []
    for name in names:
        try:
            results.append(_read_record(f"{root}/{name}", fs, n_samples))
        except Exception as exc:  # noqa: BLE001 - name the record whatever failed
            raise ValueError(
                f"Cannot read PTB-XL record {name} ({root}/{name}.hea and .dat): {exc}. The "
                f"files are damaged or not PTB-XL's: {_AGAIN}."
            ) from None
    return results


def _missing_message(root: Path, missing: list[str], n_listed: int, rate: int) -> str:
    other = 500 if rate == 100 else 100
    have_other = (root / f"records{other}").is_dir()
    hint = (f" You have the {other} Hz copy: pass fs={other} to read it as it is, or "
            f"source_fs={other} to resample it." if have_other else "")  # fmt: skip
    return (
        f"{len(missing)} of the {n_listed} records listed in {root / DATABASE} are not on "
        f"disk, e.g. {missing[0]} (.hea and .dat). Run fetch_ptbxl(fs={rate}) to download "
        f"the {rate} Hz copy, records{rate}/.{hint}"
    )


def _fingerprint(root: Path, names: list[str], rate: int) -> list[tuple[str, int, int]]:
    """Name, size and modification time of each record's files; raise if any is missing."""
    found, missing = [], []
    for name in names:
        for extension in (".hea", ".dat"):
            try:
                st = os.stat(f"{root}/{name}{extension}")
            except FileNotFoundError:
                missing.append(name)
                break
            found.append((name + extension, st.st_size, st.st_mtime_ns))
    if missing:
        raise FileNotFoundError(_missing_message(root, missing, len(names), rate))
    return found


def _build_cache(target: Path, root: Path, names: list[str], fs: float, n_samples: int,
                 n_jobs: int | None) -> dict:  # fmt: skip
    flat = []

    def on_record(name: str, result: dict) -> bool:
        flat.append(result["flat_leads"])
        return True

    read = partial(_read_batch, str(root), fs=fs, n_samples=n_samples)
    row_shape = (len(STANDARD_LEADS), n_samples)
    parse_to_npy(target, names, read, row_shape, on_record, n_jobs=n_jobs, batch=_BATCH)
    return {"flat_leads": np.array(flat, dtype=bool).reshape(-1, len(STANDARD_LEADS))}


def _load_signals(root: Path, names: list[str], fs: float, rate: int, cache: bool,
                  data_home, n_jobs: int | None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    n_samples = round(fs * _DURATION)
    key = cache_key(_fingerprint(root, names, rate), _CACHE_VERSION, fs, n_samples)
    folder = Path(get_data_home(data_home)) / "ptbxl" / "cache" / key if cache else None
    build = partial(_build_cache, root=root, names=names, fs=fs, n_samples=n_samples,
                    n_jobs=n_jobs)  # fmt: skip
    data, columns = load_cached(folder, build)
    return data, columns["flat_leads"]


def _check_params(fs: float, task: str) -> None:
    if task not in PTBXL_TASKS:
        raise ValueError(f"task must be one of {PTBXL_TASKS}, got {task!r}.")
    if not fs > 0:
        raise ValueError(f"fs must be positive, got {fs}.")


def load_ptbxl(
    path: str | os.PathLike,
    *,
    fs: float = 500,
    task: str = "superdiagnostic",
    source_fs: int | None = None,
    cache: bool = True,
    n_jobs: int | None = None,
    data_home: str | os.PathLike | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load PTB-XL from its folder: every record, its labels for a task, its fold.

    The records are those of ``ptbxl_database.csv``, in its order (by ``ecg_id``).
    Their WFDB files are read with :func:`wfdb.rdrecord` from ``records100/`` when
    ``fs <= 100`` and from ``records500/`` otherwise, scaled to mV, put in the lead
    order of ``leads``, and resampled to ``fs`` (polyphase filter) when it differs.
    The signals are cached under the data home, keyed by the files' names, sizes and
    modification times and by ``fs``; the next call returns them as a memory map.

    The labels follow the PTB-XL benchmark (Strodthoff et al. 2021, and its code):
    every SCP statement listed in a record's ``scp_codes`` counts as present, whatever
    its likelihood, 0 included; a task's labels are the statements of that kind
    (``"all"``, ``"diagnostic"``, ``"form"``, ``"rhythm"``) or the diagnostic sub- or
    superclasses of the diagnostic statements (``"subdiagnostic"``,
    ``"superdiagnostic"``) that occur in at least one record, sorted by name: 71, 44,
    19, 12, 23 and 5 labels on PTB-XL 1.0.3. Records with none of the task's labels
    keep an all-zero row; the benchmark leaves them out, which
    ``ptbxl_split(..., labelled=ecg.target.any(axis=1))`` does.

    Parameters
    ----------
    path : str or path-like
        The folder holding ``ptbxl_database.csv``, ``scp_statements.csv`` and
        ``records100/`` or ``records500/``, such as ``<data_home>/ptbxl/1.0.3``.
    fs : float, default=500
        Sampling rate of the output, in Hz. Every record lasts 10 s, so ``data`` has
        ``round(10 * fs)`` samples.
    task : {"all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm"}, \
default="superdiagnostic"
        The label set, one of :data:`PTBXL_TASKS`.
    source_fs : {100, 500}, default=None
        Which copy of the signals to read, ``records100/`` or ``records500/``; when
        None, 100 if ``fs <= 100``, else 500.
    cache : bool, default=True
        Keep the signals under the data home and memory-map them. When False, read
        into memory and keep nothing.
    n_jobs : int, default=None
        Processes reading records in parallel; ``None`` means 1 unless set by
        ``joblib.parallel_config``, ``-1`` all cores.
    data_home : str or path-like, default=None
        Where the cache lives, see :func:`get_data_home`.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (n_records, 12, round(10 * fs))
            The signals in mV, float32, leads in the order of ``leads``; a memory map
            when ``cache`` is True.
        target : ndarray of uint8 of shape (n_records, n_labels)
            1 where the record carries the label.
        target_names : list of str
            The task's labels: SCP statement codes, or diagnostic (sub)classes.
        task : str
            The label set.
        ecg_id : ndarray of int of shape (n_records,)
            PTB-XL's record number.
        patient_id : ndarray of int of shape (n_records,)
            The patient; some have several records.
        strat_fold : ndarray of int of shape (n_records,)
            The record's fold, 1 to 10, see :func:`ptbxl_split`.
        age : ndarray of float32 of shape (n_records,)
            Age in years as PTB-XL gives it, NaN where missing.
        sex : ndarray of str of shape (n_records,)
            ``"male"`` (0 in PTB-XL's table), ``"female"`` (1) or ``"unknown"``.
        record_ids : ndarray of str of shape (n_records,)
            The file read, relative to ``path`` and without extension, such as
            ``records500/00000/00001_hr``.
        scp_codes : list of dict
            Each record's SCP statements and the likelihoods (in %) given to them.
        flat_leads : ndarray of bool of shape (n_records, 12)
            Leads whose samples all have one value in the file read.
        fs : float
            Sampling rate, in Hz.
        leads : tuple of str
            Lead order, :data:`~sk3kg.vcg.STANDARD_LEADS`.
        n_unlabelled : int
            Number of records with an all-zero ``target`` row.
        DESCR : str
            Description of the data set.
    (data, target) : tuple
        When ``return_X_y`` is True.

    See Also
    --------
    fetch_ptbxl : Download PTB-XL, then load it with this function.
    ptbxl_split : The recommended training, validation and test records.

    References
    ----------
    .. [1] Wagner P, Strodthoff N, Bousseljot RD, et al. PTB-XL, a large publicly
       available electrocardiography dataset. Sci Data 7 (2020) 154.
    .. [2] Strodthoff N, Wagner P, Schaeffter T, Samek W. Deep learning for ECG analysis:
       benchmarks and insights from PTB-XL. IEEE J Biomed Health Inform 25 (2021)
       1519-1528.

    Examples
    --------
    >>> import tempfile
    >>> from sk3kg.datasets import load_ptbxl
    >>> load_ptbxl(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    FileNotFoundError: ... is not a PTB-XL folder: it has no ptbxl_database.csv, ...
    """
    _check_params(fs, task)
    rate = source_rate(fs, source_fs)
    root = Path(path)
    check_folder(root)
    table = read_database(root)
    statements = {} if task == "all" else read_statements(root)
    target, names = task_target(table["scp_codes"], statements, task)
    record_ids = table[_FILENAME_COLUMN[rate]]
    data, flat = _load_signals(root, record_ids, fs, rate, cache, data_home, n_jobs)
    if return_X_y:
        return data, target
    n_unlabelled = int((target.sum(axis=1) == 0).sum())
    return Bunch(
        data=data,
        target=target,
        target_names=names,
        task=task,
        ecg_id=table["ecg_id"],
        patient_id=table["patient_id"],
        strat_fold=table["strat_fold"],
        age=table["age"],
        sex=table["sex"],
        record_ids=np.asarray(record_ids, dtype=str),
        scp_codes=table["scp_codes"],
        flat_leads=flat,
        fs=fs,
        leads=STANDARD_LEADS,
        n_unlabelled=n_unlabelled,
        DESCR=_DESCR.format(
            n=len(record_ids), n_patients=len(np.unique(table["patient_id"])), task=task,
            n_labels=len(names), unlabelled=n_unlabelled, rate=rate, fs=fs,
            n_flat=int(flat.any(axis=1).sum()),
        ),
    )  # fmt: skip


_DESCR = """\
.. _ptbxl_dataset:

PTB-XL 12-lead ECGs
-------------------

**Data set characteristics:**

:Records: {n} from {n_patients} patients, in ten folds (``strat_fold``)
:Labels: task "{task}", {n_labels} labels; {unlabelled} records carry none of them
:Signals: 12 leads (I, II, III, aVR, aVL, aVF, V1-V6) in mV, 10 s, read at {rate} Hz
    and given at {fs} Hz
:Flat leads: {n_flat} records have a lead whose samples all have one value
:License: CC BY 4.0

PTB-XL (version 1.0.3) holds 21,799 clinical 12-lead ECGs of 10 s from 18,869
patients, recorded with Schiller devices between October 1989 and June 1996. Up to two
cardiologists annotated each with statements of the SCP-ECG standard (71 in all:
diagnostic, form and rhythm statements) and a likelihood for each. PhysioNet serves
every record at 500 Hz (``records500/``) and downsampled to 100 Hz (``records100/``).

The six label sets are those of the PTB-XL benchmark (Strodthoff et al. 2021): every
statement listed for a record counts, whatever its likelihood; diagnostic statements
roll up into 23 subclasses and 5 superclasses (NORM, MI, STTC, CD, HYP). Folds 9 and 10
hold only human-validated labels; the recommended split trains on folds 1-8, validates
on 9 and tests on 10 (``ptbxl_split``), and keeps each patient in one part.

.. rubric:: References

- Wagner P, Strodthoff N, Bousseljot RD, et al. PTB-XL, a large publicly available
  electrocardiography dataset. Sci Data 7 (2020) 154.
- Strodthoff N, Wagner P, Schaeffter T, Samek W. Deep learning for ECG analysis:
  benchmarks and insights from PTB-XL. IEEE J Biomed Health Inform 25 (2021) 1519-1528.
- Goldberger A, Amaral L, Glass L, et al. PhysioBank, PhysioToolkit, and PhysioNet.
  Circulation 101 (2000) e215-e220.
"""
