"""PTB-XL's two tables: its records (``ptbxl_database.csv``) and its SCP statements.

Column names and codings are those of version 1.0.3, described by Wagner et al. (2020),
Table 2: ``sex`` is 0 for male and 1 for female; ``scp_codes`` is a Python dict literal
mapping each SCP-ECG statement given for the record to the cardiologist's likelihood
in percent (0 when not stated); ``filename_lr`` / ``filename_hr`` are the paths, without
extension, of the 100 Hz and 500 Hz WFDB records. ``scp_statements.csv`` has the
statement code in its first, unnamed column, 1.0 or nothing in ``diagnostic``, ``form``
and ``rhythm``, and for diagnostic statements a ``diagnostic_subclass`` and a
``diagnostic_class`` (superclass).
"""

from __future__ import annotations

import ast
import csv
import itertools
from pathlib import Path

import numpy as np

__all__ = ["DATABASE", "STATEMENTS", "check_folder", "read_database", "read_statements"]

DATABASE = "ptbxl_database.csv"
STATEMENTS = "scp_statements.csv"
_RECORD_COLUMNS = ("ecg_id", "patient_id", "age", "sex", "scp_codes", "strat_fold",
                   "filename_lr", "filename_hr")  # fmt: skip
_KINDS = ("diagnostic", "form", "rhythm")
_STATEMENT_COLUMNS = (*_KINDS, "diagnostic_class", "diagnostic_subclass")
_SEX = {0.0: "male", 1.0: "female"}
_AGAIN = "The file is damaged: delete it and run fetch_ptbxl() to download it again."


def _challenge_file(root: Path) -> Path | None:
    """A challenge signal file up to four folders below ``root``, the usual wrong turn."""
    found = itertools.chain.from_iterable(root.glob("*/" * depth + "*.mat") for depth in range(5))
    return next(found, None)


def check_folder(root: Path) -> None:
    """Raise ``FileNotFoundError`` saying what to do unless ``root`` holds PTB-XL's table."""
    where = (f"Point load_ptbxl at the folder that holds {DATABASE} (such as "
             "<data_home>/ptbxl/1.0.3/), or call fetch_ptbxl() to download PTB-XL.")  # fmt: skip
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder. {where}")
    if (root / DATABASE).is_file():
        return
    if not any((root / f"records{rate}").is_dir() for rate in (100, 500)):
        challenge = _challenge_file(root)
        hint = (f" It holds PhysioNet/CinC Challenge records ({challenge.name}): load those "
                "with load_physionet2020." if challenge else "")  # fmt: skip
        raise FileNotFoundError(
            f"{root} is not a PTB-XL folder: it has no {DATABASE}, records100/ or "
            f"records500/.{hint} {where}"
        )
    raise FileNotFoundError(
        f"{root / DATABASE} is missing: PTB-XL lists its records and their labels in it. "
        "Run fetch_ptbxl(), which downloads only the files that are missing, or download "
        f"{DATABASE} from PhysioNet into {root}."
    )


def _parse_scp_codes(cell: str, ecg_id: str, path: Path) -> dict[str, float]:
    try:
        codes = ast.literal_eval(cell)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        codes = None
    numbers = isinstance(codes, dict) and all(
        isinstance(k, str) and isinstance(v, int | float) for k, v in codes.items()
    )
    if not numbers:
        raise ValueError(
            f"{path}: the scp_codes of ecg_id {ecg_id} do not parse as a dict of SCP "
            f"statement to likelihood, such as {{'NORM': 100.0, 'SR': 0.0}}: {cell!r}. "
            f"{_AGAIN}"
        )
    return {code: float(likelihood) for code, likelihood in codes.items()}


def _number(text: str) -> float | None:
    """The number in a cell, NaN when empty, None when it is not a number."""
    try:
        return float(text) if text.strip() else np.nan
    except ValueError:
        return None


def _numbers(rows: list[dict], column: str, path: Path, required: bool) -> np.ndarray:
    values = np.full(len(rows), np.nan)
    for i, row in enumerate(rows):
        value = _number(row[column])
        if value is None or (required and np.isnan(value)):
            raise ValueError(
                f"{path}: the {column} of record {i + 1} (ecg_id "
                f"{row['ecg_id']}) is {row[column]!r}, not a number. {_AGAIN}"
            )
        values[i] = value
    return values


def _read_rows(path: Path, columns: tuple[str, ...], what: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(
                f"{path} is not PTB-XL's {what}: it lacks the columns {', '.join(missing)}. "
                f"{_AGAIN}"
            )
        return list(reader)


def read_database(root: Path) -> dict:
    """The columns of ``ptbxl_database.csv`` that the loader returns, parsed and checked."""
    path = root / DATABASE
    rows = _read_rows(path, _RECORD_COLUMNS, "record table")
    if not rows:
        raise ValueError(f"{path} lists no records. {_AGAIN}")
    ids = _numbers(rows, "ecg_id", path, required=True)
    return {
        "ecg_id": ids.astype(np.int64),
        "patient_id": _numbers(rows, "patient_id", path, required=True).astype(np.int64),
        "strat_fold": _numbers(rows, "strat_fold", path, required=True).astype(np.int64),
        "age": _numbers(rows, "age", path, required=False).astype(np.float32),
        "sex": np.array([_SEX.get(s, "unknown") for s in _numbers(rows, "sex", path, False)]),
        "scp_codes": [_parse_scp_codes(r["scp_codes"], r["ecg_id"], path) for r in rows],
        "filename_lr": [r["filename_lr"].strip() for r in rows],
        "filename_hr": [r["filename_hr"].strip() for r in rows],
    }


def read_statements(root: Path) -> dict[str, dict]:
    """``scp_statements.csv`` as {code: {"diagnostic": bool, ..., "diagnostic_class": str}}."""
    path = root / STATEMENTS
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: it tells which SCP statements are diagnostic, form or rhythm "
            "statements. Run fetch_ptbxl(), which downloads only the files that are missing, "
            "or pass task='all', which needs no statement table."
        )
    statements = {}
    for row in _read_rows(path, ("", *_STATEMENT_COLUMNS), "statement table"):
        kinds = {kind: row[kind].strip() in ("1", "1.0") for kind in _KINDS}
        classes = {c: row[c].strip() for c in ("diagnostic_class", "diagnostic_subclass")}
        statements[row[""].strip()] = {**kinds, **classes}
    return statements
