"""Each command imports only what it uses: checked in fresh interpreters, which print the
packages they loaded after running the command (or as much of it as a test can run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from indexer.catalog.database import make_session_factory
from indexer.catalog.schema import Embedding, Image
from indexer.catalog.settings import Settings
from indexer.encoder.checkpoint import load_checkpoint
from indexer.encoder.embedder import Embedder, cuda_possible
from tests.conftest import write_images

REPO = Path(__file__).resolve().parents[3]
# What `lookalike --help` and building the parser must never load.
HEAVY = {"flask", "torch", "faiss", "search", "celery", "sqlalchemy", "onnxruntime", "numpy"}
SERVING = {"flask", "werkzeug", "faiss", "search"}  # a worker needs none of these


def loaded_by(script: str, env: dict[str, str] | None = None) -> set[str]:
    """Top-level packages a fresh interpreter has loaded after running `script`."""
    tail = "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    base = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")}
    base = {k: v for k, v in base.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    result = subprocess.run(
        [sys.executable, "-c", script + tail],
        env=base | (env or {}) | {"PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def cli_env(settings: Settings, model: Path, **extra: str) -> dict[str, str]:
    return {"LOOKALIKE_HOME": str(settings.home), "LOOKALIKE_MODEL": str(model)} | extra


def test_help_and_every_command_parser_import_nothing_heavy(tmp_path: Path) -> None:
    script = """
import contextlib, io
from web.cli.main import build_parser, main
commands = build_parser()._subparsers._group_actions[0].choices
for argv in [["--help"]] + [[name, "--help"] for name in commands]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(argv)
"""
    loaded = loaded_by(script, {"LOOKALIKE_HOME": str(tmp_path)})
    assert "web" in loaded and loaded & HEAVY == set()


def test_the_worker_command_loads_celery_and_the_tasks_but_no_serving_code(
    settings: Settings, tiny_model_path: Path, redis_url: str
) -> None:
    """The real `lookalike worker` handler, up to the worker loop (stubbed: it would run
    until stopped), with the indexing tasks registered."""
    script = """
from celery import Celery
started = []
Celery.worker_main = lambda self, argv=None: started.append((self, argv))
from web.cli.main import main
assert main(["worker", "--queues", "lookalike.embed"]) == 0
(app, argv), = started
assert "lookalike.embed_images" in app.tasks and "-Q" in argv
import indexer.ingest.tasks, indexer.ingest.pipeline, indexer.encoder.resources
"""
    env = cli_env(settings, tiny_model_path, REDIS_URL=redis_url)
    loaded = loaded_by(script, env)
    assert "celery" in loaded and loaded & (SERVING | {"torch"}) == set()


def test_the_worker_tasks_embed_without_serving_code(
    settings: Settings, tiny_model_path: Path, tmp_path: Path
) -> None:
    """The tasks a worker runs (here in-process: the embedded app runs them eagerly), from
    registering the files to the stored vectors."""
    write_images(tmp_path / "catalog", range(4))
    script = f"""
from indexer.catalog.database import make_session_factory
from indexer.catalog.settings import Settings
from indexer.ingest.celery_app import make_celery
from indexer.ingest.indexing import run_index, start_index
settings = Settings.from_env()
sessions = make_session_factory(settings.database_url)
run = start_index(sessions, [{str(tmp_path / "catalog")!r}], chunk_size=2)
assert run_index(make_celery(settings), sessions, run).indexed == 4
"""
    loaded = loaded_by(script, cli_env(settings, tiny_model_path, LOOKALIKE_DEVICE="cpu"))
    assert {"celery", "onnxruntime"} <= loaded and loaded & SERVING == set()


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_index_runs_a_cached_export_without_pytorch_and_agrees_with_it(
    device: str, settings: Settings, tiny_model_path: Path, tmp_path: Path
) -> None:
    if device == "auto" and cuda_possible():
        pytest.skip("this machine may have CUDA: auto asks PyTorch, rightly")
    write_images(tmp_path / "first", range(3))
    later = write_images(tmp_path / "later", range(3, 9))
    extra = {"LOOKALIKE_DEVICE": device, "LOOKALIKE_ENCODER_RUNTIME": "onnx"}
    index = """
from web.cli.main import main
assert main(["index", {!r}, "--no-progress"]) == 0
"""
    first = loaded_by(
        index.format(str(tmp_path / "first")), cli_env(settings, tiny_model_path, **extra)
    )
    assert "torch" in first  # the first run loads the model and exports it
    loaded = loaded_by(
        index.format(str(tmp_path / "later")), cli_env(settings, tiny_model_path, **extra)
    )
    assert "onnxruntime" in loaded and "torch" not in loaded and "onnx" not in loaded
    assert "alembic" not in loaded  # the catalog is current: nothing to migrate

    sessions = make_session_factory(settings.database_url)
    with sessions() as session:
        rows = session.execute(select(Image.path, Embedding.vector).join(Embedding)).all()
    stored = {Path(path).name: np.frombuffer(vector, dtype=np.float32) for path, vector in rows}
    torch_embedder = Embedder(load_checkpoint(tiny_model_path), device="cpu", runtime="torch")
    reference = torch_embedder.embed([PILImage.open(p).convert("RGB") for p in later])
    for path, expected in zip(later, reference, strict=True):
        assert float(stored[path.name] @ expected) >= 0.999


def test_the_parser_shows_the_duplicates_default_of_search() -> None:
    from search.near_duplicates import DEFAULT_THRESHOLD
    from web.cli import tools

    assert tools.DEFAULT_THRESHOLD == DEFAULT_THRESHOLD
