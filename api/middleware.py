"""Pure ASGI middleware: the request body limit, and per-request logs and metrics.

Pure ASGI rather than BaseHTTPMiddleware: it does not buffer streamed responses (the JSONL
export) and costs less per request, which matters at the API's target rate.
"""

from __future__ import annotations

import time

import anyio
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import BodyTooLarge, error_response
from api.keys import TOUCH_EVERY, ApiKeyStore, Principal
from api.metrics import RequestMetrics

log = structlog.get_logger("forager.api")
TOUCH_EVERY_S = TOUCH_EVERY.total_seconds()


class BodyLimitMiddleware:
    """413 for bodies over the limit: up front from Content-Length, and while reading, so a
    chunked body without a length cannot get past it either."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.isdigit():
                await error_response(400, "bad_request", "invalid Content-Length header")(
                    scope, receive, send
                )
                return
            if int(length) > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            # Normally the route's exception handler answers; this covers a read elsewhere.
            if started:
                raise
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(
            413,
            "body_too_large",
            f"the request body is larger than {self.max_bytes} bytes",
            {"max_bytes": self.max_bytes},
        )(scope, receive, send)


class RequestLogMiddleware:
    """One structured log line and the request metrics per request; refreshes the calling
    key's last_used_at after a successful response (off the response path)."""

    def __init__(
        self, app: ASGIApp, metrics: RequestMetrics, keys: ApiKeyStore, log_requests: bool = True
    ) -> None:
        self.app, self.metrics, self.keys, self.log_requests = app, metrics, keys, log_requests
        self._touched: dict[int, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500
        principal: Principal | None = None

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - t0
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.observe(method, route, status, elapsed)
            principal = scope.get("state", {}).get("principal")
            if self.log_requests:
                log.info(
                    "request",
                    method=method,
                    path=scope.get("path"),
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 2),
                    key=principal.prefix if principal else None,
                )
        if principal is not None and status < 400 and self._due(principal):
            await anyio.to_thread.run_sync(self._touch, principal.id)

    def _due(self, principal: Principal) -> bool:
        # The principal may come from the auth cache with an old last_used_at: remember our
        # own touches too, so that a key is written at most once per TOUCH_EVERY per process.
        now = time.monotonic()
        if not principal.needs_touch or now - self._touched.get(principal.id, -1e9) < TOUCH_EVERY_S:
            return False
        self._touched[principal.id] = now
        return True

    def _touch(self, key_id: int) -> None:
        try:
            self.keys.touch(key_id)
        except Exception as exc:  # an audit hint must never fail a served request
            log.warning("api_key.touch_failed", key_id=key_id, error=repr(exc))


def _header(scope: Scope, name: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None
