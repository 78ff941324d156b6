"""The Host check: a DNS-rebinding page (its own domain re-pointed at this server, so the
browser treats it as same-origin) can neither write nor read; every way a real user reaches
the server still works."""

from __future__ import annotations

import http.client
import io
import socket
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from indexer.catalog.errors import ConfigError
from indexer.catalog.settings import Settings
from search.runtime import Runtime
from tests.web.conftest import LiveServer
from tests.web.test_api_compare import png
from web import create_app
from web.hosts import with_bound_host

REBOUND = "evil.example:5000"


def app_with(runtime: Runtime, **changes: Any) -> FlaskClient:
    settings = replace(runtime.settings, **changes)
    return create_app(runtime=replace(runtime, settings=settings)).test_client()


def upload(seed: int) -> dict:
    return {"image": (io.BytesIO(png(seed)), "q.png")}


def test_a_rebinding_page_cannot_write(client: FlaskClient) -> None:
    # The page's origin is http://evil.example:5000, so Origin matches Host: same-site to
    # the cross-site check; only the Host names the attacker.
    rebinding = {"Host": REBOUND, "Origin": f"http://{REBOUND}", "Sec-Fetch-Site": "same-origin"}
    before = client.get("/api/v1/galleries").get_json()["galleries"]
    for method, path, data in [
        ("post", "/api/v1/images", upload(60)),
        ("delete", "/api/v1/images/1", None),
        ("post", "/api/v1/galleries/g/items", {**upload(61), "label": "a"}),
        ("post", "/api/v1/jobs", None),
    ]:
        response = getattr(client, method)(path, data=data, headers=rebinding)
        assert response.status_code == 400, (method, path)
        error = response.get_json()["error"]
        assert error["code"] == "host_not_allowed" and "LOOKALIKE_ALLOWED_HOSTS" in error["message"]
    assert client.get("/api/v1/images/1").status_code == 200  # not deleted
    assert client.get("/api/v1/galleries").get_json()["galleries"] == before


@pytest.mark.parametrize(
    "path", ["/", "/api/v1/images/1", "/api/v1/images/1/file", "/api/v1/jobs", "/metrics"]
)
def test_a_rebinding_page_cannot_read(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Host": REBOUND})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "host_not_allowed"
    assert b"uri" not in response.data


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:5000",
        "LocalHost:5000",
        "localhost.:5000",
        "app.localhost:8080",
        "127.0.0.1:5000",
        "[::1]:5000",
        "192.168.1.20:5000",  # the bound address, reached from the LAN
        "[2001:db8::7]",
        socket.gethostname(),
    ],
)
def test_local_names_and_addresses_are_served(client: FlaskClient, host: str) -> None:
    assert client.get("/api/v1/health", headers={"Host": host}).status_code == 200
    search = client.post("/api/v1/search", data=upload(3), headers={"Host": host})
    assert search.status_code == 200


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("search.example.com", 200),
        ("SEARCH.example.com:443", 200),
        ("corp.example", 200),
        ("a.b.corp.example:8443", 200),
        ("evilcorp.example", 400),
        ("search.example.com.evil.example", 400),
        ("example.com", 400),
    ],
)
def test_configured_names_and_domains(runtime: Runtime, host: str, status: int) -> None:
    client = app_with(runtime, allowed_hosts=("search.example.com", ".corp.example"))
    assert client.get("/api/v1/galleries", headers={"Host": host}).status_code == status


def test_a_star_allows_any_host(runtime: Runtime) -> None:
    client = app_with(runtime, allowed_hosts=("*",))
    assert client.get("/api/v1/galleries", headers={"Host": REBOUND}).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example@127.0.0.1",
        "127.0.0.1:99999",
        "127.0.0.1:0",
        "a b",
        "127.0.0.1.evil.example",
        "2130706433",  # 127.0.0.1 as a number: browsers never send it; it is a name here
        "[::1",
        "localhost:5000:5000",
        "évil.example",
        "x" * 5000,
    ],
)
def test_malformed_or_disguised_hosts_are_refused(client: FlaskClient, host: str) -> None:
    response = client.get("/api/v1/galleries", headers={"Host": host})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "host_not_allowed"
    assert len(response.get_json()["error"]["message"]) < 300


def test_behind_a_proxy_the_forwarded_host_is_checked(runtime: Runtime) -> None:
    client = app_with(runtime, proxy_hops=1, allowed_hosts=("search.example.com",))
    good = {"X-Forwarded-Host": "search.example.com", "Host": "web:5000"}
    assert client.get("/api/v1/galleries", headers=good).status_code == 200
    bad = {"X-Forwarded-Host": REBOUND, "Host": "web:5000"}
    assert client.get("/api/v1/galleries", headers=bad).status_code == 400


def test_a_real_server_refuses_a_rebound_host(live_server: LiveServer) -> None:
    address = urlsplit(live_server.url)
    for host, status in [(REBOUND, 400), (address.netloc, 200), ("localhost", 200)]:
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
        connection.request("GET", "/api/v1/galleries", headers={"Host": host})
        assert connection.getresponse().status == status, host
        connection.close()


def test_serve_allows_the_name_it_binds_to(settings: Settings) -> None:
    assert with_bound_host(settings, "myhost.lan").allowed_hosts == ("myhost.lan",)
    assert with_bound_host(settings, "0.0.0.0").allowed_hosts == ()  # addresses always are
    assert with_bound_host(settings, "::").allowed_hosts == ()


@pytest.mark.parametrize(
    ("raw", "hosts"),
    [
        ("", ()),
        ("search.example.com", ("search.example.com",)),
        (" A.example , .corp.example. ,", ("a.example", ".corp.example")),
        ("*", ("*",)),
    ],
)
def test_allowed_hosts_setting(raw: str, hosts: tuple[str, ...]) -> None:
    assert Settings.from_env({"LOOKALIKE_ALLOWED_HOSTS": raw}).allowed_hosts == hosts


@pytest.mark.parametrize(
    "raw", ["http://search.example.com", "search.example.com:5000", "a/b", "*.example.com", ".."]
)
def test_bad_allowed_hosts_are_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="LOOKALIKE_ALLOWED_HOSTS"):
        Settings.from_env({"LOOKALIKE_ALLOWED_HOSTS": raw})
