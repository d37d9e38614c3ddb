"""Where datasets live on disk, and how files get there without ever being half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "get_data_home"]

_DATA_HOME_ENV = "SK3KG_DATA"


def get_data_home(data_home: str | os.PathLike | None = None) -> str:
    """Return the folder where sk3kg keeps downloaded data and caches, creating it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use. When None, the environment variable ``SK3KG_DATA`` if
        set, else ``~/sk3kg_data``.

    Returns
    -------
    data_home : str
        The absolute path of the folder.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk3kg.datasets import get_data_home
    >>> folder = tempfile.mkdtemp()
    >>> get_data_home(folder) == os.path.abspath(folder)
    True
    """
    if data_home is None:
        data_home = os.environ.get(_DATA_HOME_ENV) or Path("~") / "sk3kg_data"
    path = Path(data_home).expanduser().absolute()
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    Readers never see a partly written ``target``: it is either absent, the old
    file, or the complete new one. On error the temporary file is removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
