"""Keys: none or a bad one is 401, a wrong scope 403; keys are stored only as hashes."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.keys import ApiKeyStore, hash_key, split_key
from api.settings import ApiSettings
from forager.config import Settings
from forager.store.db import session_scope
from forager.store.models import ApiKeyRow
from tests.api.conftest import PEPPER, auth, counts, drop_messages, make_client

SUBMIT_BODY = {"source": "pypi:attrs==25.3.0"}


def _error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


def test_no_key_is_401(client: TestClient, service_settings: Settings) -> None:
    before = counts(service_settings)
    for method, path in [("GET", "/v1/environments"), ("GET", "/v1/sources/1"), ("POST", "/v1/sources")]:
        resp = client.request(method, path, json=SUBMIT_BODY if method == "POST" else None)
        _error(resp, 401, "unauthorized")
        assert resp.headers["www-authenticate"] == "Bearer"
    assert counts(service_settings) == before


def test_bad_keys_are_401(client: TestClient, keys: dict[str, str], service_settings: Settings) -> None:
    prefix, _secret = split_key(keys["admin"]) or ("", "")
    wrong_secret = f"fgr_{prefix}_{'x' * 43}"
    for headers in [
        auth("nonsense"),
        auth(wrong_secret),
        auth("fgr_000000000000_" + "y" * 43),
        {"Authorization": f"Basic {keys['admin']}"},
        {"X-API-Key": "fgr_short_x"},
    ]:
        _error(client.get("/v1/tasks", headers=headers), 401, "unauthorized")
    before = counts(service_settings)
    _error(client.post("/v1/sources", json=SUBMIT_BODY, headers=auth(wrong_secret)), 401, "unauthorized")
    assert counts(service_settings) == before


def test_revoked_key_is_401(client: TestClient, keys: dict[str, str]) -> None:
    err = _error(client.get("/v1/tasks", headers=auth(keys["revoked"])), 401, "unauthorized")
    assert "revoked" in err["message"]


def test_wrong_scope_is_403(client: TestClient, keys: dict[str, str], service_settings: Settings) -> None:
    before = counts(service_settings)
    err = _error(client.post("/v1/sources", json=SUBMIT_BODY, headers=auth(keys["read"])), 403, "forbidden")
    assert err["details"] == {"required": "submit", "scopes": ["read"]}
    _error(client.post("/v1/sources/1/cancel", headers=auth(keys["read"])), 403, "forbidden")
    # submit does not imply read
    _error(client.get("/v1/episodes", headers=auth(keys["submit"])), 403, "forbidden")
    assert counts(service_settings) == before


def test_submit_and_admin_keys_are_accepted(
    client: TestClient, keys: dict[str, str], service_settings: Settings, redis_url: str
) -> None:
    ids = set()
    for key, headers in [("submit", auth(keys["submit"])), ("admin", {"X-API-Key": keys["admin"]})]:
        resp = client.post("/v1/sources", json=SUBMIT_BODY, headers=headers)
        assert resp.status_code == 202, (key, resp.text)
        ids.add(resp.json()["id"])
    drop_messages(redis_url, ids)
    assert client.get("/v1/episodes", headers={"X-API-Key": keys["admin"]}).status_code == 200
    assert client.get("/v1/episodes", headers=auth(keys["read"])).status_code == 200


def test_keys_are_stored_hashed_and_used_at_is_recorded(
    client: TestClient, service_settings: Settings
) -> None:
    store = ApiKeyStore(service_settings.db_url, PEPPER)
    made = store.create("tests-hash", "read")
    assert made.key.startswith(f"fgr_{made.prefix}_")
    with session_scope(service_settings.db_url) as s:
        row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == made.prefix))
        assert row is not None and row.last_used_at is None
        assert row.key_hash == hash_key(made.key, PEPPER) and made.key not in row.key_hash
    assert client.get("/v1/tasks", headers=auth(made.key)).status_code == 200
    with session_scope(service_settings.db_url) as s:
        row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == made.prefix))
        assert row is not None and row.last_used_at is not None
    # A different pepper (a stolen database without the settings) makes the key worthless.
    other = ApiKeyStore(service_settings.db_url, "another-pepper")
    with session_scope(service_settings.db_url) as s:
        from api.keys import authenticate

        assert authenticate(s, made.key, other.pepper) is None
        assert authenticate(s, made.key, PEPPER) is not None


def test_probes_are_open(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)


def test_revocation_reaches_a_running_api_within_the_cache_ttl(service_settings: Settings) -> None:
    store = ApiKeyStore(service_settings.db_url, PEPPER)
    made = store.create("tests-cache", "read")
    with make_client(service_settings, ApiSettings(log_requests=False, auth_cache_s=0.5)) as c:
        assert c.get("/v1/tasks", headers=auth(made.key)).status_code == 200
        store.revoke(made.prefix)
        # Remembered for at most auth_cache_s (a documented trade-off for one DB round trip less)...
        assert c.get("/v1/tasks", headers=auth(made.key)).status_code == 200
        time.sleep(0.6)
        # ...then the revocation holds.
        assert c.get("/v1/tasks", headers=auth(made.key)).status_code == 401
