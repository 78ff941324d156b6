"""Fuzz the live server from its own OpenAPI description with schemathesis (bounded run).

Every operation gets the schemathesis phases that need no recorded traffic (explicit examples,
boundary-value coverage, then random valid and invalid inputs), sent with the API key and
re-sent without it where the description requires one. The run must find zero 5xx and zero
responses that break the description (status, media type, headers, body).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.encoded import png
from tests.web.conftest import FUZZ_KEY, LiveServer
from web import create_app

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "ignored_auth",
]
EXAMPLES = 100  # per operation and phase: the whole run takes about a minute on 2 cores
TIME_LIMIT_S = 240
KEY = {"X-API-Key": FUZZ_KEY}


def test_fuzz_the_api_from_its_description(keyed_live_server: LiveServer, tmp_path: Path) -> None:
    client = create_app(runtime=keyed_live_server.runtime).test_client()
    for seed, label in ((900, "alice"), (901, "bob")):  # the description's example gallery
        form = {"image": (io.BytesIO(png(seed)), "r.png"), "label": label}
        enrolled = client.post("/api/v1/galleries/staff/items", data=form, headers=KEY)
        assert enrolled.status_code == 201
    command = [
        shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{keyed_live_server.url}/api/v1/openapi.json",
        f"--checks={','.join(CHECKS)}",
        f"--header=X-API-Key: {FUZZ_KEY}",
        f"--max-examples={EXAMPLES}",
        "--phases=examples,coverage,fuzzing",
        "--mode=all",
        "--seed=13",
        "--workers=1",
        "--generation-database=none",
        "--suppress-health-check=all",
        "--request-timeout=60",
        "--no-color",
        "--report=ndjson",
        f"--report-dir={tmp_path}",
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=TIME_LIMIT_S, cwd=tmp_path
    )
    summary = run.stdout[-6000:]
    print(summary)
    assert run.returncode == 0, summary + run.stderr[-2000:]
    statuses = _statuses(tmp_path)
    print("responses by status:", dict(sorted(statuses.items())))
    assert sum(statuses.values()) > 500, statuses  # the run really exercised the server
    assert not any(code >= 500 for code in statuses), statuses


def _statuses(folder: Path) -> dict[int, int]:
    """How many responses of each status the run received (from its NDJSON event log)."""
    counts: dict[int, int] = {}
    for report in folder.glob("*.ndjson"):
        for line in report.read_text().splitlines():
            for status in _find_statuses(json.loads(line)):
                counts[status] = counts.get(status, 0) + 1
    return counts


def _find_statuses(event: object) -> list[int]:
    if isinstance(event, dict):
        found = []
        response = event.get("response")
        if isinstance(response, dict) and isinstance(response.get("status_code"), int):
            found.append(response["status_code"])
        for value in event.values():
            if isinstance(value, dict | list) and value is not response:
                found += _find_statuses(value)
        return found
    if isinstance(event, list):
        return [s for item in event for s in _find_statuses(item)]
    return []
