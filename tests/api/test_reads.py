"""List and get endpoints on seeded rows: filters, offset and keyset pagination, details."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from forager.config import Settings
from tests.api.conftest import auth
from tests.api.seed import World, seed_world


@pytest.fixture(scope="module")
def world(service_settings: Settings) -> World:
    return seed_world(service_settings.db_url)


@pytest.fixture(scope="module")
def h(keys: dict[str, str]) -> dict[str, str]:
    return auth(keys["read"])


def ids(resp) -> list[int]:
    assert resp.status_code == 200, resp.text
    return [i["id"] for i in resp.json()["items"]]


def walk(client: TestClient, path: str, params: dict, headers: dict) -> list[int]:
    """Every id of a listing, page by page through the `next` links."""
    out: list[int] = []
    resp = client.get(path, params=params, headers=headers)
    while True:
        body = resp.json()
        out += [i["id"] for i in body["items"]]
        if body["links"]["next"] is None:
            assert body["next_after_id"] is None
            return out
        resp = client.get(body["links"]["next"], headers=headers)


def test_environments(client: TestClient, world: World, h: dict) -> None:
    verified, failed, building = world.env_ids
    assert ids(client.get("/v1/environments", params={"name": world.name}, headers=h)) == [
        building,
        failed,
        verified,
    ]
    assert ids(
        client.get("/v1/environments", params={"name": world.name, "status": "failed"}, headers=h)
    ) == [failed]
    asc = ids(client.get("/v1/environments", params={"name": world.name, "order": "asc"}, headers=h))
    assert asc == [verified, failed, building]
    assert walk(client, "/v1/environments", {"name": world.name, "limit": 1}, h) == [
        building,
        failed,
        verified,
    ]
    assert ids(
        client.get("/v1/environments", params={"name": world.name, "limit": 1, "offset": 1}, headers=h)
    ) == [failed]
    item = client.get(
        "/v1/environments", params={"name": world.name, "status": "verified"}, headers=h
    ).json()["items"][0]
    assert item["source"] == f"https://example.org/{world.name}.git" and item["tests_passed"] == 4
    assert client.get("/v1/environments", params={"status": "exploded"}, headers=h).status_code == 422


def test_environment_detail_attempts_and_logs(client: TestClient, world: World, h: dict) -> None:
    env_id = world.env_ids[0]
    resp = client.get(f"/v1/environments/{env_id}", headers=h)
    assert resp.status_code == 200, resp.text
    env = resp.json()
    assert env["format"] == "forager.environment/1" and env["status"] == "verified" and env["attempts"] == 2
    assert [a["status"] for a in env["attempt_log"]] == ["build_failed", "verified"]
    assert "build log of attempt" not in resp.text  # logs are served one at a time
    assert env["attempt_logs"][1]["log"] == f"/v1/environments/{env_id}/attempts/2/log"
    log = client.get(env["attempt_logs"][1]["log"], headers=h)
    assert log.status_code == 200 and log.headers["content-type"].startswith("text/plain")
    assert "===== dockerfile =====" in log.text and "build log of attempt 2" in log.text
    assert "test log of attempt 2" in log.text
    only = client.get(f"/v1/environments/{env_id}/attempts/1/log", params={"part": "test"}, headers=h)
    assert only.text == "test log of attempt 1\n"
    assert client.get(f"/v1/environments/{env_id}/attempts/9/log", headers=h).status_code == 404
    assert client.get("/v1/environments/987654321", headers=h).json()["error"]["code"] == "not_found"


def test_environment_tests(client: TestClient, world: World, h: dict) -> None:
    env_id = world.env_ids[0]
    everything = walk(client, f"/v1/environments/{env_id}/tests", {"limit": 2, "order": "asc"}, h)
    assert len(everything) == 5 and everything == sorted(everything)
    failed = client.get(f"/v1/environments/{env_id}/tests", params={"outcome": "failed"}, headers=h).json()
    assert [t["test_id"] for t in failed["items"]] == ["tests/test_mod.py::test_2"]
    assert client.get("/v1/environments/987654321/tests", headers=h).status_code == 404


def test_tasks(client: TestClient, world: World, h: dict) -> None:
    env = world.env_ids[0]
    all_ids = walk(client, "/v1/tasks", {"environment_id": env, "limit": 4}, h)
    assert all_ids == sorted(world.task_ids, reverse=True)
    swaps = ids(client.get("/v1/tasks", params={"environment_id": env, "family": "operator_swap"}, headers=h))
    assert sorted(swaps) == world.task_ids[:3]
    issue = ids(client.get("/v1/tasks", params={"environment_id": env, "kind": "issue_fix"}, headers=h))
    assert issue == [world.task_ids[5]]
    item = client.get("/v1/tasks", params={"environment_id": env, "limit": 1}, headers=h).json()["items"][0]
    assert "bug_patch" not in item  # lists stay light; patches are in the detail
    task = client.get(f"/v1/tasks/{world.task_ids[0]}", headers=h).json()
    assert task["bug_patch"].endswith("bug 0") and task["fail_to_pass"] == ["tests/test_mod.py::test_0"]
    assert client.get("/v1/tasks", params={"kind": "other"}, headers=h).status_code == 422
    assert client.get("/v1/tasks/987654321", headers=h).status_code == 404


def test_episodes(client: TestClient, world: World, h: dict) -> None:
    env = world.env_ids[0]
    everything = walk(client, "/v1/episodes", {"environment_id": env, "limit": 2, "order": "asc"}, h)
    assert everything == [*world.episode_ids, world.running_episode_id]
    by_task = ids(client.get("/v1/episodes", params={"task_id": world.task_ids[0]}, headers=h))
    assert sorted(by_task) == world.episode_ids[1:3]
    fmt = ids(
        client.get("/v1/episodes", params={"environment_id": env, "exit_status": "format_error"}, headers=h)
    )
    assert fmt == [world.episode_ids[3]]
    openai = ids(
        client.get("/v1/episodes", params={"environment_id": env, "policy_kind": "openai"}, headers=h)
    )
    assert sorted(openai) == world.episode_ids[2:4]
    assert client.get("/v1/episodes", params={"exit_status": "bored"}, headers=h).status_code == 422
    ep = client.get(f"/v1/episodes/{world.episode_ids[0]}", headers=h).json()
    assert ep["exit_status"] == "submitted" and ep["final_patch"].startswith("diff --git")
    assert ep["links"]["trajectory"] == f"/v1/episodes/{world.episode_ids[0]}/trajectory"
    assert client.get("/v1/episodes/987654321", headers=h).status_code == 404


def test_pagination_bounds(client: TestClient, h: dict) -> None:
    assert client.get("/v1/episodes", params={"limit": 501}, headers=h).status_code == 422
    assert client.get("/v1/episodes", params={"limit": 0}, headers=h).status_code == 422
    assert client.get("/v1/episodes", params={"offset": -1}, headers=h).status_code == 422
    both = client.get("/v1/episodes", params={"offset": 5, "after_id": 3}, headers=h)
    assert both.status_code == 422 and both.json()["error"]["code"] == "validation_error"
    assert client.get("/v1/episodes", params={"limit": 500}, headers=h).status_code == 200
    assert client.get("/v1/episodes", headers=h).json()["limit"] == 50


def test_submission_progress(client: TestClient, world: World, h: dict) -> None:
    sub = client.get(f"/v1/sources/{world.submission_id}", headers=h).json()
    assert sub["stage"] == "episodes" and sub["environment_id"] == world.env_ids[0]
    assert sub["progress"]["build"]["status"] == "done"
