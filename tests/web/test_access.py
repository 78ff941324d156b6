"""Access control: API keys on writes (and optionally reads), cross-site refusal, headers,
per-client rate limits (in-process and shared through Redis), job size, no URL fetching."""

from __future__ import annotations

import io
import threading
import uuid
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from indexer.catalog.settings import Settings
from search.runtime import Runtime, build_runtime
from tests.encoded import png
from web import create_app

KEY = {"X-API-Key": "s3cret"}


def app_with(runtime: Runtime, **changes: Any) -> FlaskClient:
    settings = replace(runtime.settings, **changes)
    return create_app(runtime=replace(runtime, settings=settings)).test_client()


def image(seed: int = 1, **form: str) -> dict:
    return {"image": (io.BytesIO(png(seed)), "q.png"), **form}


def test_every_write_endpoint_needs_the_key(runtime: Runtime) -> None:
    client = app_with(runtime, api_key="s3cret")
    writes = [
        ("post", "/api/v1/images", image()),
        ("delete", "/api/v1/images/1", None),
        ("post", "/api/v1/feedback", {"result_id": "1", "verdict": "right", "query_id": "1"}),
        ("post", "/api/v1/jobs", None),
        ("post", "/api/v1/jobs/1/cancel", None),
        ("post", "/api/v1/galleries/g/items", image(label="a")),
        ("patch", "/api/v1/galleries/g", {"threshold": "0.5"}),
        ("delete", "/api/v1/galleries/g", None),
        ("delete", "/api/v1/galleries/g/items/1", None),
    ]
    for method, path, data in writes:
        response = getattr(client, method)(path, data=data)
        assert response.status_code == 401, (method, path)
    assert (
        client.post("/api/v1/galleries/g/items", data=image(label="a"), headers=KEY).status_code
        == 201
    )
    assert client.post("/api/v1/search", data=image()).status_code == 200  # reads stay open


def test_reads_can_need_the_key_too(runtime: Runtime) -> None:
    client = app_with(runtime, api_key="s3cret", api_key_reads=True)
    assert client.post("/api/v1/search", data=image()).status_code == 401
    assert client.get("/api/v1/galleries").status_code == 401
    assert client.get("/api/v1/jobs").status_code == 401
    assert client.post("/api/v1/search", data=image(), headers=KEY).status_code == 200
    assert client.get("/api/v1/health").status_code == 200  # probes stay open
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
    ],
)
def test_cross_site_writes_are_refused(client: FlaskClient, headers: dict) -> None:
    response = client.post("/api/v1/galleries/g/items", data=image(label="a"), headers=headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "cross_site_request"
    assert client.get("/api/v1/galleries").get_json()["galleries"] == []


def test_same_site_and_non_browser_writes_pass(client: FlaskClient) -> None:
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert (
        client.post("/api/v1/galleries/g/items", data=image(label="a"), headers=same).status_code
        == 201
    )
    assert client.post("/api/v1/galleries/g/items", data=image(2, label="b")).status_code == 201
    # reads from anywhere are fine (the answer is not readable cross-origin without CORS)
    assert (
        client.get("/api/v1/galleries", headers={"Origin": "https://evil.example"}).status_code
        == 200
    )


def test_security_headers(client: FlaskClient) -> None:
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_searches_are_rate_limited_per_client(runtime: Runtime) -> None:
    client = app_with(runtime, rate_limit_per_minute=3)
    codes = [client.post("/api/v1/search", data=image()).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.post("/api/v1/compare", data={
        "image_a": (io.BytesIO(png(1)), "a"), "image_b": (io.BytesIO(png(2)), "b")})  # fmt: skip
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.get_json()["error"]["code"] == "rate_limited"
    other = client.post("/api/v1/search", data=image(), environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 200  # another client has its own budget
    assert client.get("/api/v1/health").status_code == 200  # only searches are limited


def test_rate_limits_are_shared_through_redis(runtime: Runtime, redis_url: str) -> None:
    # Two app instances (as two gunicorn workers or machines) draw on one Redis counter.
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    client_ip = {"REMOTE_ADDR": f"10.9.{uuid.uuid4().int % 250}.1"}
    first = app_with(runtime, rate_limit_per_minute=4, redis_url=redis_url)
    second = app_with(runtime, rate_limit_per_minute=4, redis_url=redis_url)
    codes = [
        c.post("/api/v1/search", data=image(), environ_base=client_ip).status_code
        for c in (first, second, first, second, first)
    ]
    assert codes == [200, 200, 200, 200, 429]


def searches(client: FlaskClient, n: int, **environ: str) -> list[int]:
    """Status codes of `n` searches; `environ` keys prefixed HTTP_ are request headers."""
    return [
        client.post("/api/v1/search", data=image(), environ_base=environ).status_code
        for _ in range(n)
    ]


def test_rate_limiting_is_off_by_default(runtime: Runtime) -> None:
    # A local script querying its own engine through the API must never meet a 429.
    assert Settings.from_env({}).rate_limit_per_minute == 0
    app = create_app(runtime=runtime)
    assert "lookalike.rate_counter" not in app.extensions
    assert searches(app.test_client(), 12) == [200] * 12


@pytest.mark.parametrize("api_key", [None, "s3cret"])
def test_a_made_up_api_key_earns_no_fresh_budget(runtime: Runtime, api_key: str | None) -> None:
    client = app_with(runtime, rate_limit_per_minute=2, api_key=api_key)
    codes = [
        client.post(
            "/api/v1/search", data=image(), headers={"X-API-Key": uuid.uuid4().hex}
        ).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 429, 429]  # one address, one budget, whatever key it sends


def test_the_verified_key_has_its_own_budget(runtime: Runtime) -> None:
    client = app_with(runtime, rate_limit_per_minute=2, api_key="s3cret")
    assert searches(client, 3) == [200, 200, 429]
    assert searches(client, 3, HTTP_X_API_KEY="s3cret") == [200, 200, 429]
    assert searches(client, 1, HTTP_X_API_KEY="s3cret ") == [429]  # near misses are not the key


def test_forwarded_addresses_count_only_behind_trusted_proxies(runtime: Runtime) -> None:
    direct = app_with(runtime, rate_limit_per_minute=2)
    codes = [
        direct.post(
            "/api/v1/search", data=image(), headers={"X-Forwarded-For": f"10.1.0.{n}"}
        ).status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]  # no proxy configured: the header is the client's word
    proxied = app_with(runtime, rate_limit_per_minute=2, proxy_hops=1)
    # The proxy appends the address it saw; whatever the client wrote before it is ignored.
    forged = {"HTTP_X_FORWARDED_FOR": "", "REMOTE_ADDR": "10.0.0.1"}
    codes = []
    for n in range(3):
        forged["HTTP_X_FORWARDED_FOR"] = f"198.51.100.{n}, 203.0.113.7"
        codes += searches(proxied, 1, **forged)
    assert codes == [200, 200, 429]
    other = {"HTTP_X_FORWARDED_FOR": "203.0.113.8", "REMOTE_ADDR": "10.0.0.1"}
    assert searches(proxied, 1, **other) == [200]  # another real client, its own budget


def test_an_ipv6_client_is_its_64_block(runtime: Runtime) -> None:
    client = app_with(runtime, rate_limit_per_minute=2)
    rotated = [f"2001:db8:1:2::{n:x}" for n in range(3)]
    codes = [searches(client, 1, REMOTE_ADDR=address)[0] for address in rotated]
    assert codes == [200, 200, 429]
    assert searches(client, 1, REMOTE_ADDR="2001:db8:1:3::1") == [200]


def test_a_dead_rate_limit_store_does_not_stop_search(runtime: Runtime) -> None:
    client = app_with(runtime, rate_limit_per_minute=1, redis_url="redis://127.0.0.1:1/0")
    codes = [client.post("/api/v1/search", data=image()).status_code for _ in range(3)]
    assert codes == [200, 200, 200]


def test_a_job_over_the_file_limit_is_refused(
    runtime: Runtime, image_folder: Path, tmp_path: Path
) -> None:
    from indexer.catalog.errors import TooManyFilesError
    from indexer.ingest.sources import collect

    with pytest.raises(TooManyFilesError) as info:
        collect([image_folder], max_files=5)
    assert info.value.status == 413 and "12 images listed" in info.value.message
    assert len(collect([image_folder], max_files=12).files) == 12


class _Counting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Counting.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return


def test_urls_are_never_fetched(client: FlaskClient, runtime: Runtime) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/secret"
    try:
        added = client.post("/api/v1/images", data=image(50, uri=url))
        assert added.status_code == 201 and added.get_json()["uri"] == url  # a label only
        keyed = app_with(runtime, source_roots=(Path("/"),))
        job = keyed.post("/api/v1/jobs", json={"source": url})
        assert job.status_code == 400  # not a server-side path
        compare = client.post("/api/v1/compare", data={"image_a": url, "image_b": url})
        assert compare.status_code == 400
    finally:
        server.shutdown()
        server.server_close()
    assert _Counting.hits == []


def test_long_requests_give_up_at_the_request_time_limit(runtime: Runtime) -> None:
    hurried = build_runtime(replace(runtime.settings, request_timeout_s=1e-9), load="now")
    client = create_app(runtime=hurried).test_client()
    response = client.get("/api/v1/duplicates?threshold=0.5")
    assert response.status_code == 504
    assert response.get_json()["error"]["code"] == "request_timeout"
    filtered = client.post("/api/v1/search", data=image(filter="category:none"))
    assert filtered.status_code == 504
    assert app_with(runtime).get("/api/v1/duplicates").status_code == 200  # 30 s default


def test_docker_compose_turns_rate_limiting_on() -> None:
    # Compose refuses a file with a repeated key; so does this loader.
    import yaml

    class Strict(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
            keys = [k.value for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"]
            assert len(keys) == len(set(keys)), f"repeated keys at {node.start_mark}"
            return super().construct_mapping(node, deep)

    compose = Path(__file__).resolve().parents[2] / "docker-compose.yml"
    services = yaml.load(compose.read_text(), Loader=Strict)["services"]
    env = services["web"]["environment"]
    assert env["LOOKALIKE_RATE_LIMIT"] == "${LOOKALIKE_RATE_LIMIT:-600}"
    assert "LOOKALIKE_ALLOWED_HOSTS" in env and "LOOKALIKE_PROXY_HOPS" in env
