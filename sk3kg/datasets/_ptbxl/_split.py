"""The recommended split of PTB-XL: folds 1-8 to train, 9 to validate, 10 to test."""

from __future__ import annotations

import numpy as np

__all__ = ["ptbxl_split"]

_FOLDS = {"train": range(1, 9), "valid": (9,), "test": (10,)}


def ptbxl_split(strat_fold, *, labelled=None) -> dict[str, np.ndarray]:
    """Indices of the training, validation and test records of PTB-XL's recommended split.

    PTB-XL's ``strat_fold`` puts each patient, with all their records, in one of ten
    folds stratified by labels, age and sex. Folds 9 and 10 hold only records whose
    labels a cardiologist validated; Wagner et al. (2020) recommend training on folds
    1-8, validating on fold 9 and testing on fold 10, as the PTB-XL benchmark
    (Strodthoff et al. 2021) does. No patient is in two parts.

    Parameters
    ----------
    strat_fold : array-like of int of shape (n_records,)
        Each record's fold, 1 to 10, such as ``load_ptbxl(...).strat_fold``.
    labelled : array-like of bool of shape (n_records,), default=None
        Keep only these records. The benchmark leaves out the records that carry none
        of the task's labels: pass ``ecg.target.any(axis=1)`` to do the same.

    Returns
    -------
    split : dict of str to ndarray of int
        Ascending row indices under ``"train"``, ``"valid"`` and ``"test"``.

    See Also
    --------
    load_ptbxl : Returns ``strat_fold`` with the records.

    References
    ----------
    .. [1] Wagner P, Strodthoff N, Bousseljot RD, et al. PTB-XL, a large publicly
       available electrocardiography dataset. Sci Data 7 (2020) 154.
    .. [2] Strodthoff N, Wagner P, Schaeffter T, Samek W. Deep learning for ECG analysis:
       benchmarks and insights from PTB-XL. IEEE J Biomed Health Inform 25 (2021)
       1519-1528.

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg.datasets import ptbxl_split
    >>> folds = np.array([1, 9, 10, 8, 3, 10])
    >>> ptbxl_split(folds)
    {'train': array([0, 3, 4]), 'valid': array([1]), 'test': array([2, 5])}
    >>> ptbxl_split(folds, labelled=[True, True, False, True, False, True])["test"]
    array([5])
    """
    folds = np.asarray(strat_fold)
    if folds.ndim != 1 or not np.isin(folds, np.arange(1, 11)).all():
        raise ValueError(
            "strat_fold must be a 1-d array of PTB-XL folds, integers from 1 to 10; got "
            f"values {np.unique(folds)[:10].tolist()} of shape {folds.shape}."
        )
    keep = np.ones(folds.shape, dtype=bool) if labelled is None else np.asarray(labelled, bool)
    if keep.shape != folds.shape:
        raise ValueError(f"labelled has shape {keep.shape}; strat_fold has {folds.shape}.")
    return {part: np.flatnonzero(np.isin(folds, f) & keep) for part, f in _FOLDS.items()}
