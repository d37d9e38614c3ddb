"""Files on disk: checksums and durable writes, for downloads, checkpoints and saved models."""

import hashlib
import os


def file_sha256(path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fsync_file(path) -> None:
    """Flush a written file to the disk, so a later rename never points at lost data."""
    with open(path, "rb") as file:
        os.fsync(file.fileno())
