"""API keys: `fgr_<prefix>_<secret>`, stored only as HMAC-SHA256(pepper, key).

The prefix is public (it names the key in lists, logs and revocations); the secret is shown
once, when the key is made. A leaked database therefore yields no usable key without the
pepper, which lives in the settings, not in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from forager.errors import ForagerError, NotFoundError
from forager.store.db import session_scope
from forager.store.models import ApiKeyRow, utcnow

Scope = Literal["read", "submit", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
KEY_PREFIX = "fgr"
# last_used_at is a hint for audits, not a log: writing it on every request would turn every
# read into a write, so it is refreshed at most this often.
TOUCH_EVERY = timedelta(seconds=60)


class ApiKeyError(ForagerError):
    """An API key operation was given bad input (unknown scope, empty name)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: an authenticated, unrevoked key."""

    id: int
    name: str
    prefix: str
    scopes: frozenset[str]
    last_used_at: datetime | None

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    @property
    def needs_touch(self) -> bool:
        return self.last_used_at is None or utcnow() - self.last_used_at > TOUCH_EVERY


def hash_key(key: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or len(parts[2]) < 16:
        return None
    return parts[1], parts[2]


def parse_scopes(text: str | Sequence[str]) -> list[str]:
    items = [s.strip().lower() for s in (text.split(",") if isinstance(text, str) else text)]
    items = [s for s in items if s]
    bad = [s for s in items if s not in SCOPES]
    if bad or not items:
        raise ApiKeyError(
            f"invalid scopes {bad or items!r}: use a comma-separated subset of {', '.join(SCOPES)}"
        )
    return sorted(set(items), key=SCOPES.index)


def authenticate(session: Session, key: str, pepper: str) -> Principal | None:
    """The key's principal, or None for an unknown, malformed, wrong or revoked key."""
    parsed = split_key(key)
    # Hash even a malformed key: answering "no" equally fast for every wrong key tells a
    # prober nothing about which prefixes exist.
    presented = hash_key(key, pepper)
    if parsed is None:
        return None
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == parsed[0]))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, presented):
        return None
    return Principal(row.id, row.name, row.prefix, frozenset(row.scopes or ()), row.last_used_at)


@dataclass(frozen=True)
class CreatedKey:
    id: int
    name: str
    prefix: str
    scopes: list[str]
    key: str  # the only time the secret exists outside the caller's hands


class ApiKeyStore:
    def __init__(self, url: str, pepper: str) -> None:
        self.url, self.pepper = url, pepper

    def create(self, name: str, scopes: str | Sequence[str]) -> CreatedKey:
        name = name.strip()
        if not name or len(name) > 128:
            raise ApiKeyError("a key needs a name of 1 to 128 characters")
        scope_list = parse_scopes(scopes)
        with session_scope(self.url) as s:
            prefix = _fresh_prefix(s)
            key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
            row = ApiKeyRow(name=name, prefix=prefix, key_hash=hash_key(key, self.pepper), scopes=scope_list)
            s.add(row)
            s.flush()
            return CreatedKey(row.id, name, prefix, scope_list, key)

    def list(self) -> Sequence[ApiKeyRow]:
        with session_scope(self.url) as s:
            return s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)).all()

    def revoke(self, prefix: str) -> ApiKeyRow:
        with session_scope(self.url) as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
            if row is None:
                raise NotFoundError(f"no API key with prefix {prefix!r}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return row

    def touch(self, key_id: int) -> None:
        with session_scope(self.url) as s:
            s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=utcnow()))


def _fresh_prefix(session: Session) -> str:
    # 48 random bits: a clash is rare, but the column is unique, so check rather than hope.
    for _ in range(8):
        prefix = secrets.token_hex(6)
        if session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.prefix == prefix)) is None:
            return prefix
    raise ForagerError("could not find a free API key prefix")
