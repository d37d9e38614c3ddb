"""Download PTB-XL 1.0.3 from PhysioNet, verified, resumable, once, one rate at a time."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from sklearn.utils import Bunch

from .._base import get_data_home
from .._download import describe_missing, download_verified
from ._load import load_ptbxl, source_rate
from ._tables import DATABASE, STATEMENTS

__all__ = ["PTBXL_URL", "fetch_ptbxl"]

#: Address of version 1.0.3 of PTB-XL on PhysioNet (CC BY 4.0), from which
#: :func:`fetch_ptbxl` downloads: the two tables, ``records100/`` (about 0.5 GB of
#: signals) and ``records500/`` (about 2.6 GB).
PTBXL_URL = "https://physionet.org/files/ptb-xl/1.0.3/"


def _select(sums: dict[str, str], rate: int) -> dict[str, str]:
    """The two tables and the ``.hea`` and ``.dat`` files of ``records<rate>/``."""
    folder = f"records{rate}/"
    return {
        name: digest
        for name, digest in sums.items()
        if name in (DATABASE, STATEMENTS)
        or (name.startswith(folder) and name.endswith((".hea", ".dat")))
    }


def _missing_message(root: Path, missing: list[str], rate: int) -> str:
    size = "0.5" if rate == 100 else "2.6"
    return (
        f"PTB-XL ({rate} Hz) not found in {root}: {describe_missing(missing)}. Call "
        f"fetch_ptbxl(download_if_missing=True) to download it (about {size} GB), or "
        f"download {PTBXL_URL} yourself (for example with 'wget -r -N -c -np "
        f"{PTBXL_URL}') and call load_ptbxl('<that folder>')."
    )


def fetch_ptbxl(
    *,
    data_home: str | os.PathLike | None = None,
    fs: float = 500,
    source_fs: int | None = None,
    download_if_missing: bool = True,
    base_url: str = PTBXL_URL,
    n_jobs: int = 8,
    **load_kwargs,
) -> Bunch | tuple:
    """Download PTB-XL and load it.

    The list of files and their sha256 (``SHA256SUMS.txt``) comes from ``base_url``.
    The two tables and the copy of the signals that ``fs`` needs (``records100/`` when
    ``fs <= 100``, else ``records500/``; or ``source_fs``) are brought into
    ``<data_home>/ptbxl/1.0.3/`` when missing or damaged: concurrently, each to a
    ``.part`` file that resumes where an interrupted transfer stopped (HTTP Range),
    retried on transient errors and renamed into place only once its sha256 matches.
    A second call downloads nothing. The files are then loaded with :func:`load_ptbxl`.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Where to keep the data, see :func:`get_data_home`.
    fs : float, default=500
        Sampling rate of the loaded signals, in Hz; also chooses the copy downloaded.
    source_fs : {100, 500}, default=None
        The copy to download and read, whatever ``fs``; see :func:`load_ptbxl`.
    download_if_missing : bool, default=True
        When False, raise an ``OSError`` if the data are not all on disk.
    base_url : str, default=PTBXL_URL
        URL of the folder holding ``SHA256SUMS.txt``, the tables and the records.
    n_jobs : int, default=8
        Concurrent downloads. The records are then read in this process; to read them
        with several processes, call this function inside
        ``joblib.parallel_config(n_jobs=...)``.
    **load_kwargs
        Passed to :func:`load_ptbxl`: ``task``, ``cache``, ``return_X_y``.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch` or tuple
        As returned by :func:`load_ptbxl`.

    See Also
    --------
    load_ptbxl : Load a copy of PTB-XL already on disk.
    ptbxl_split : The recommended training, validation and test records.

    Examples
    --------
    >>> import tempfile
    >>> from sk3kg.datasets import fetch_ptbxl
    >>> fetch_ptbxl(data_home=tempfile.mkdtemp(), download_if_missing=False)
    Traceback (most recent call last):
    ...
    OSError: PTB-XL (500 Hz) not found in ...
    """
    rate = source_rate(fs, source_fs)
    root = Path(get_data_home(data_home)) / "ptbxl" / "1.0.3"
    missing = download_verified(root, base_url, partial(_select, rate=rate),
                                download=download_if_missing, n_jobs=n_jobs,
                                desc=f"Downloading PTB-XL ({rate} Hz)")  # fmt: skip
    if missing:
        raise OSError(_missing_message(root, missing, rate))
    return load_ptbxl(root, fs=fs, source_fs=rate, data_home=data_home, **load_kwargs)
