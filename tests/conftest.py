"""Shared fixtures: a tiny real encoder checkpoint, generated images, settings, databases."""

from __future__ import annotations

import csv
import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from indexer.catalog.settings import Settings
from indexer.encoder.checkpoint import save_checkpoint
from indexer.encoder.model import EncoderConfig, SiameseEncoder
from tests.redis_server import RedisServer

if TYPE_CHECKING:
    from search.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
# Third-party data sets beside the checkout (../shared/data/<set>): tests that read one are
# marked `@pytest.mark.shared_data("<set>")`; they skip where it is absent, fail where
# LOOKALIKE_REQUIRE_SHARED_DATA=1 (CI) says it must be there.
SHARED_DATA = ROOT.parent / "shared" / "data"
REQUIRE_SHARED_DATA = os.environ.get("LOOKALIKE_REQUIRE_SHARED_DATA") == "1"
# What the repository ships: 480 Omniglot drawings, Alphabet/characterNN/*.png (MIT licence).
DEMO_CATALOG = ROOT / "indexer" / "demo_catalog"
POSTGRES_ADMIN_URL = os.environ.get(
    "LOOKALIKE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# A Redis to share with other runs (a database of its own, flushed by the tests); unset, each
# test session starts its own redis-server.
SHARED_REDIS_URL = os.environ.get("LOOKALIKE_TEST_REDIS_URL")


def missing_data_reason(name: str) -> str:
    return f"needs ../shared/data/{name} (see README: data-set tests)"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a `shared_data` test whose data set is absent, or fail it where CI requires it."""
    for marker in item.iter_markers("shared_data"):
        if not marker.args:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.shared_data needs a set name")
        for name in marker.args:
            if not (SHARED_DATA / name).is_dir():
                if REQUIRE_SHARED_DATA:
                    pytest.fail(missing_data_reason(name), pytrace=False)
                pytest.skip(missing_data_reason(name))


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small-CNN encoder checkpoint with a projection head, seeded (CPU, fast)."""
    torch.manual_seed(0)
    config = EncoderConfig(backbone="small_cnn", embedding_dim=32, input_size=64, pretrained=False)
    encoder = SiameseEncoder(config)
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(path, encoder, version="tiny-test-1")
    return path


def labelled(folder: str) -> dict[str, list[Path]]:
    """A shared data set's images by label (from its labels.csv), labels and paths sorted."""
    by_label: dict[str, list[Path]] = defaultdict(list)
    with open(SHARED_DATA / folder / "labels.csv") as handle:
        for row in csv.DictReader(handle):
            by_label[row["label"]].append(SHARED_DATA / folder / row["relpath"])
    return {label: sorted(paths) for label, paths in sorted(by_label.items())}


def make_image(seed: int, size: tuple[int, int] = (96, 80)) -> Image.Image:
    """A distinct synthetic picture: coloured background, shapes and noise from `seed`."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, tuple(int(c) for c in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, size[0] // 2)), int(rng.integers(0, size[1] // 2))
        x1 = x0 + int(rng.integers(10, size[0] // 2))
        y1 = y0 + int(rng.integers(10, size[1] // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    noise = rng.integers(-20, 20, (size[1], size[0], 3))
    array = np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(array)


def strokes(seed: int) -> Image.Image:
    """A binary drawing: a few black strokes on white, 105 px like an Omniglot character."""
    rng = np.random.default_rng(seed)
    image = Image.new("L", (105, 105), 255)
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        draw.line([tuple(int(v) for v in rng.integers(10, 95, 2)) for _ in range(3)], 0, 3)
    return image


def write_images(folder: Path, seeds: range | list[int], fmt: str = "PNG") -> list[Path]:
    """Write one generated image per seed into `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        path = folder / f"img_{seed:04d}.{'jpg' if fmt == 'JPEG' else fmt.lower()}"
        make_image(seed).save(path, format=fmt)
        paths.append(path)
    return paths


def index_folder(settings: Settings, *paths: Path) -> int:
    """Index paths through the real Celery app of `settings` and wait; return the job id."""
    from indexer.catalog.database import make_session_factory
    from indexer.ingest.celery_app import make_celery
    from indexer.ingest.indexing import run_index, start_index

    sessions = make_session_factory(settings.database_url)
    run = start_index(sessions, [str(p) for p in paths], chunk_size=5)
    run_index(make_celery(settings), sessions, run, poll_s=0.2, timeout_s=300)
    sessions.kw["bind"].dispose()
    return run.job_id


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Twelve distinct images (PNG and JPEG) in two sub-folders."""
    folder = tmp_path / "catalog"
    write_images(folder / "a", range(0, 6))
    write_images(folder / "b", range(6, 12), fmt="JPEG")
    return folder


@pytest.fixture
def runtime(settings: Settings, image_folder: Path) -> Iterator[Runtime]:
    """The search runtime over `image_folder`, indexed (embedded default, tiny model)."""
    from search.runtime import build_runtime

    index_folder(settings, image_folder)
    rt = build_runtime(settings, load="now")
    yield rt
    rt.sessions.kw["bind"].dispose()


@pytest.fixture
def settings(tmp_path: Path, tiny_model_path: Path) -> Settings:
    """Embedded default (SQLite, in-process tasks) with the tiny model."""
    return Settings.from_env(
        {
            "LOOKALIKE_HOME": str(tmp_path / "home"),
            "LOOKALIKE_MODEL": str(tiny_model_path),
            "LOOKALIKE_DEVICE": "cpu",
        }
    )


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This session's Redis: a private redis-server on a free port, stopped at the end.

    Two test runs on one machine never see each other's queues, workers or counters. Only
    where LOOKALIKE_TEST_REDIS_URL is set is that server used instead (its database is
    flushed by the tests that use it, so give each run its own database there).
    """
    if SHARED_REDIS_URL:
        yield SHARED_REDIS_URL
        return
    if shutil.which("redis-server") is None:
        pytest.fail(
            "the Redis tests need redis-server on PATH (Debian: apt-get install redis-server)"
            " or LOOKALIKE_TEST_REDIS_URL",
            pytrace=False,
        )
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"lookalike_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each database test runs on SQLite and on PostgreSQL (tables dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    from sqlalchemy import create_engine

    from indexer.catalog.schema import Base

    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    engine.dispose()
