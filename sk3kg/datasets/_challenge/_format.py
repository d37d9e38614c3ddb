"""Records in the format of the PhysioNet/CinC Challenges 2020-2021: read one, write many.

A record is a WFDB header ``<id>.hea`` and a MATLAB v4 file ``<id>.mat`` holding one
int16 matrix ``val`` of shape (12, n_samples). The MAT v4 preamble is 24 bytes, after
which the samples are interleaved exactly as WFDB format 16, so the header describes
the file as ``<id>.mat 16+24 <gain>/mV 16 0 <first sample> <checksum> 0 <lead>``.

We parse the header ourselves because the challenge's own headers are not all valid
WFDB: the Georgia records name the record ``E00001.mat`` on the record line, which
wfdb 4.3 rejects ("invalid syntax in record line"), and PTB-XL writes ``1000/mv``.
The ``.mat`` files are read with :func:`scipy.io.loadmat` (0.15 ms a record against
3.9 ms for :func:`wfdb.rdrecord`, measured on the sample records); any other WFDB
signal file is read with :func:`wfdb.rdrecord`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io

from ...vcg import resolve_leads
from .._base import atomic_path
from ._tables import CHALLENGE_LEADS

__all__ = ["RecordError", "flat_leads", "read_header", "read_signal", "write_physionet2020"]

_FMT = re.compile(r"^(?P<fmt>\d+)(?:x\d+)?(?::\d+)?(?:\+(?P<offset>\d+))?$")
_GAIN = re.compile(
    r"^(?P<gain>[-+]?[\d.]+(?:[eE][-+]?\d+)?)(?:\((?P<base>-?\d+)\))?(?:/(?P<unit>\S+))?$"
)
_UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "v": 1e3}
_MISSING = -32768  # WFDB format 16 marks a missing sample with the smallest int16
_GAIN_ADU_PER_MV = 1000.0  # the challenge's gain for every source


class RecordError(ValueError):
    """A record that cannot be read; the message names the record and the problem."""


@dataclass
class Header:
    """What the header of one challenge record says."""

    record: str
    fs: float
    n_samples: int
    signal_file: str
    leads: list[str]
    gains: np.ndarray
    baselines: np.ndarray
    to_mv: np.ndarray
    checksums: list[int] | None = None
    comments: dict[str, str] = field(default_factory=dict)

    @property
    def dx_codes(self) -> list[str]:
        """SNOMED CT codes of ``#Dx:``, empty entries dropped, duplicates kept once."""
        codes = (c.strip() for c in self.comments.get("dx", "").split(","))
        return list(dict.fromkeys(c for c in codes if c))


def _parse_record_line(tokens: list[str], record: str) -> tuple[float, int]:
    if len(tokens) < 4 or not tokens[1].isdigit():
        raise RecordError(
            f"{record}: header record line {' '.join(tokens)!r} lacks the signal "
            "count, sampling rate and length; rewrite the header."
        )
    try:
        fs = float(tokens[2].split("/")[0])
        n_samples = int(tokens[3])
    except ValueError:
        raise RecordError(
            f"{record}: cannot read sampling rate and length from header record "
            f"line {' '.join(tokens)!r}."
        ) from None
    if fs <= 0 or n_samples <= 0:
        raise RecordError(f"{record}: header gives fs={fs} and {n_samples} samples.")
    return fs, n_samples


def _parse_signal_line(tokens: list[str], record: str) -> tuple[float, int, float, int | None]:
    gain = _GAIN.match(tokens[2]) if len(tokens) > 2 else None
    if gain is None or not _FMT.match(tokens[1]):
        raise RecordError(f"{record}: cannot read the signal line {' '.join(tokens)!r}.")
    unit = (gain["unit"] or "mV").lower()
    if unit not in _UNIT_TO_MV:
        raise RecordError(f"{record}: unit {gain['unit']!r} is not a voltage.")
    adc_zero = int(tokens[4]) if len(tokens) > 4 else 0
    baseline = int(gain["base"]) if gain["base"] is not None else adc_zero
    checksum = int(tokens[6]) if len(tokens) > 6 else None
    return float(gain["gain"]) or 200.0, baseline, _UNIT_TO_MV[unit], checksum


def read_header(path: str | os.PathLike) -> Header:
    """Parse a challenge ``.hea`` file (both the 2020 spelling and wfdb's)."""
    path = Path(path)
    record = path.stem
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise RecordError(f"{record}: cannot read header {path} ({exc.strerror}).") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    specs = [line.split() for line in lines if not line.startswith("#")]
    if not specs:
        raise RecordError(f"{record}: header {path} is empty.")
    fs, n_samples = _parse_record_line(specs[0], record)
    try:
        signals = [_parse_signal_line(tokens, record) for tokens in specs[1:]]
    except ValueError as exc:
        if isinstance(exc, RecordError):
            raise
        raise RecordError(f"{record}: malformed signal line in header {path} ({exc}).") from None
    if len(signals) != int(specs[0][1]) or len(signals) == 0:
        raise RecordError(
            f"{record}: header announces {specs[0][1]} signals but describes {len(signals)}."
        )
    gains, baselines, to_mv, checksums = zip(*signals, strict=True)
    comments = {}
    for line in lines:
        if line.startswith("#") and ":" in line:
            key, _, value = line.lstrip("#").partition(":")
            comments[key.strip().lower()] = value.strip()
    return Header(
        record=record,
        fs=fs,
        n_samples=n_samples,
        signal_file=specs[1][0],
        leads=[tokens[8] if len(tokens) > 8 else "" for tokens in specs[1:]],
        gains=np.array(gains),
        baselines=np.array(baselines),
        to_mv=np.array(to_mv),
        checksums=None if None in checksums else list(checksums),
        comments=comments,
    )


def _load_digital(header: Header, folder: Path) -> np.ndarray:
    path = folder / header.signal_file
    if not path.is_file():
        raise RecordError(
            f"{header.record}: signal file {path} is missing; download it again or delete "
            "its header."
        )
    try:
        if path.suffix == ".mat":
            return np.asarray(scipy.io.loadmat(path, variable_names=["val"])["val"])
        import wfdb  # only for signal files other than the challenge's .mat; slow to import

        return wfdb.rdrecord(str(folder / header.record), physical=False).d_signal.T
    except Exception as exc:  # noqa: BLE001 - any reader failure means an unreadable file
        raise RecordError(
            f"{header.record}: cannot read signal file {path} ({exc}); the file is damaged, "
            "download it again."
        ) from None


def _check_digital(val: np.ndarray, header: Header) -> None:
    record, leads = header.record, np.array(header.leads)
    if val.ndim != 2 or val.shape[0] != len(header.leads):
        raise RecordError(
            f"{record}: signal file holds shape {val.shape}, header describes "
            f"{len(header.leads)} leads."
        )
    if val.shape[1] != header.n_samples:
        raise RecordError(
            f"{record}: signal file holds {val.shape[1]} samples, header says "
            f"{header.n_samples}; the file is truncated or the header wrong."
        )
    if np.issubdtype(val.dtype, np.floating):
        bad = ~np.isfinite(val).all(axis=1)
        if bad.any():
            raise RecordError(
                f"{record}: NaN or infinite samples in leads {', '.join(leads[bad])}."
            )
    else:
        bad = (val == _MISSING).any(axis=1)
        if bad.any():
            raise RecordError(
                f"{record}: missing-sample value -32768 in leads {', '.join(leads[bad])}."
            )
        if header.checksums is not None:
            # A 16-bit sum; the challenge writes it signed, wfdb-python unsigned.
            difference = val.astype(np.int64).sum(axis=1) - np.array(header.checksums)
            bad = difference % 65536 != 0
            if bad.any():
                raise RecordError(
                    f"{record}: checksum of leads {', '.join(leads[bad])} disagrees "
                    "with the header; the signal file is corrupt."
                )


def _lead_order(header: Header) -> list[int]:
    try:
        leads = resolve_leads(header.leads)
    except ValueError:
        leads = ()
    if sorted(leads) != sorted(CHALLENGE_LEADS):
        raise RecordError(
            f"{header.record}: leads {', '.join(header.leads)}; expected the 12 "
            f"standard leads {', '.join(CHALLENGE_LEADS)}."
        )
    return [leads.index(name) for name in CHALLENGE_LEADS]


def flat_leads(signal: np.ndarray) -> np.ndarray:
    """Which leads are flat: every sample of the lead has the same value.

    The challenge data ship some records with flat leads, all of them zero in the
    records we have seen (e.g. V2, V4 and V6 of the 2021 records JS20004 and JS20008).
    Any constant counts, as a constant lead carries no signal whatever its offset.

    Examples
    --------
    >>> import numpy as np
    >>> flat_leads(np.array([[0, 0, 0], [3, 3, 3], [0, 1, 0]]))
    array([ True,  True, False])
    """
    return np.ptp(signal, axis=-1) == 0


def read_signal(header: Header, folder: str | os.PathLike) -> np.ndarray:
    """Read, check and scale a record's signal to mV, shape (12, n_samples), float64."""
    val = _load_digital(header, Path(folder))
    _check_digital(val, header)
    order = _lead_order(header)
    scale = header.to_mv / header.gains
    signal = (val - header.baselines[:, None]) * scale[:, None]
    return signal[order]


def _header_text(
    record: str, fs: float, val: np.ndarray, leads: Sequence[str], comments: dict[str, str]
) -> str:
    fs_text = str(int(fs)) if float(fs).is_integer() else repr(float(fs))
    checksums = (val.astype(np.int64).sum(axis=1) + 32768) % 65536 - 32768
    lines = [f"{record} {len(leads)} {fs_text} {val.shape[1]}"]
    lines += [
        f"{record}.mat 16+24 {_GAIN_ADU_PER_MV:g}/mV 16 0 {val[i, 0]} {checksums[i]} 0 {lead}"
        for i, lead in enumerate(leads)
    ]
    lines += [f"#{key}: {value}" for key, value in comments.items()]
    return "\n".join(lines) + "\n"


def _quantise(signal: np.ndarray, record: str) -> np.ndarray:
    digital = np.round(np.asarray(signal, dtype=np.float64) * _GAIN_ADU_PER_MV)
    if not np.isfinite(digital).all():
        raise ValueError(f"{record}: the signal holds NaN or infinite values.")
    limit = np.iinfo(np.int16).max
    if np.abs(digital).max(initial=0) > limit:
        raise ValueError(
            f"{record}: |signal| exceeds {limit / _GAIN_ADU_PER_MV} mV, the range "
            "of the challenge format (int16 at 1000 adu/mV); clip it first."
        )
    return digital.astype(np.int16)


def _per_record(values: Sequence | None, n: int, name: str, default: object) -> list:
    if values is None:
        return [default] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries for {n} records.")
    return values


def _as_records(data: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    records = list(data) if not isinstance(data, np.ndarray) or data.ndim == 3 else [data]
    for i, signal in enumerate(records):
        if np.ndim(signal) != 2 or np.shape(signal)[0] != len(CHALLENGE_LEADS):
            raise ValueError(
                f"Record {i} has shape {np.shape(signal)}; expected (12, n_samples) "
                "in the lead order I, II, III, aVR, aVL, aVF, V1-V6."
            )
    return records


def _format_age(age: object) -> str:
    if age is None or (isinstance(age, float) and np.isnan(age)):
        return "NaN"
    return f"{float(age):g}"


def write_physionet2020(
    path: str | os.PathLike,
    data: np.ndarray | Sequence[np.ndarray],
    fs: float,
    *,
    dx_codes: Sequence[Sequence[str] | str],
    record_ids: Sequence[str] | None = None,
    age: Sequence[float | None] | None = None,
    sex: Sequence[str | None] | None = None,
    leads: str | Sequence[str] = "standard",
) -> list[str]:
    """Write ECGs as PhysioNet/CinC Challenge 2020 records (``.hea`` + ``.mat``).

    Each record is written exactly as the challenge ships it: a MATLAB v4 file
    holding the int16 matrix ``val`` of shape (12, n_samples) at 1000 adu/mV, and a
    WFDB header with the gain, first samples, checksums, lead names and the comment
    lines ``#Age:``, ``#Sex:``, ``#Dx:``, ``#Rx:``, ``#Hx:``, ``#Sx:``. The optional
    date and time of the record line are left out, so :func:`wfdb.rdrecord` reads the
    files too. Each file is written to a temporary name and renamed when complete.

    Parameters
    ----------
    path : str or path-like
        Folder to write into; created if needed. Existing records are overwritten.
    data : array-like of shape (n_records, 12, n_samples) or list of (12, n_i) arrays
        Signals in mV, leads in the order I, II, III, aVR, aVL, aVF, V1-V6. They are
        rounded to 1 µV; values beyond ±32.767 mV raise an error.
    fs : float
        Sampling rate in Hz.
    dx_codes : list of (list of str or str)
        SNOMED CT codes of each record, as a list or a comma-separated string.
    record_ids : list of str, default=None
        File names without extension; ``SYN00000``, ``SYN00001``, ... when None.
    age : list of float or None, default=None
        Age of each patient in years; None or NaN is written ``NaN``.
    sex : list of str or None, default=None
        ``"Male"``, ``"Female"``; None is written ``Unknown``.
    leads : "standard" or list of str, default="standard"
        Lead names written in the header; must be 12.

    Returns
    -------
    record_ids : list of str
        The names of the written records.

    See Also
    --------
    load_physionet2020 : Read records in this format back.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sk3kg.datasets import write_physionet2020
    >>> folder = tempfile.mkdtemp()
    >>> signals = np.zeros((2, 12, 500)) + np.linspace(-1, 1, 500)
    >>> write_physionet2020(folder, signals, 500, dx_codes=[["426783006"], "164889003,59118001"])
    ['SYN00000', 'SYN00001']
    >>> print(open(f"{folder}/SYN00001.hea").read().splitlines()[1])
    SYN00001.mat 16+24 1000/mV 16 0 -1000 0 0 I
    """
    records = _as_records(data)
    n = len(records)
    ids = list(record_ids) if record_ids is not None else [f"SYN{i:05d}" for i in range(n)]
    ids = _per_record(ids, n, "record_ids", None)
    if len(set(ids)) != n or not all(re.fullmatch(r"[-\w]+", rid) for rid in ids):
        raise ValueError("record_ids must be distinct names of letters, digits, '_' or '-'.")
    lead_names = list(CHALLENGE_LEADS) if isinstance(leads, str) and leads == "standard" else leads
    if isinstance(lead_names, str) or len(lead_names) != len(CHALLENGE_LEADS):
        raise ValueError(f"leads must be 'standard' or 12 lead names, got {leads!r}.")
    codes = _per_record(dx_codes, n, "dx_codes", None)
    ages, sexes = _per_record(age, n, "age", None), _per_record(sex, n, "sex", None)
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for rid, signal, dx, a, s in zip(ids, records, codes, ages, sexes, strict=True):
        val = _quantise(signal, rid)
        dx_text = dx if isinstance(dx, str) else ",".join(dx)
        comments = {"Age": _format_age(a), "Sex": s or "Unknown", "Dx": dx_text,
                    "Rx": "Unknown", "Hx": "Unknown", "Sx": "Unknown"}  # fmt: skip
        with atomic_path(folder / f"{rid}.mat") as tmp, open(tmp, "wb") as f:
            scipy.io.savemat(f, {"val": val}, format="4")
        with atomic_path(folder / f"{rid}.hea") as tmp:
            tmp.write_text(_header_text(rid, fs, val, lead_names, comments), encoding="ascii")
    return ids
