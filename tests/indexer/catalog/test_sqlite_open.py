"""Several processes opening one new SQLite catalog at once all get it (WAL switch raced)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OPEN = (
    "import sys; from indexer.catalog.database import make_session_factory\n"
    "from sqlalchemy import text\n"
    "s = make_session_factory(sys.argv[1])\n"
    "with s() as session: session.execute(text('SELECT 1'))\n"
)


def test_processes_opening_a_new_catalog_together_all_succeed(tmp_path: Path) -> None:
    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'catalog{attempt}.db'}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN, url],
                cwd=ROOT,
                stderr=subprocess.PIPE,
                env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            )
            for _ in range(6)
        ]
        results = [
            (p.wait(timeout=120), p.stderr.read().decode() if p.stderr else "") for p in procs
        ]
        assert all(code == 0 for code, _ in results), [err[-400:] for _, err in results]
