"""Structured logs for the API process: JSON lines when shipped, readable on a terminal."""

from __future__ import annotations

import logging

import structlog


def configure_logging(fmt: str) -> None:
    """JSON rendering for log shippers; the console default of structlog stays otherwise."""
    if fmt != "json":
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
