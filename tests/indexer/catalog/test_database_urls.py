"""DATABASE_URL as real setups write it: `postgres://` (PaaS, docker images), `postgresql://`
and either driver named explicitly, each against the real PostgreSQL; bad URLs are a
ConfigError that names the setting, never a traceback from deep inside SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, select

from indexer.catalog.database import engine_url, make_engine, make_session_factory
from indexer.catalog.errors import ConfigError
from indexer.catalog.schema import Base, Image
from indexer.catalog.settings import Settings
from search.runtime import build_runtime
from tests.conftest import index_folder, write_images

FORMS = {  # URL scheme -> the driver SQLAlchemy must end up using
    "postgres": "psycopg",
    "postgresql": "psycopg",
    "postgresql+psycopg": "psycopg",
    "postgresql+psycopg2": "psycopg2",
    "postgres+psycopg2": "psycopg2",
}


def with_scheme(url: str, scheme: str) -> str:
    """`url` (any PostgreSQL form) rewritten with `scheme`, as a user would type it."""
    return scheme + "://" + url.split("://", 1)[1]


@pytest.fixture
def clean_postgres(postgres_url: str) -> Iterator[str]:
    """The session's PostgreSQL database, its catalog tables dropped after the test."""
    yield postgres_url
    engine = create_engine(postgres_url)
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.mark.parametrize(("scheme", "driver"), FORMS.items())
def test_each_postgresql_url_form_opens_the_catalog(
    clean_postgres: str, scheme: str, driver: str
) -> None:
    url = with_scheme(clean_postgres, scheme)
    sessions = make_session_factory(Settings.from_env({"DATABASE_URL": url}).database_url)
    engine = sessions.kw["bind"]
    try:
        assert engine.dialect.name == "postgresql" and engine.dialect.driver == driver
        with sessions.begin() as session:
            session.add(Image(uri=f"form://{scheme}", status="pending"))
        with sessions() as session:
            uris = session.scalars(select(Image.uri)).all()
        assert f"form://{scheme}" in uris
    finally:
        engine.dispose()


def test_a_postgres_url_indexes_and_searches_end_to_end(
    clean_postgres: str, tmp_path: Path, tiny_model_path: Path
) -> None:
    # The URL a PaaS gives, through the settings, indexing in-process and the search runtime.
    settings = Settings.from_env(
        {
            "LOOKALIKE_HOME": str(tmp_path / "home"),
            "LOOKALIKE_MODEL": str(tiny_model_path),
            "LOOKALIKE_DEVICE": "cpu",
            "DATABASE_URL": with_scheme(clean_postgres, "postgres"),
        }
    )
    write_images(tmp_path / "catalog", range(4))
    index_folder(settings, tmp_path / "catalog")
    runtime = build_runtime(settings, load="now")
    try:
        query = (tmp_path / "catalog" / "img_0002.png").read_bytes()
        hits = runtime.engine.search_image(query, k=1).hits
        assert len(hits) == 1 and hits[0].uri.endswith("img_0002.png")
    finally:
        runtime.sessions.kw["bind"].dispose()


def test_password_characters_survive_the_rewrite() -> None:
    url = engine_url("postgres://user:p%40ss%2Fw%3Ard@db.example:6543/cat?sslmode=require")
    assert url.drivername == "postgresql+psycopg"
    assert url.password == "p@ss/w:rd" and url.host == "db.example" and url.port == 6543
    assert url.query == {"sslmode": "require"}
    assert make_url(url.render_as_string(hide_password=False)) == url


@pytest.mark.parametrize(
    "url", ["sqlite:///relative.db", "sqlite:////abs/path.db", "sqlite://", "mysql://u@h/db"]
)
def test_other_urls_are_left_alone(url: str) -> None:
    assert engine_url(url) == make_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("", "not a database URL"),
        ("postgresql+nosuchdriver://u@h/db", "not installed"),
        ("nosuchdb://u@h/db", "not installed"),
    ],
)
def test_bad_urls_are_a_config_error(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_engine(url)


def test_sqlite_still_creates_its_folder(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'deeper' / 'c.db'}")
    with engine.connect():
        pass
    engine.dispose()
    assert (tmp_path / "new" / "deeper" / "c.db").exists()
