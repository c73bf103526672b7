"""Authentication by API key and authorization by scope, as FastAPI dependencies.

A key comes as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Scopes: `read` for GETs,
`submit` for submitting and cancelling, `admin` for everything.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio
from fastapi import Depends, Request

from api.deps import DbDep
from api.errors import Forbidden, Unauthorized
from api.keys import Principal, authenticate, hash_key
from forager.config import Settings


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("the Authorization header must be `Bearer <API key>`")
        return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


class PrincipalCache:
    """Keys recently found valid, by their digest, for `ttl` seconds.

    Without it every request pays a database round trip (on a thread) before its own query;
    the price is that a revocation reaches a running API process only after `ttl` seconds.
    Only successes are cached, so a new key works at once and a wrong one is never remembered.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, digest: str) -> Principal | None:
        hit = self._entries.get(digest)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, digest: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude, but bounded: a flood of keys cannot grow it
        self._entries[digest] = (time.monotonic() + self.ttl, principal)


async def current_principal(request: Request, db: DbDep) -> Principal:
    key = presented_key(request)
    if not key:
        raise Unauthorized("an API key is required (Authorization: Bearer <key>, or X-API-Key)")
    settings: Settings = request.app.state.settings
    pepper = settings.api_keys_pepper.get_secret_value()
    cache: PrincipalCache = request.app.state.principal_cache
    digest = hash_key(key, pepper)
    principal = cache.get(digest)
    if principal is None:
        principal = await anyio.to_thread.run_sync(db.read, lambda s: authenticate(s, key, pepper))
        if principal is not None:
            cache.put(digest, principal)
    if principal is None:
        raise Unauthorized("the API key is invalid or revoked")
    # Read by the request middleware: it logs the key's prefix and refreshes last_used_at
    # once the response succeeded (a rejected request stores nothing, not even that).
    request.state.principal = principal
    return principal


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.allows(scope):
            raise Forbidden(
                f"this key lacks the {scope!r} scope",
                {"required": scope, "scopes": sorted(principal.scopes)},
            )
        return principal

    check.__name__ = f"require_{scope}"
    return check


ReadKey = Annotated[Principal, Depends(require("read"))]
SubmitKey = Annotated[Principal, Depends(require("submit"))]
