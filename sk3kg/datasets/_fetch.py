"""Download the PhysioNet/CinC Challenge 2020 training data, verified, resumable, once."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path, PurePosixPath

from sklearn.utils import Bunch
from tqdm.auto import tqdm

from .._files import file_sha256
from ._base import atomic_path, get_data_home
from ._physionet2020 import load_physionet2020
from ._tables import SOURCES

__all__ = ["PHYSIONET2020_URL", "fetch_physionet2020"]

#: Address of version 1.0.2 of the PhysioNet/CinC Challenge 2020 files on PhysioNet
#: (about 7 GB; the ``training`` folder holds the six :data:`SOURCES`), from which
#: :func:`fetch_physionet2020` downloads.
PHYSIONET2020_URL = "https://physionet.org/files/challenge-2020/1.0.2/"
_CHECKSUMS = "SHA256SUMS.txt"
_MANIFEST = ".verified.json"  # name -> [size, mtime_ns, sha256] of files already checked
_RETRIES = 4
_BACKOFF = 1.0  # seconds before the first retry, doubled for each further one
_TIMEOUT = 60.0
_CHUNK = 1 << 20
_TRANSIENT = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


class _IncompleteTransfer(ConnectionError):
    """The server closed the connection before sending all the announced bytes."""


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code == 429 or exc.code >= 500
    return isinstance(exc, _TRANSIENT)


def _transfer(url: str, part: Path) -> None:
    """Fetch ``url`` into ``part``, continuing from its current size (HTTP Range)."""
    start = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "sk3kg", **({"Range": f"bytes={start}-"} if start else {})}
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=_TIMEOUT
        )
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # nothing left to send: the part is complete
            return
        raise
    with response:
        resumed = start and response.status == 206
        expected = response.length
        with open(part, "ab" if resumed else "wb") as f:
            shutil.copyfileobj(response, f, _CHUNK)
            written = f.tell() - (start if resumed else 0)
    if expected is not None and written < expected:
        raise _IncompleteTransfer(f"got {written} of {expected} bytes")


def _download(url: str, target: Path, sha256: str) -> None:
    """Download to ``<target>.part``, retrying and resuming; rename once the sha256 matches."""
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(_RETRIES + 1):
        try:
            _transfer(url, part)
            break
        except Exception as exc:
            if not _is_transient(exc) or attempt == _RETRIES:
                raise OSError(f"Downloading {url} failed: {exc}") from exc
            time.sleep(_BACKOFF * 2**attempt)
    digest = file_sha256(part)
    if digest != sha256:
        part.unlink()
        raise OSError(
            f"Checksum mismatch for {url}: expected sha256 {sha256}, got {digest}. The "
            "download was deleted; run the fetch again, and if this persists the mirror "
            "serves a corrupt file."
        )
    os.replace(part, target)


def _read_checksums(root: Path, base_url: str, download: bool) -> dict[str, str] | None:
    path = root / _CHECKSUMS
    if not path.is_file():
        if not download:
            return None
        _download_list(base_url + _CHECKSUMS, path)
    sums = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.strip().partition(" ")
        if digest and name:
            sums[name.strip().lstrip("*")] = digest
    return sums


def _download_list(url: str, target: Path) -> None:
    # The checksum list itself has no checksum to check against; only make it atomic.
    with atomic_path(target) as tmp:
        for attempt in range(_RETRIES + 1):
            try:
                with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
                    tmp.write_bytes(response.read())
                return
            except Exception as exc:
                if not _is_transient(exc) or attempt == _RETRIES:
                    raise OSError(f"Downloading the checksum list {url} failed: {exc}") from exc
                time.sleep(_BACKOFF * 2**attempt)


def _select(sums: dict[str, str], sources: Sequence[str]) -> dict[str, str]:
    """The ``.hea`` and ``.mat`` files of ``training/<source>/`` for the given sources."""
    chosen = {}
    for name, digest in sums.items():
        parts = PurePosixPath(name).parts
        if len(parts) > 2 and parts[0] == "training" and parts[1] in sources:
            if name.endswith((".hea", ".mat")):
                chosen[name] = digest
    return chosen


def _unverified(root: Path, wanted: dict[str, str]) -> list[str]:
    """Names of wanted files that are absent or fail their checksum; remembers good ones.

    A file already checked is trusted while its size and modification time stay the
    same, so a second fetch of 43,101 records costs a ``stat`` each, not a sha256.
    """
    manifest = _load_manifest(root)
    missing, changed = [], False
    for name, digest in wanted.items():
        path = root / name
        if not path.is_file():
            missing.append(name)
            continue
        st = path.stat()
        if manifest.get(name) == [st.st_size, st.st_mtime_ns, digest]:
            continue
        if file_sha256(path) == digest:
            manifest[name], changed = [st.st_size, st.st_mtime_ns, digest], True
        else:
            missing.append(name)
    if changed:
        _save_manifest(root, manifest)
    return missing


def _load_manifest(root: Path) -> dict:
    path = root / _MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _save_manifest(root: Path, manifest: dict) -> None:
    with atomic_path(root / _MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest), encoding="utf-8")


def _download_all(names: list[str], wanted: dict[str, str], root: Path, base_url: str,
                  n_jobs: int) -> None:  # fmt: skip
    errors = []
    with (
        ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool,
        tqdm(total=len(names), unit="file", desc="Downloading PhysioNet 2020", disable=None) as bar,
    ):
        futures = {
            pool.submit(_download, base_url + name, root / name, wanted[name]): name
            for name in names
        }
        arrived = []
        for future in as_completed(futures):
            if future.exception() is not None:
                errors.append(str(future.exception()))
            else:
                arrived.append(futures[future])
            bar.update()
    manifest = _load_manifest(root)
    for name in arrived:  # verified by _download: remember them without hashing again
        st = (root / name).stat()
        manifest[name] = [st.st_size, st.st_mtime_ns, wanted[name]]
    _save_manifest(root, manifest)
    if errors:
        listed = "\n  ".join(errors[:10])
        raise OSError(
            f"{len(errors)} of {len(names)} downloads failed; files that arrived "
            f"are kept, run the fetch again to resume:\n  {listed}"
        )


def _missing_message(root: Path, missing: list[str] | None) -> str:
    what = (f"{len(missing)} files are missing or damaged, e.g. {missing[0]}"
            if missing else "nothing has been downloaded yet")  # fmt: skip
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
    sums = _read_checksums(root, base_url, download_if_missing)
    if sums is None:
        raise OSError(_missing_message(root, None))
    wanted = _select(sums, sources)
    if not wanted:
        raise OSError(f"{base_url}{_CHECKSUMS} lists no files of the sources {sources}.")
    missing = _unverified(root, wanted)
    if missing and not download_if_missing:
        raise OSError(_missing_message(root, missing))
    if missing:
        _download_all(missing, wanted, root, base_url, n_jobs)
    training = root / "training"
    return load_physionet2020(training, sources=sources, data_home=data_home, **load_kwargs)
