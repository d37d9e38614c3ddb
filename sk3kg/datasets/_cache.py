"""The cache of loaded records: signals streamed into a ``.npy`` file, columns beside it.

A cache entry is a folder holding ``data.npy`` (float32 rows, one per record, returned as
a memory map) and ``meta.npz`` (per-record columns such as ids and labels). The columns
are written last, so their presence marks a complete entry. Each reader
(:func:`load_physionet2020`, :func:`load_ptbxl`) names its entry with :func:`cache_key`
of the files it reads and its settings, and supplies the function that reads a batch of
records; :func:`parse_to_npy` runs those batches in parallel and streams the rows to disk,
so that no more than a few batches of signals are ever in memory.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from ._base import atomic_path

__all__ = ["cache_key", "load_cached", "parse_to_npy", "scan_files"]


def scan_files(root: str, suffixes: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """(path below ``root``, size, mtime) of every file below ``root`` ending in ``suffixes``.

    The fingerprint a cache entry is keyed by. Plain strings and a loop, not pathlib and
    recursion: this walk is most of the time of a cached load.
    """
    found, folders = [], [(root, "")]
    while folders:
        folder, prefix = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir():
                    folders.append((entry.path, f"{prefix}{entry.name}/"))
                elif entry.name.endswith(suffixes):
                    st = entry.stat()
                    found.append((f"{prefix}{entry.name}", st.st_size, st.st_mtime_ns))
    return found


def cache_key(fingerprint: list, *settings) -> str:
    """Name of the cache entry for the files in ``fingerprint`` read with ``settings``.

    Parameters
    ----------
    fingerprint : list of (str, int, int)
        Name, size and modification time of every file read.
    *settings
        Everything else the arrays depend on (a format version, rates, lengths).

    Returns
    -------
    key : str
        24 hexadecimal digits of a sha256.

    Examples
    --------
    >>> cache_key([("A0001.mat", 24024, 0)], 1, 500, 5000, "start")
    '4e911556c478c8250181b75b'
    """
    digest = hashlib.sha256((" ".join(map(str, settings)) + "\n").encode())
    digest.update(repr(fingerprint).encode())  # a list of (str, int, int): a stable repr
    return digest.hexdigest()[:24]


def _npy_header(f, n_rows: int, row_shape: tuple[int, ...]) -> None:
    header = {"descr": "<f4", "fortran_order": False, "shape": (n_rows, *row_shape)}
    np.lib.format.write_array_header_1_0(f, header)


def parse_to_npy(target: Path, names: Sequence[str], read_batch: Callable[[list], list],
                 row_shape: tuple[int, ...], on_record: Callable[[str, object], bool], *,
                 n_jobs: int | None, batch: int) -> int:  # fmt: skip
    """Read records in parallel batches and stream their rows into the ``.npy`` file ``target``.

    ``read_batch(names)`` returns, for each name, a dict holding the record's row of
    shape ``row_shape`` under ``"data"`` beside its metadata, or an exception.
    ``on_record(name, result)`` is called in order with that dict (row removed) or
    exception; it keeps the metadata and returns whether to write the row, or raises to
    stop. Rows are written with plain file writes, not a memory map, so that the pages of
    the growing file count against the page cache rather than this process's memory.

    Returns
    -------
    n_rows : int
        Rows written; the ``.npy`` header is rewritten to that count at the end.
    """
    batches = [list(names[i : i + batch]) for i in range(0, len(names), batch)]
    n_rows = 0
    with (
        open(target, "wb") as f,
        tqdm(total=len(names), unit="rec", desc="Reading ECGs", disable=None) as bar,
    ):
        _npy_header(f, len(names), row_shape)
        offset = f.tell()
        # One batch needs no worker processes, whose start-up costs seconds.
        n_jobs = n_jobs if len(batches) > 1 else None
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(read_batch)(b) for b in batches
        )
        for chunk, chunk_results in zip(batches, results, strict=True):
            for name, result in zip(chunk, chunk_results, strict=True):
                row = None if isinstance(result, BaseException) else result.pop("data")
                if on_record(name, result) and row is not None:
                    f.write(np.ascontiguousarray(row, dtype="<f4").tobytes())
                    n_rows += 1
            bar.update(len(chunk))
        f.seek(0)
        _npy_header(f, n_rows, row_shape)  # numpy pads the header so the first axis can shrink
        if f.tell() != offset:
            raise RuntimeError("numpy wrote a .npy header of another size; please report this.")
        f.truncate(offset + n_rows * int(np.prod(row_shape)) * 4)
    return n_rows


def _write_cache(folder: Path, build: Callable[[Path], dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "data.npy") as tmp:
        columns = build(tmp)
    # The columns are written last: their presence marks a complete cache entry.
    with atomic_path(folder / "meta.npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, **columns)


def _read_cache(folder: Path, mmap: bool) -> tuple[np.ndarray, dict] | None:
    if not (folder / "meta.npz").is_file():
        return None
    with np.load(folder / "meta.npz", allow_pickle=False) as columns:
        meta = {key: columns[key] for key in columns.files}
    data = np.load(folder / "data.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
    return data, meta


def load_cached(folder: Path | None, build: Callable[[Path], dict]) -> tuple[np.ndarray, dict]:
    """The arrays of the cache entry ``folder``, made with ``build`` when absent.

    Parameters
    ----------
    folder : Path or None
        The entry. None reads into memory through a scratch folder and keeps nothing.
    build : callable
        ``build(path)`` writes the ``.npy`` file ``path`` (with :func:`parse_to_npy`)
        and returns the per-record columns, a dict of arrays.

    Returns
    -------
    data : ndarray
        The rows; a read-only memory map when ``folder`` is given.
    columns : dict of ndarray
        What ``build`` returned.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> def build(path):
    ...     with open(path, "wb") as f:
    ...         np.save(f, np.zeros((2, 3), dtype=np.float32))
    ...     return {"ids": np.array(["a", "b"])}
    >>> folder = Path(tempfile.mkdtemp()) / "entry"
    >>> data, columns = load_cached(folder, build)
    >>> type(data).__name__, columns["ids"].tolist(), load_cached(folder, None)[0].shape
    ('memmap', ['a', 'b'], (2, 3))
    """
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="sk3kg-uncached-") as tmp:
            _write_cache(Path(tmp), build)
            return _read_cache(Path(tmp), mmap=False)
    cached = _read_cache(folder, mmap=True)
    if cached is None:
        _write_cache(folder, build)
        cached = _read_cache(folder, mmap=True)
    return cached
