"""The same app on the embedded SQLite store: reads, filters and metrics work there too."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from api.keys import ApiKeyStore
from forager.config import Settings
from tests.api.conftest import PEPPER, auth, make_client
from tests.api.seed import seed_world


def test_reads_and_metrics_on_sqlite(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'forager.db'}",
        redis_url=redis_url,
        api_keys_pepper=SecretStr(PEPPER),
    )
    world = seed_world(settings.db_url)
    key = ApiKeyStore(settings.db_url, PEPPER).create("sqlite", "read").key
    with make_client(settings) as c:
        h = auth(key)
        env = world.env_ids[0]
        openai = c.get("/v1/episodes", params={"environment_id": env, "policy_kind": "openai"}, headers=h)
        assert sorted(i["id"] for i in openai.json()["items"]) == world.episode_ids[2:4]
        assert (
            len(c.get("/v1/tasks", params={"environment_id": env, "limit": 2}, headers=h).json()["items"])
            == 2
        )
        lines = c.get("/v1/trajectories", params={"environment_id": env}, headers=h).text.splitlines()
        assert len(lines) == len(world.episode_ids)
        text = c.get("/metrics").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    assert samples[("forager_episodes_finished_total", ())] == 5
    assert samples[("forager_stage_duration_seconds_count", (("stage", "build"),))] == 1
