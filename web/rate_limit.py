"""Opt-in per-client rate limits on the search endpoints, counted in Redis when there is one.

Off unless LOOKALIKE_RATE_LIMIT is set (docker-compose.yml sets it). A fixed one-minute window
per client. The client is the configured API key when the request carries it (verified, so a
made-up key earns no fresh budget), else its address: behind reverse proxies set
LOOKALIKE_PROXY_HOPS so the address is the real client's, never one a client wrote into
X-Forwarded-For. An IPv6 client is its /64, the block one subscriber holds. Over the limit: 429
with Retry-After. Counters live in Redis so every web process and machine shares them; the
embedded default (no Redis) counts in-process. If Redis cannot be reached the request is let
through and the failure logged: a limiter must not take search down.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
import time
from collections.abc import Callable

import redis
from flask import Flask, current_app, request

from indexer.catalog.errors import LookalikeError
from web.auth import has_key

log = logging.getLogger(__name__)
WINDOW_S = 60
LIMITED = frozenset(
    {
        "api.search",
        "batch.search",
        "api.similar",
        "compare.compare",
        "explain.explain",
        "galleries.identify",
        "anomaly.anomaly",
        "duplicates.duplicates",
    }
)
Counter = Callable[[str, int], int]  # (key, window) -> requests so far in that window


class RateLimitedError(LookalikeError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MemoryCounter:
    """In-process counts for the embedded default; old windows are dropped as time moves on."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}
        self.lock = threading.Lock()

    def __call__(self, key: str, window: int) -> int:
        with self.lock:
            self.counts = {k: v for k, v in self.counts.items() if k[1] >= window}
            self.counts[(key, window)] = self.counts.get((key, window), 0) + 1
            return self.counts[(key, window)]


class RedisCounter:
    """Counts shared by every process through INCR + EXPIRE on one key per client and window."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def __call__(self, key: str, window: int) -> int:
        name = f"lookalike:ratelimit:{key}:{window}"
        pipe = self.client.pipeline()
        pipe.incr(name)
        pipe.expire(name, WINDOW_S * 2)
        count, _ = pipe.execute()
        return int(count)


def client_key() -> str:
    """The verified API key's bucket, else the client address's (IPv6: its /64)."""
    expected = current_app.extensions["lookalike"].settings.api_key
    if expected and has_key(expected):
        return "key:" + hashlib.sha256(expected.encode()).hexdigest()[:16]
    return "ip:" + _address_block(request.remote_addr or "")


def _address_block(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP (a unix socket, a test client): the peer as the server saw it
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def check(limit: int, counter: Counter) -> None:
    """Raise RateLimitedError when this client is over `limit` requests in the window."""
    if request.endpoint not in LIMITED:
        return
    now = time.time()
    window = int(now // WINDOW_S)
    try:
        count = counter(client_key(), window)
    except redis.RedisError as exc:
        log.warning("rate limiter unavailable, letting the request through: %s", exc)
        return
    if count > limit:
        retry = max(1, int((window + 1) * WINDOW_S - now))
        raise RateLimitedError(f"over {limit} searches per minute; retry in {retry} s", retry)


def init_app(app: Flask) -> None:
    settings = app.extensions["lookalike"].settings
    if not settings.rate_limit_per_minute:
        return
    counter: Counter = RedisCounter(settings.redis_url) if settings.redis_url else MemoryCounter()
    app.extensions["lookalike.rate_counter"] = counter
    app.before_request(lambda: check(settings.rate_limit_per_minute, _counter()))


def _counter() -> Counter:
    return current_app.extensions["lookalike.rate_counter"]
