"""Download the PhysioNet/CinC Challenge 2020 training data, verified, resumable, once."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path, PurePosixPath

from sklearn.utils import Bunch

from .._base import get_data_home
from .._download import CHECKSUMS, download_verified
from ._physionet2020 import load_physionet2020
from ._tables import SOURCES

__all__ = ["PHYSIONET2020_URL", "fetch_physionet2020"]

#: Address of version 1.0.2 of the PhysioNet/CinC Challenge 2020 files on PhysioNet
#: (about 7 GB; the ``training`` folder holds the six :data:`SOURCES`), from which
#: :func:`fetch_physionet2020` downloads.
PHYSIONET2020_URL = "https://physionet.org/files/challenge-2020/1.0.2/"


def _select(sums: dict[str, str], sources: Sequence[str]) -> dict[str, str]:
    """The ``.hea`` and ``.mat`` files of ``training/<source>/`` for the given sources."""
    chosen = {}
    for name, digest in sums.items():
        parts = PurePosixPath(name).parts
        if len(parts) > 2 and parts[0] == "training" and parts[1] in sources:
            if name.endswith((".hea", ".mat")):
                chosen[name] = digest
    return chosen


def _missing_message(root: Path, missing: list[str] | None) -> str:
    started = missing and missing != [CHECKSUMS]
    what = (f"{len(missing)} files are missing or damaged, e.g. {missing[0]}"
            if started else "nothing has been downloaded yet")  # fmt: skip
    return (
        f"PhysioNet/CinC Challenge 2020 data not found in {root}: {what}. Call "
        "fetch_physionet2020(download_if_missing=True) to download it (about 7 GB), or "
        f"download {PHYSIONET2020_URL} yourself (for example with "
        f"'wget -r -N -c -np {PHYSIONET2020_URL}') and call "
        "load_physionet2020('<that folder>/training')."
    )


def fetch_physionet2020(
    *,
    data_home: str | os.PathLike | None = None,
    sources: Sequence[str] | None = None,
    download_if_missing: bool = True,
    base_url: str = PHYSIONET2020_URL,
    n_jobs: int = 8,
    **load_kwargs,
) -> Bunch | tuple:
    """Download the PhysioNet/CinC Challenge 2020 training data and load it.

    The list of files and their sha256 (``SHA256SUMS.txt``) comes from ``base_url``.
    Files of the requested sources that are missing or damaged are downloaded
    concurrently into ``<data_home>/physionet2020/1.0.2/``: each goes to a ``.part``
    file, resumes where an interrupted transfer stopped (HTTP Range), retries
    transient errors, and is renamed into place only once its sha256 matches. A
    second call downloads nothing. The files are then loaded with
    :func:`load_physionet2020`.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Where to keep the data, see :func:`get_data_home`.
    sources : list of str, default=None
        Sources to fetch (keys of :data:`SOURCES`); all six when None.
    download_if_missing : bool, default=True
        When False, raise an ``OSError`` if the data are not all on disk.
    base_url : str, default=PHYSIONET2020_URL
        URL of the folder holding ``SHA256SUMS.txt`` and ``training/``.
    n_jobs : int, default=8
        Concurrent downloads. The records are then read in this process, the fastest
        on a few cores; to read them with several processes, call this function
        inside ``joblib.parallel_config(n_jobs=...)``.
    **load_kwargs
        Passed to :func:`load_physionet2020`: ``fs``, ``duration``, ``classes``,
        ``crop``, ``cache``, ``on_error``, ``return_X_y``.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch` or tuple
        As returned by :func:`load_physionet2020`.

    Examples
    --------
    >>> import tempfile
    >>> from sk3kg.datasets import fetch_physionet2020
    >>> fetch_physionet2020(data_home=tempfile.mkdtemp(), download_if_missing=False)
    Traceback (most recent call last):
    ...
    OSError: PhysioNet/CinC Challenge 2020 data not found in ...
    """
    sources = list(SOURCES) if sources is None else list(sources)
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown or not sources:
        raise ValueError(f"sources must be a non-empty list of {list(SOURCES)}, got {sources}.")
    root = Path(get_data_home(data_home)) / "physionet2020" / "1.0.2"
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    select = partial(_select, sources=sources)
    missing = download_verified(root, base_url, select, download=download_if_missing,
                                n_jobs=n_jobs, desc="Downloading PhysioNet 2020")  # fmt: skip
    if missing:
        raise OSError(_missing_message(root, missing))
    training = root / "training"
    return load_physionet2020(training, sources=sources, data_home=data_home, **load_kwargs)
