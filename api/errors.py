"""Every error the API answers with, and the one place where domain errors get status codes.

Bodies are always `{"error": {"code", "message", "details"}}`, whatever raised them: our own
ApiErrors, FastAPI's validation, Starlette's 404/405, forager's domain errors, or a bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from forager.errors import (
    ForagerError,
    InvalidSourceError,
    NotFoundError,
    RefNotFoundError,
    SourceNotFoundError,
    StoreError,
)

log = structlog.get_logger("forager.api")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    """An HTTP error with a stable machine-readable code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers


class Unauthorized(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(403, "forbidden", message, details)


class SourceNotAllowed(ApiError):
    """The source is well formed but this service refuses to fetch it (SSRF protection)."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(400, "source_not_allowed", message, details)


class BodyTooLarge(StarletteHTTPException):
    """Raised while the body is read, inside the route, so FastAPI re-raises it untouched
    (it wraps any other exception from the body read into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def domain_status(exc: ForagerError) -> tuple[int, str]:
    """The HTTP status and code of a domain error (the only mapping of its kind)."""
    if isinstance(exc, NotFoundError):
        return 404, "not_found"
    if isinstance(exc, InvalidSourceError | SourceNotFoundError | RefNotFoundError):
        return 422, "invalid_source"
    if isinstance(exc, StoreError):
        return 503, "store_unavailable"
    return 500, "internal_error"


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The offending input is left out: it can be a 64 KiB body echoed back, or a secret.
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
    return error_response(422, "validation_error", f"{where}: {first['msg']}", details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail), None, exc.headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ForagerError)
    status, code = domain_status(exc)
    if status >= 500:
        log.error("request.domain_error", path=request.url.path, error=repr(exc))
    return error_response(status, code, str(exc))


async def _db_error(request: Request, exc: Exception) -> JSONResponse:
    # A dropped connection or a database that is down: the client may retry later.
    log.error("request.store_error", path=request.url.path, error=repr(exc))
    return error_response(503, "store_unavailable", "the store does not answer; retry later")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.crashed", path=request.url.path)
    return error_response(500, "internal_error", "internal error; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ForagerError, _domain_error)
    app.add_exception_handler(OperationalError, _db_error)
    app.add_exception_handler(InterfaceError, _db_error)
    app.add_exception_handler(PoolTimeoutError, _db_error)
    app.add_exception_handler(Exception, _unexpected)
