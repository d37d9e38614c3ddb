"""Download the PhysioNet/CinC Challenge 2020 and 2021 training data, verified, resumable,
once."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from sklearn.utils import Bunch

from .._base import get_data_home
from .._download import describe_missing, download_verified
from ._physionet2020 import load_physionet2020
from ._physionet2021 import load_physionet2021
from ._tables import SOURCES, SOURCES_2021, Source

__all__ = ["PHYSIONET2020_URL", "PHYSIONET2021_URL", "fetch_physionet2020", "fetch_physionet2021"]

#: Address of version 1.0.2 of the PhysioNet/CinC Challenge 2020 files on PhysioNet
#: (about 7 GB; the ``training`` folder holds the six :data:`SOURCES`), from which
#: :func:`fetch_physionet2020` downloads.
PHYSIONET2020_URL = "https://physionet.org/files/challenge-2020/1.0.2/"

#: Address of version 1.0.3 of the PhysioNet/CinC Challenge 2021 files on PhysioNet
#: (about 12 GB; the ``training`` folder holds the eight :data:`SOURCES_2021`), from
#: which :func:`fetch_physionet2021` downloads.
PHYSIONET2021_URL = "https://physionet.org/files/challenge-2021/1.0.3/"


class _Release(NamedTuple):
    """One year's training data on PhysioNet, and the function that loads it."""

    year: int
    version: str
    url: str
    size: str
    sources: dict[str, Source]
    load: Callable[..., Bunch | tuple]


def _select(sums: dict[str, str], sources: Sequence[str]) -> dict[str, str]:
    """The ``.hea`` and ``.mat`` files of ``training/<source>/`` for the given sources."""
    chosen = {}
    for name, digest in sums.items():
        parts = PurePosixPath(name).parts
        if len(parts) > 2 and parts[0] == "training" and parts[1] in sources:
            if name.endswith((".hea", ".mat")):
                chosen[name] = digest
    return chosen


def _missing_message(root: Path, missing: list[str], release: _Release) -> str:
    year, url = release.year, release.url
    return (
        f"PhysioNet/CinC Challenge {year} data not found in {root}: "
        f"{describe_missing(missing)}. Call "
        f"fetch_physionet{year}(download_if_missing=True) to download it ({release.size}), "
        f"or download {url} yourself (for example with 'wget -r -N -c -np {url}') and "
        f"call load_physionet{year}('<that folder>/training')."
    )


def _fetch(release: _Release, data_home, sources: Sequence[str] | None,
           download_if_missing: bool, base_url: str, n_jobs: int, load_kwargs: dict):  # fmt: skip
    """What :func:`fetch_physionet2020` and :func:`fetch_physionet2021` do, for one year."""
    sources = list(release.sources) if sources is None else list(sources)
    unknown = sorted(set(sources) - set(release.sources))
    if unknown or not sources:
        raise ValueError(f"sources must be a non-empty list of {list(release.sources)}, "
                         f"got {sources}.")  # fmt: skip
    root = Path(get_data_home(data_home)) / f"physionet{release.year}" / release.version
    select, desc = partial(_select, sources=sources), f"Downloading PhysioNet {release.year}"
    missing = download_verified(root, base_url, select, download=download_if_missing,
                                n_jobs=n_jobs, desc=desc)  # fmt: skip
    if missing:
        raise OSError(_missing_message(root, missing, release))
    return release.load(root / "training", sources=sources, data_home=data_home, **load_kwargs)


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
        ``crop``, ``cache``, ``on_error``, ``skip_flat``, ``return_X_y``.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch` or tuple
        As returned by :func:`load_physionet2020`.

    See Also
    --------
    fetch_physionet2021 : The same for the 2021 challenge's data.

    Examples
    --------
    >>> import tempfile
    >>> from sk3kg.datasets import fetch_physionet2020
    >>> fetch_physionet2020(data_home=tempfile.mkdtemp(), download_if_missing=False)
    Traceback (most recent call last):
    ...
    OSError: PhysioNet/CinC Challenge 2020 data not found in ...
    """
    return _fetch(_RELEASE_2020, data_home, sources, download_if_missing, base_url, n_jobs,
                  load_kwargs)  # fmt: skip


def fetch_physionet2021(
    *,
    data_home: str | os.PathLike | None = None,
    sources: Sequence[str] | None = None,
    download_if_missing: bool = True,
    base_url: str = PHYSIONET2021_URL,
    n_jobs: int = 8,
    **load_kwargs,
) -> Bunch | tuple:
    """Download the PhysioNet/CinC Challenge 2021 training data and load it.

    Exactly what :func:`fetch_physionet2020` does, for version 1.0.3 of the 2021
    data: the files of the requested sources listed in ``SHA256SUMS.txt`` are
    downloaded, verified and resumable, into ``<data_home>/physionet2021/1.0.3/``
    (the layout of ``base_url``, e.g. ``training/ningbo/g1/JS10647.hea``), then
    loaded with :func:`load_physionet2021`. A second call downloads nothing.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Where to keep the data, see :func:`get_data_home`.
    sources : list of str, default=None
        Sources to fetch (keys of :data:`SOURCES_2021`); all eight when None.
    download_if_missing : bool, default=True
        When False, raise an ``OSError`` if the data are not all on disk.
    base_url : str, default=PHYSIONET2021_URL
        URL of the folder holding ``SHA256SUMS.txt`` and ``training/``.
    n_jobs : int, default=8
        Concurrent downloads.
    **load_kwargs
        Passed to :func:`load_physionet2021`: ``fs``, ``duration``, ``classes``,
        ``crop``, ``cache``, ``on_error``, ``skip_flat``, ``return_X_y``.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch` or tuple
        As returned by :func:`load_physionet2021`.

    See Also
    --------
    fetch_physionet2020 : The same for the 2020 challenge's data.

    Examples
    --------
    >>> import tempfile
    >>> from sk3kg.datasets import fetch_physionet2021
    >>> fetch_physionet2021(data_home=tempfile.mkdtemp(), download_if_missing=False)
    Traceback (most recent call last):
    ...
    OSError: PhysioNet/CinC Challenge 2021 data not found in ...
    """
    return _fetch(_RELEASE_2021, data_home, sources, download_if_missing, base_url, n_jobs,
                  load_kwargs)  # fmt: skip


_RELEASE_2020 = _Release(2020, "1.0.2", PHYSIONET2020_URL, "about 7 GB", SOURCES,
                         load_physionet2020)  # fmt: skip
_RELEASE_2021 = _Release(2021, "1.0.3", PHYSIONET2021_URL, "about 12 GB", SOURCES_2021,
                         load_physionet2021)  # fmt: skip
