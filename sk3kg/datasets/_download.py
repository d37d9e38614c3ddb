"""Verified, resumable downloads driven by a dataset's ``SHA256SUMS.txt``.

Every fetcher (:func:`fetch_physionet2020`, :func:`fetch_physionet2021`,
:func:`fetch_ptbxl`) lists what it wants from the checksum list and calls
:func:`download_verified`: missing or damaged files are downloaded concurrently,
each to a ``.part`` file that resumes (HTTP Range), retried on transient errors and
renamed into place only once its sha256 matches. What is still missing afterwards is
returned, and :func:`describe_missing` words it for the fetcher's error.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm.auto import tqdm

from .._files import file_sha256
from ._base import atomic_path

CHECKSUMS = "SHA256SUMS.txt"
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


def read_checksums(root: Path, base_url: str, download: bool) -> dict[str, str] | None:
    path = root / CHECKSUMS
    if not path.is_file():
        if not download:
            return None
        _download_list(base_url + CHECKSUMS, path)
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
                  n_jobs: int, desc: str) -> None:  # fmt: skip
    errors = []
    with (
        ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool,
        tqdm(total=len(names), unit="file", desc=desc, disable=None) as bar,
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


def download_verified(root: Path, base_url: str, select: Callable[[dict], dict], *,
                      download: bool, n_jobs: int, desc: str) -> list[str]:  # fmt: skip
    """Bring the files that ``select`` picks from the checksum list into ``root``.

    Parameters
    ----------
    root : Path
        Local copy of the folder at ``base_url``.
    base_url : str
        Folder holding ``SHA256SUMS.txt`` and the files it lists (a final ``/`` is
        added when absent).
    select : callable
        ``{name: sha256}`` of the whole list to ``{name: sha256}`` of the wanted files.
    download : bool
        When False nothing is downloaded; the missing files are returned.
    n_jobs : int
        Concurrent downloads.
    desc : str
        The progress bar's label.

    Returns
    -------
    missing : list of str
        Wanted files still absent or damaged (empty after a successful download);
        ``[CHECKSUMS]`` when even the checksum list is absent.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> download_verified(Path(tempfile.mkdtemp()), "https://example.org/", dict,
    ...                   download=False, n_jobs=1, desc="")
    ['SHA256SUMS.txt']
    """
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    sums = read_checksums(root, base_url, download)
    if sums is None:
        return [CHECKSUMS]
    wanted = select(sums)
    if not wanted:
        raise OSError(f"{base_url}{CHECKSUMS} lists none of the files wanted in {root}.")
    missing = _unverified(root, wanted)
    if missing and download:
        _download_all(missing, wanted, root, base_url, n_jobs, desc)
        missing = []
    return missing


def describe_missing(missing: list[str]) -> str:
    """What a fetcher's error says of :func:`download_verified`'s ``missing``.

    Examples
    --------
    >>> describe_missing(["SHA256SUMS.txt"])
    'nothing has been downloaded yet'
    >>> describe_missing(["records100/00000/00001_lr.dat"])
    '1 files are missing or damaged, e.g. records100/00000/00001_lr.dat'
    """
    if missing and missing != [CHECKSUMS]:
        return f"{len(missing)} files are missing or damaged, e.g. {missing[0]}"
    return "nothing has been downloaded yet"
