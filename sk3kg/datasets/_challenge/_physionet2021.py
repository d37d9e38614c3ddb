"""Load the PhysioNet/CinC Challenge 2021 training data: the challenge reader, 2021 sources."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from sklearn.utils import Bunch

from ._reader import ChallengeYear, load_challenge
from ._tables import SOURCES_2021

__all__ = ["load_physionet2021"]


def load_physionet2021(
    path: str | os.PathLike,
    *,
    sources: Sequence[str] | None = None,
    fs: float = 500,
    duration: float = 10.0,
    classes: str = "merged2021",
    crop: str = "start",
    cache: bool = True,
    on_error: str = "skip",
    skip_flat: bool = False,
    n_jobs: int | None = None,
    data_home: str | os.PathLike | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load PhysioNet/CinC Challenge 2021 records from a folder, as arrays and labels.

    The 2021 training data (version 1.0.3) hold the six sources of 2020 and the
    Chapman-Shaoxing and Ningbo records, in the same format, one folder per source
    with subfolders ``g1``, ``g2``, ... (``training/ningbo/g1/JS10647.hea``). They
    are read exactly as :func:`load_physionet2020` reads the 2020 data: every
    ``.hea`` file below ``path`` is a record, signals in mV are resampled to ``fs``
    and cropped or zero-padded to ``duration``, flat leads are marked in
    ``flat_leads``, and the arrays are cached under the data home
    (``<data_home>/physionet2021/cache``) and returned as a memory map. The labels
    default to the 26 classes of the 2021 metric.

    Parameters
    ----------
    path : str or path-like
        Folder holding the records (any depth), such as the ``training`` folder of
        the challenge's version 1.0.3.
    sources : list of str, default=None
        Only these sources (keys of :data:`SOURCES_2021`, or ``"unknown"``), told
        by the folder names of 1.0.3 or else by the record name (the prefix, and
        for ``JS`` records the number: JS00001-JS10646 are Chapman-Shaoxing's,
        JS10647-JS45551 Ningbo's). All when None.
    fs : float, default=500
        Sampling rate of the output, in Hz.
    duration : float, default=10.0
        Length of the output, in seconds.
    classes : str, default="merged2021"
        Class set of the target, one of :data:`CLASS_SETS` (see
        :func:`get_class_set`): ``"merged2021"`` (26 classes, the 2021 metric's) or
        ``"scored2021"`` (the 30 codes scored in 2021); the 2020 sets leave out the
        three codes only 2021 scores.
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
        Leave out the records with one or more flat leads (every sample of the lead
        equal), listing them in ``skipped`` and in one warning.
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
        The fields of :func:`load_physionet2020`'s result: ``data`` (n_records, 12,
        round(fs * duration)) in mV, ``target``, ``target_names``,
        ``target_codes``, ``record_ids``, ``sources`` (keys of
        :data:`SOURCES_2021`, or ``"unknown"``), ``age``, ``sex``, ``lengths``,
        ``flat_leads``, ``fs``, ``leads``, ``skipped``, ``n_unlabelled`` and
        ``DESCR``.
    (data, target) : tuple
        When ``return_X_y`` is True.

    See Also
    --------
    fetch_physionet2021 : Download the data, then load it with this function.
    load_physionet2020 : The same for the 2020 challenge's data.
    sk3kg.metrics.challenge_score : The challenge metric, with ``year=2021``.

    References
    ----------
    .. [1] M. A. Reyna et al., "Will Two Do? Varying Dimensions in
       Electrocardiography: The PhysioNet/Computing in Cardiology Challenge
       2021", Computing in Cardiology 48, 2021.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sk3kg.datasets import load_physionet2021, write_physionet2020
    >>> root = Path(tempfile.mkdtemp())
    >>> signals = np.sin(np.linspace(0, 60, 1000)) * np.ones((2, 12, 1))
    >>> _ = write_physionet2020(root / "training" / "ningbo" / "g1", signals, 500,
    ...                         dx_codes=["164909002", "733534002"],
    ...                         record_ids=["JS10647", "JS10648"])
    >>> ecg = load_physionet2021(root / "training", duration=2.0, data_home=tempfile.mkdtemp())
    >>> ecg.data.shape, ecg.sources.tolist()
    ((2, 12, 1000), ['ningbo', 'ningbo'])
    >>> ecg.target_names[4], ecg.target[:, 4]  # complete LBBB and LBBB: one class
    ('CLBBB', array([1, 1], dtype=uint8))
    """
    return load_challenge(_CHALLENGE_2021, path, sources=sources, fs=fs, duration=duration,
                          classes=classes, crop=crop, cache=cache, on_error=on_error,
                          skip_flat=skip_flat, n_jobs=n_jobs, data_home=data_home,
                          return_X_y=return_X_y)  # fmt: skip


_DESCR = """\
.. _physionet2021_dataset:

PhysioNet/CinC Challenge 2021 12-lead ECGs
------------------------------------------

{characteristics}

The public training set of the 2021 challenge (version 1.0.3, 88,253 records) holds
the six sources of the 2020 challenge (CPSC 2018 and its unused part, St Petersburg
INCART, PTB, PTB-XL and Georgia; 43,101 records) and the Chapman University, Shaoxing
People's Hospital and Ningbo First Hospital database: Chapman-Shaoxing (10,247
records) and Ningbo (34,905), 10 s at 500 Hz. Each record carries SNOMED CT diagnosis
codes; 30 of them are scored, the 27 of 2020 with bundle branch block, complete left
bundle branch block and poor R wave progression. The challenge scores four pairs as
one class (713427006 = 59118001, 284470004 = 63593006, 427172004 = 17338001,
733534002 = 164909002), giving 26 classes ("merged2021"). The 2021 challenge tested
models on 12, 6, 4, 3 and 2 leads; its training records all have 12.

.. rubric:: References

- Reyna MA, Sadr N, Perez Alday EA, et al. Will Two Do? Varying Dimensions in
  Electrocardiography: The PhysioNet/Computing in Cardiology Challenge 2021.
  Computing in Cardiology 48 (2021) 1-4.
- Reyna MA, Sadr N, Perez Alday EA, et al. Issues in the automated classification
  of multilead ECGs using heterogeneous labels and populations. Physiol Meas (2022).
- Goldberger A, Amaral L, Glass L, et al. PhysioBank, PhysioToolkit, and PhysioNet.
  Circulation 101 (2000) e215-e220.
"""

_CHALLENGE_2021 = ChallengeYear(2021, SOURCES_2021, _DESCR)
