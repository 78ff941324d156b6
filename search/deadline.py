"""Time budgets for requests: long loops check a deadline and give up with a typed error."""

from __future__ import annotations

import time

from indexer.catalog.errors import LookalikeError


class RequestTimeoutError(LookalikeError):
    status = 504
    code = "request_timeout"


class Deadline:
    """A point in time after which `check()` raises RequestTimeoutError."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def check(self, doing: str) -> None:
        if self.at is not None and time.monotonic() > self.at:
            raise RequestTimeoutError(
                f"{doing} took longer than the {self.seconds:g} s request limit "
                "(LOOKALIKE_REQUEST_TIMEOUT_S); narrow the request or use the CLI"
            )


NO_DEADLINE = Deadline(None)
