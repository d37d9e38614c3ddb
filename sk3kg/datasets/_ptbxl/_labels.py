"""The six label sets of the PTB-XL benchmark (Strodthoff et al. 2021), from SCP statements.

Each task maps a record's SCP statements to labels: ``"all"`` keeps every statement,
``"diagnostic"``, ``"form"`` and ``"rhythm"`` keep the statements of that kind
(a statement can be both diagnostic and form), ``"subdiagnostic"`` and
``"superdiagnostic"`` replace each diagnostic statement by its ``diagnostic_subclass``
or ``diagnostic_class``. On PTB-XL 1.0.3 the tasks have 71, 44, 19, 12, 23 and 5
labels.

As in the benchmark's code (``compute_label_aggregations`` and ``select_data`` in
``code/utils/utils.py`` of github.com/helme/ecg_ptbxl_benchmarking), every statement
listed in a record's ``scp_codes`` is a positive label whatever its likelihood, 0
included (record 1 lists ``{'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}``: three labels),
and the labels of a task are those that occur in at least one record
(``min_samples=0``), sorted by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["PTBXL_TASKS", "task_target"]

#: The label sets of the PTB-XL benchmark (Strodthoff et al. 2021), for ``load_ptbxl(task=)``.
PTBXL_TASKS = ("all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm")
_CLASS_COLUMN = {"subdiagnostic": "diagnostic_subclass", "superdiagnostic": "diagnostic_class"}


def _labels_of(code: str, statement: dict | None, task: str) -> tuple[str, ...]:
    if task == "all":
        return (code,)
    if statement is None:
        return ()
    if task in ("diagnostic", "form", "rhythm"):
        return (code,) if statement[task] else ()
    label = statement[_CLASS_COLUMN[task]] if statement["diagnostic"] else ""
    return (label,) if label else ()


def task_target(scp_codes: Sequence[dict], statements: dict, task: str):
    """The 0/1 matrix of a task's labels for each record, and the labels' names.

    Parameters
    ----------
    scp_codes : list of dict
        Each record's statements, mapped to their likelihoods (ignored).
    statements : dict
        ``scp_statements.csv`` as read by ``read_statements``; unused for ``"all"``.
    task : str
        One of :data:`PTBXL_TASKS`.

    Returns
    -------
    target : ndarray of uint8 of shape (n_records, n_labels)
    names : list of str

    Examples
    --------
    >>> statements = {"IMI": {"diagnostic": True, "form": False, "rhythm": False,
    ...                       "diagnostic_subclass": "IMI", "diagnostic_class": "MI"},
    ...               "SR": {"diagnostic": False, "form": False, "rhythm": True,
    ...                      "diagnostic_subclass": "", "diagnostic_class": ""}}
    >>> codes = [{"IMI": 50.0, "SR": 0.0}, {"SR": 0.0}]
    >>> task_target(codes, statements, "superdiagnostic")
    (array([[1], [0]], dtype=uint8), ['MI'])
    >>> task_target(codes, statements, "all")
    (array([[1, 1], [0, 1]], dtype=uint8), ['IMI', 'SR'])
    """
    if task not in PTBXL_TASKS:
        raise ValueError(f"task must be one of {PTBXL_TASKS}, got {task!r}.")
    labels = [
        {label for code in codes for label in _labels_of(code, statements.get(code), task)}
        for codes in scp_codes
    ]
    names = sorted(set().union(*labels))
    column = {name: j for j, name in enumerate(names)}
    target = np.zeros((len(labels), len(names)), dtype=np.uint8)
    for i, record in enumerate(labels):
        target[i, [column[name] for name in record]] = 1
    return target, names
