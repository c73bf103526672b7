"""Submitting sources: what is refused (and stores nothing), and what is queued."""

from __future__ import annotations

import json

import pytest
import redis
from fastapi.testclient import TestClient

from api.settings import ApiSettings
from forager.config import Settings
from forager.store.submissions import SubmissionStore
from tests.api.conftest import auth, counts, drop_messages, make_client, queued_messages


@pytest.fixture(scope="module")
def submit_headers(keys: dict[str, str]) -> dict[str, str]:
    return auth(keys["submit"])


def _refused(
    client: TestClient, settings: Settings, body: object, headers: dict[str, str], status: int, code: str
) -> dict:
    before = counts(settings)
    resp = client.post("/v1/sources", json=body, headers=headers)
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert err["code"] == code, err
    assert counts(settings) == before, "a rejected request stored something"
    return err


@pytest.mark.parametrize(
    ("source", "status", "code"),
    [
        ("file:///etc", 400, "source_not_allowed"),
        ("/etc", 400, "source_not_allowed"),
        ("path:/tmp", 400, "source_not_allowed"),
        ("./relative/dir", 400, "source_not_allowed"),
        ("http://127.0.0.1/repo.git", 400, "source_not_allowed"),
        ("ssh://git@github.com/org/repo.git", 400, "source_not_allowed"),
        ("git@github.com:org/repo.git", 400, "source_not_allowed"),
        ("https://10.0.0.1/x.git", 400, "source_not_allowed"),
        ("https://127.0.0.1/x.git", 400, "source_not_allowed"),
        ("https://169.254.169.254/latest/meta-data", 400, "source_not_allowed"),
        ("https://[::1]/x.git", 400, "source_not_allowed"),
        ("https://[::ffff:10.1.2.3]/x.git", 400, "source_not_allowed"),
        ("https://0.0.0.0/x.git", 400, "source_not_allowed"),
        ("https://2130706433/x.git", 400, "source_not_allowed"),  # 127.0.0.1 as one number
        ("https://localhost/x.git", 400, "source_not_allowed"),  # a name that resolves to loopback
        ("https://localhost./x.git", 400, "source_not_allowed"),
        ("https://user:secret@github.com/x.git", 422, "invalid_source"),
        ("ftp://example.org/x.git", 400, "source_not_allowed"),
        ("pypi:not a name==1", 422, "invalid_source"),
        ("pypi:attrs==not.a.version!", 422, "invalid_source"),
        ("just some words", 400, "source_not_allowed"),  # would be a local path
    ],
)
def test_disallowed_or_invalid_sources(
    client: TestClient,
    service_settings: Settings,
    submit_headers: dict[str, str],
    source: str,
    status: int,
    code: str,
) -> None:
    err = _refused(client, service_settings, {"source": source}, submit_headers, status, code)
    assert "secret" not in json.dumps(err)


def test_http_allowed_still_refuses_private_hosts(service_settings: Settings, keys: dict[str, str]) -> None:
    api = ApiSettings(log_requests=False, allowed_schemes=["https", "http", "pypi"])
    with make_client(service_settings, api) as c:
        err = _refused(
            c,
            service_settings,
            {"source": "http://127.0.0.1:8080/x.git"},
            auth(keys["submit"]),
            400,
            "source_not_allowed",
        )
        assert err["details"]["address"] == "127.0.0.1"


def test_host_allow_list(service_settings: Settings, keys: dict[str, str]) -> None:
    api = ApiSettings(log_requests=False, allowed_hosts=["example.org", "*.example.com"])
    with make_client(service_settings, api) as c:
        err = _refused(
            c,
            service_settings,
            {"source": "https://github.com/psf/requests.git"},
            auth(keys["submit"]),
            400,
            "source_not_allowed",
        )
        assert err["details"]["host"] == "github.com"


@pytest.mark.parametrize("ref", ["no spaces allowed", "a" * 201, "$(reboot)", "..;rm", ""])
def test_nonsense_refs(
    client: TestClient, service_settings: Settings, submit_headers: dict, ref: str
) -> None:
    body = {"source": "https://github.com/psf/requests.git", "ref": ref}
    _refused(client, service_settings, body, submit_headers, 422, "invalid_source")


def test_ref_on_a_pypi_source(client: TestClient, service_settings: Settings, submit_headers: dict) -> None:
    _refused(
        client,
        service_settings,
        {"source": "pypi:attrs==25.3.0", "ref": "main"},
        submit_headers,
        422,
        "invalid_source",
    )


@pytest.mark.parametrize(
    "body",
    [
        {"source": "pypi:attrs==25.3.0", "priority": "high"},
        {"source": "pypi:attrs==25.3.0", "options": {"max_tasks": 3, "surprise": True}},
        {"source": "pypi:attrs==25.3.0", "options": {"policy": {"type": "explorer", "shell": "rm -rf /"}}},
        {"source": "pypi:attrs==25.3.0", "options": {"policy": {"type": "nope"}}},
        {"source": "pypi:attrs==25.3.0", "options": {"max_tasks": -1}},
        {
            "source": "pypi:attrs==25.3.0",
            "options": {"task_families": ["operator_swap", "delete_everything"]},
        },
        {"source": ""},
        {"ref": "main"},
        ["pypi:attrs==25.3.0"],
        "pypi:attrs==25.3.0",
    ],
)
def test_unknown_fields_and_bad_values_are_422(
    client: TestClient, service_settings: Settings, submit_headers: dict, body: object
) -> None:
    err = _refused(client, service_settings, body, submit_headers, 422, "validation_error")
    assert err["details"] and all("loc" in d and "msg" in d for d in err["details"])


@pytest.mark.parametrize("field", ["base_url", "api_key"])
def test_openai_endpoint_cannot_be_injected(
    client: TestClient, service_settings: Settings, submit_headers: dict, field: str
) -> None:
    value = "http://169.254.169.254/v1" if field == "base_url" else "sk-stolen"
    body = {"source": "pypi:attrs==25.3.0", "options": {"policy": {"type": "openai", field: value}}}
    err = _refused(client, service_settings, body, submit_headers, 422, "validation_error")
    assert field in err["message"]
    assert value not in json.dumps(err)


def test_malformed_json_is_422(client: TestClient, service_settings: Settings, submit_headers: dict) -> None:
    before = counts(service_settings)
    resp = client.post(
        "/v1/sources", content=b'{"source": ', headers={**submit_headers, "Content-Type": "application/json"}
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "validation_error"
    assert counts(service_settings) == before


def test_huge_body_is_413(client: TestClient, service_settings: Settings, submit_headers: dict) -> None:
    before = counts(service_settings)
    big = {"source": "pypi:attrs==25.3.0", "ref": None, "options": {"task_families": ["x" * 100_000]}}
    resp = client.post("/v1/sources", json=big, headers=submit_headers)
    assert resp.status_code == 413, resp.text
    assert resp.json()["error"]["code"] == "body_too_large"
    assert resp.json()["error"]["details"] == {"max_bytes": 64 * 1024}

    # No Content-Length (chunked): refused while reading.
    def chunks():
        yield b'{"source": "pypi:attrs==25.3.0", "pad": "'
        for _ in range(100):
            yield b"y" * 4096
        yield b'"}'

    resp = client.post(
        "/v1/sources", content=chunks(), headers={**submit_headers, "Content-Type": "application/json"}
    )
    assert resp.status_code == 413, resp.text
    assert resp.json()["error"]["code"] == "body_too_large"
    assert counts(service_settings) == before


def test_submit_is_stored_and_queued(
    client: TestClient, service_settings: Settings, submit_headers: dict, redis_url: str
) -> None:
    before = counts(service_settings)
    body = {
        "source": "attrs==25.3.0",  # corpus style: stored canonically as pypi:
        "options": {
            "max_tasks": 3,
            "policy": {"type": "openai", "model": "policy", "temperature": 0.5},
            "task_families": ["operator_swap"],
        },
    }
    resp = client.post("/v1/sources", json=body, headers=submit_headers)
    assert resp.status_code == 202, resp.text
    out = resp.json()
    sid = out["id"]
    try:
        assert out["status"] == "queued" and out["note"] is None
        assert out["links"]["self"] == f"/v1/sources/{sid}" == resp.headers["location"]
        after = counts(service_settings)
        assert after["submissions"] == before["submissions"] + 1
        assert {k: v for k, v in after.items() if k != "submissions"} == {
            k: v for k, v in before.items() if k != "submissions"
        }
        row = SubmissionStore(service_settings.db_url).get(sid)
        assert row.source == "pypi:attrs==25.3.0" and row.status == "queued"
        assert row.options["max_tasks"] == 3
        assert row.options["policy"]["type"] == "openai" and row.options["policy"]["temperature"] == 0.5
        assert "base_url" not in row.options["policy"] and "api_key" not in row.options["policy"]
        assert row.api_key_id is not None

        mine = [m for m in queued_messages(redis_url) if m["body"] and m["body"][0] == [sid]]
        assert len(mine) == 1 and mine[0]["task"] == "forager.submissions.run"

        status = client.get(f"/v1/sources/{sid}", headers=submit_headers)
        assert status.status_code == 403  # submit alone does not read
    finally:
        drop_messages(redis_url, {sid})


def test_status_list_and_cancel(
    client: TestClient, service_settings: Settings, keys: dict[str, str], redis_url: str
) -> None:
    admin = auth(keys["admin"])
    ids = []
    try:
        for _ in range(3):
            resp = client.post("/v1/sources", json={"source": "pypi:idna==3.10"}, headers=admin)
            assert resp.status_code == 202
            ids.append(resp.json()["id"])
        one = client.get(f"/v1/sources/{ids[0]}", headers=admin).json()
        assert one["status"] == "queued" and one["stage"] == "queued"
        assert set(one["progress"]) == {"ingest", "build", "tasks", "episodes"}
        assert one["environment_id"] is None and one["error"] is None

        page = client.get("/v1/sources", params={"status": "queued", "limit": 2}, headers=admin).json()
        assert len(page["items"]) == 2 and page["items"][0]["id"] > page["items"][1]["id"]
        assert page["next_after_id"] == page["items"][1]["id"]
        nxt = client.get(page["links"]["next"], headers=admin).json()
        assert all(i["id"] < page["next_after_id"] for i in nxt["items"])

        resp = client.post(f"/v1/sources/{ids[0]}/cancel", headers=admin)
        assert resp.status_code == 202 and resp.json()["cancel_requested"] is True
        assert client.get(f"/v1/sources/{ids[0]}", headers=admin).json()["cancel_requested"] is True

        SubmissionStore(service_settings.db_url).finish(ids[1], "done")
        resp = client.post(f"/v1/sources/{ids[1]}/cancel", headers=admin)
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "already_finished"

        assert client.get("/v1/sources/999999999", headers=admin).status_code == 404
        assert client.post("/v1/sources/999999999/cancel", headers=admin).status_code == 404
        assert client.get("/v1/sources/0", headers=admin).status_code == 422
        assert client.get(f"/v1/sources/{2**70}", headers=admin).status_code == 422
    finally:
        drop_messages(redis_url, set(ids))


def test_broker_down_still_accepts(service_settings: Settings, keys: dict[str, str]) -> None:
    """The row is the source of truth: with Redis unreachable the submission is kept, 202."""
    from workers.app import app as celery_app

    old = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    celery_app._after_fork()
    try:
        with make_client(service_settings) as c:
            before = counts(service_settings)
            resp = c.post("/v1/sources", json={"source": "pypi:idna==3.10"}, headers=auth(keys["submit"]))
        assert resp.status_code == 202, resp.text
        assert "broker" in resp.json()["note"]
        assert counts(service_settings)["submissions"] == before["submissions"] + 1
        assert SubmissionStore(service_settings.db_url).get(resp.json()["id"]).status == "queued"
    finally:
        celery_app.conf.broker_url = old
        celery_app._after_fork()
    assert redis.Redis.from_url(old).ping()
