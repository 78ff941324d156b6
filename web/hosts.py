"""Answer only requests addressed to a host this server is known by (DNS-rebinding defence).

A DNS-rebinding page at `evil.example` re-points its own name at this server, so the
visitor's browser sends it requests that count as same-origin: the cross-site checks of
`web.security` cannot tell them apart, and the page could read and write the catalog. What
it cannot change is the `Host` header, which names the attacker's domain. So every request
must name an allowed host or it gets 400 `host_not_allowed`:

- an IP address, always (a page cannot rebind a name it does not own; an address is not one);
- `localhost` and `*.localhost` (RFC 6761: always this machine), and this machine's name;
- the name `lookalike serve --host` binds to;
- the names in LOOKALIKE_ALLOWED_HOSTS (`.example.com` allows the domain and its
  subdomains; `*` allows any host and turns the check off).

Behind reverse proxies (LOOKALIKE_PROXY_HOPS) the host is the one the first proxy received.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import replace

from flask import Flask, request

from indexer.catalog.errors import BadRequestError
from indexer.catalog.settings import Settings

LOCAL_NAMES = ("localhost", ".localhost")
# host[:port], host an ASCII name or IPv4 address, or [IPv6]; the port 1..65535.
_HOST = re.compile(r"([a-z0-9._-]+|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?", re.ASCII)


class HostNotAllowedError(BadRequestError):
    code = "host_not_allowed"


def host_name(host: str) -> str | None:
    """The lower-case name or address of a `Host` value, without port or brackets; None when
    it is not a well-formed host."""
    match = _HOST.fullmatch(host.lower())
    if match is None or (match[2] is not None and not 1 <= int(match[2]) <= 65535):
        return None
    name = match[1].strip("[]").rstrip(".")
    return name or None


def is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_allowed(name: str, allowed: tuple[str, ...]) -> bool:
    """True when `name` (from host_name) may be served under the allowed names."""
    if "*" in allowed or is_address(name):
        return True
    for entry in allowed:
        if name == entry or (entry.startswith(".") and f".{name}".endswith(entry)):
            return True
    return False


def with_bound_host(settings: Settings, host: str) -> Settings:
    """`settings` that also allow the name a development server binds to (an address
    already is)."""
    name = host_name(host)
    if name is None or is_address(name) or name in settings.allowed_hosts:
        return settings
    return replace(settings, allowed_hosts=(*settings.allowed_hosts, name))


def init_app(app: Flask) -> None:
    """Refuse, before anything else runs, a request whose Host is not allowed."""
    settings = app.extensions["lookalike"].settings
    machine = socket.gethostname().lower().rstrip(".")
    allowed = (*LOCAL_NAMES, *([machine] if machine else []), *settings.allowed_hosts)

    def check_host() -> None:
        raw = request.host
        name = host_name(raw)
        if name is None:
            raise HostNotAllowedError(f"malformed Host header {raw[:100]!r}")
        if not is_allowed(name, allowed):
            raise HostNotAllowedError(
                f"this server does not answer to {name[:100]!r}; "
                "its operator can add the name to LOOKALIKE_ALLOWED_HOSTS"
            )

    app.before_request(check_host)
