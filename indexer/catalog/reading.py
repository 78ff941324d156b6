"""Read one user file safely: a regular file only, bounded in size and in time.

A folder may hold named pipes, devices, sockets, symlinks to `/dev/zero` or sparse
multi-GB files with an image's name. The file is checked before it is opened (no open of a
device), opened without blocking (a FIFO never hangs the reader), checked again on the open
descriptor, and read in pieces until the size limit or the deadline.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

from indexer.catalog.errors import FileTooLargeError, ImageError

READ_PIECE = 1 << 20  # bytes read between two deadline checks


def display(path: str | Path) -> str:
    """`path` as printable text: bytes that are not UTF-8 become `\\xNN` escapes."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", errors="backslashreplace")


def file_kind(mode: int) -> str:
    """What a stat mode names, in words (for refusals of anything but a regular file)."""
    for test, name in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "a special file"


def read_bytes(
    path: Path,
    *,
    max_bytes: int | None = None,
    timeout_s: float | None = None,
    follow_symlinks: bool = True,
) -> bytes:
    """Read a regular file whole; refuse anything else, or more than `max_bytes`, or a read
    that outlasts `timeout_s`, with an ImageError that says why.

    `follow_symlinks=False` refuses a path whose last component is a symlink (catalog paths
    are stored resolved, so one that became a link since was swapped).
    """
    where = display(path)
    try:
        before = os.stat(path, follow_symlinks=follow_symlinks)
        _check_regular(where, before.st_mode)
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(path, flags | (0 if follow_symlinks else os.O_NOFOLLOW))
    except OSError as exc:
        raise _os_error(where, exc) from exc
    try:
        opened = os.fstat(fd)
        _check_regular(where, opened.st_mode)  # swapped between the stat and the open
        if max_bytes is not None and opened.st_size > max_bytes:
            raise _too_large(where, opened.st_size, max_bytes)
        return _read_all(fd, where, max_bytes, timeout_s)
    except OSError as exc:
        raise _os_error(where, exc) from exc
    finally:
        os.close(fd)


def _read_all(fd: int, where: str, max_bytes: int | None, timeout_s: float | None) -> bytes:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    pieces: list[bytes] = []
    total = 0
    while piece := os.read(fd, READ_PIECE):
        pieces.append(piece)
        total += len(piece)
        if max_bytes is not None and total > max_bytes:  # it grew while being read
            raise _too_large(where, total, max_bytes)
        if deadline is not None and time.monotonic() > deadline:
            raise ImageError(f"{where}: reading took longer than {timeout_s:g} s; skipped")
    return b"".join(pieces)


def _check_regular(where: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise ImageError(f"{where}: is a directory")
    if not stat.S_ISREG(mode):
        raise ImageError(f"{where}: {file_kind(mode)}, not a regular file; not read")


def _too_large(where: str, size: int, limit: int) -> FileTooLargeError:
    return FileTooLargeError(
        f"{where}: {size} bytes, over the file size limit of {limit} (LOOKALIKE_MAX_FILE_MB)"
    )


def _os_error(where: str, exc: OSError) -> ImageError:
    reasons = {
        errno.ENOENT: "file not found",
        errno.EISDIR: "is a directory",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ELOOP: "a symlink loop, or a symlink where a resolved file was expected",
    }
    return ImageError(
        f"{where}: {reasons.get(exc.errno or 0) or f'cannot read ({exc.strerror or exc})'}"
    )
