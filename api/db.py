"""The API's read path to the store: its own pool, autocommit, one retry after a lost connection.

Read endpoints run one or two SELECTs that need no transaction. On the store's shared engine
every request would pay three extra round trips (the pool's pre-ping, BEGIN and ROLLBACK),
which at a few hundred requests per second is most of a list request's time in the driver.
This engine skips them; a connection that died meanwhile (a database restart) fails its
statement instead, which invalidates the pool, and the read is retried once on a fresh one.
Writes keep going through the store's repositories and their transactions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from forager.store.db import get_engine, session_factory

T = TypeVar("T")


def read_engine(url: str, pool_size: int, max_overflow: int) -> Engine:
    session_factory(url)  # migrates the store on first use (idempotent)
    if url.startswith("sqlite"):
        # The embedded store: one file, the store's own engine and its pragmas.
        return get_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        pool_recycle=600,
        isolation_level="AUTOCOMMIT",
    )


class ReadDb:
    """Sessions opened and closed *inside* the worker thread that uses them.

    A session handed out by a yield-dependency keeps its connection across thread hops:
    under load every connection ends up held by a request that waits for a free thread to
    run its teardown, while every thread waits for a connection, until the pool times out.
    Here a connection is held only while its thread runs.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._maker = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._maker()
        try:
            yield session
        finally:
            session.close()

    def read(self, fn: Callable[[Session], T]) -> T:
        """fn(session), retried once if the connection turned out to be dead."""
        try:
            with self.session() as s:
                return fn(s)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self.session() as s:
            return fn(s)

    def dispose(self) -> None:
        self.engine.dispose()
