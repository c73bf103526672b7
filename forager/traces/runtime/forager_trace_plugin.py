"""pytest plugin injected by Forager (`-p forager_trace_plugin`): traces each test's run.

Stdlib and pytest only. Tracing spans a test's setup, call and teardown; the work is done by
`forager_trace_collector`, which the unittest runner uses directly.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import forager_trace_collector as collector
import pytest


def pytest_configure(config: Any) -> None:
    collector.configure()


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        collector.relax_deadline(getattr(item, "obj", None))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: Any, nextitem: Any) -> Generator[None, Any, None]:
    collector.begin(item.nodeid)
    try:
        yield
    finally:
        collector.end(item.nodeid)
