"""Load the PhysioNet/CinC Challenge 2020 training data: the challenge reader, 2020 sources."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from sklearn.utils import Bunch

from ._reader import ChallengeYear, load_challenge
from ._tables import SOURCES

__all__ = ["load_physionet2020"]


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
