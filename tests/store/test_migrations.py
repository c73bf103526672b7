"""The same Alembic migrations bring SQLite and PostgreSQL to the models' schema."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from forager.store.db import get_engine, migrate, table_names
from forager.store.models import Base

TABLES = {"sources", "snapshots", "environments", "build_attempts", "test_results"}


def _assert_matches_models(url: str) -> None:
    with get_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_sqlite_migrates_and_matches_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    migrate(url)  # idempotent
    assert set(table_names(url)) >= TABLES
    _assert_matches_models(url)


def test_postgres_migrates_and_matches_models(pg_url: str) -> None:
    migrate(pg_url)
    assert set(table_names(pg_url)) >= TABLES
    _assert_matches_models(pg_url)
