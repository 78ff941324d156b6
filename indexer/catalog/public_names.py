"""What clients may see of a catalog image's origin: its name under its source, never the
server's path.

A file the server read from its own folders has `uri == path`, an absolute server path; it
is shown by its `name` (the path under the folder or manifest it was indexed from, recorded
at registration) or, for rows registered before names were recorded, its file name. Any
other uri (`upload://<sha256>`, or one a client gave when adding the image) is the client's
own label and is shown as it is.
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Protocol


class Named(Protocol):
    @property
    def uri(self) -> str: ...
    @property
    def path(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...


def is_server_file(row: Named) -> bool:
    """Whether the row's uri is a path of the server's own file system."""
    return row.path is not None and row.uri == row.path


def public_uri(row: Named) -> str:
    """The row's uri as clients may see it (see the module docstring)."""
    if not is_server_file(row):
        return row.uri
    return row.name or printable(PurePath(row.uri).name)


def public_text(row: Named, text: str | None) -> str | None:
    """`text` (an error message) with the row's server path replaced by its public name."""
    if text is None or not is_server_file(row):
        return text
    return text.replace(row.uri, public_uri(row))


def name_under(root: Path, file: Path) -> str:
    """`file` relative to the folder `root` (both resolved) as a/b.png, else its file name."""
    try:
        relative = file.relative_to(root).as_posix()
    except ValueError:
        relative = file.name
    return printable(relative or file.name)


def printable(name: str) -> str:
    """`name` as storable, printable text: undecodable bytes of a file name become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
