"""Two `lookalike index` runs on the same folder at once: every image is in the catalog once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, func, select

from indexer.catalog.schema import Embedding, Image, ImageStatus
from indexer.catalog.settings import Settings
from tests.conftest import write_images

LOOKALIKE = Path(sys.executable).with_name("lookalike")


def test_two_index_runs_at_once_make_no_duplicates(
    settings: Settings, tiny_model_path: Path, tmp_path: Path, database_url: str
) -> None:
    folder = tmp_path / "catalog"
    write_images(folder, range(500, 540))
    url = database_url
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")} | {
        "LOOKALIKE_HOME": str(settings.home),
        "LOOKALIKE_MODEL": str(tiny_model_path),
        "LOOKALIKE_DEVICE": "cpu",
        "DATABASE_URL": url,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),  # this checkout, not the venv's
    }
    env.pop("REDIS_URL", None)
    command = [str(LOOKALIKE), "index", str(folder), "--no-progress", "--chunk-size", "4"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(2)]  # fmt: skip
    outputs = [run.communicate(timeout=240)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(outputs)
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(Image.uri, Image.status)).all()
        vectors = conn.execute(
            select(Embedding.image_id, func.count()).group_by(Embedding.image_id)
        ).all()
    engine.dispose()
    assert len(rows) == 40 and len({uri for uri, _ in rows}) == 40
    assert {status for _, status in rows} == {ImageStatus.INDEXED}
    assert len(vectors) == 40 and {n for _, n in vectors} == {1}
