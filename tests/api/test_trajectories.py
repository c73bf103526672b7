"""Trajectories: one as JSON, many as a JSONL stream (only finished ones, in batches)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.settings import ApiSettings
from forager.agent.models import Trajectory
from forager.config import Settings
from forager.store.episodes import EpisodeStore
from tests.api.conftest import auth, make_client
from tests.api.seed import World, seed_world


@pytest.fixture(scope="module")
def world(service_settings: Settings) -> World:
    return seed_world(service_settings.db_url)


@pytest.fixture(scope="module")
def h(keys: dict[str, str]) -> dict[str, str]:
    return auth(keys["read"])


def test_trajectory_json(client: TestClient, world: World, h: dict, service_settings: Settings) -> None:
    eid = world.episode_ids[2]
    resp = client.get(f"/v1/episodes/{eid}/trajectory", headers=h)
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    traj = Trajectory.model_validate_json(resp.text)
    assert traj == EpisodeStore(service_settings.db_url).trajectory(eid)
    assert traj.format == "forager.trajectory/1" and traj.status == "finished"
    assert [s.index for s in traj.steps] == [0, 1, 2, 3]
    assert traj.steps[1].action is not None and traj.steps[1].action.args == {"command": "echo 1"}
    assert traj.policy.kind == "openai" and traj.exit_status == "submitted"
    running = client.get(f"/v1/episodes/{world.running_episode_id}/trajectory", headers=h).json()
    assert running["status"] == "running" and len(running["steps"]) == 1
    assert client.get("/v1/episodes/987654321/trajectory", headers=h).status_code == 404


def _lines(resp) -> list[dict]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    assert resp.text == "" or resp.text.endswith("\n")
    return [json.loads(line) for line in resp.text.splitlines()]


def test_trajectories_jsonl(service_settings: Settings, world: World, h: dict) -> None:
    # Batches of 2 so that the stream crosses several store reads.
    with make_client(service_settings, ApiSettings(log_requests=False, trajectory_batch=2)) as client:
        env = world.env_ids[0]
        lines = _lines(client.get("/v1/trajectories", params={"environment_id": env}, headers=h))
        assert [t["episode_id"] for t in lines] == world.episode_ids  # the running one is left out
        assert all(t["format"] == "forager.trajectory/1" and t["status"] == "finished" for t in lines)
        assert [len(t["steps"]) for t in lines] == [3, 2, 4, 1, 0]
        Trajectory.model_validate(lines[0])

        tail = _lines(
            client.get(
                "/v1/trajectories",
                params={"environment_id": env, "after_id": world.episode_ids[1], "limit": 2},
                headers=h,
            )
        )
        assert [t["episode_id"] for t in tail] == world.episode_ids[2:4]
        openai = _lines(
            client.get("/v1/trajectories", params={"environment_id": env, "policy_kind": "openai"}, headers=h)
        )
        assert [t["episode_id"] for t in openai] == world.episode_ids[2:4]
        none = _lines(client.get("/v1/trajectories", params={"environment_id": world.env_ids[1]}, headers=h))
        assert none == []
        missing = client.get("/v1/trajectories", params={"environment_id": 987654321}, headers=h)
        assert missing.status_code == 404
        assert client.get("/v1/trajectories", params={"environment_id": env}).status_code == 401
