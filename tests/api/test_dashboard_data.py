"""The dashboard's JSON endpoints against the real store (PostgreSQL, and SQLite once)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from api.settings import ApiSettings
from api.ui.diffs import edit_diff
from forager.config import Settings
from forager.store.db import session_scope
from forager.store.models import EpisodeRow, StepRow, TaskRow
from tests.api.conftest import PEPPER, auth, make_client
from tests.ui.world import seed_demo


def test_data_needs_a_read_key_and_pages_are_shells(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/ui/api/overview").status_code == 401
    assert client.get("/ui/api/overview", headers=auth(keys["revoked"])).status_code == 401
    me = client.get("/ui/api/me", headers=auth(keys["read"])).json()
    assert me["scopes"] == ["read"] and me["name"] == "tests-read"
    page = client.get("/ui/episodes/5")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'data-id="5"' in page.text and "/ui/static/js/pages/episode.js" in page.text
    assert client.get("/ui/episodes/0").status_code == 422
    js = client.get("/ui/static/js/pages/episode.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert js.headers["cache-control"] == "no-cache"


def test_steps_page_by_index(client: TestClient, keys: dict[str, str], service_settings: Settings) -> None:
    world = seed_demo(service_settings.db_url, long_steps=130)
    h = auth(keys["read"])
    eid = world.long_episode_id
    with session_scope(service_settings.db_url) as s:
        n = int(s.scalar(select(func.count()).where(StepRow.episode_id == eid)) or 0)
        full = s.execute(
            select(StepRow.index, StepRow.output).where(StepRow.episode_id == eid, StepRow.output.isnot(None))
        ).first()
    seen: list[int] = []
    start: int | None = 0
    while start is not None:
        page = client.get(
            f"/ui/api/episodes/{eid}/steps", params={"from_index": start, "limit": 40}, headers=h
        )
        body = page.json()
        assert body["total"] == n
        seen += [st["index"] for st in body["items"]]
        start = body["next_index"]
    assert seen == list(range(n))
    deep = client.get(f"/ui/api/episodes/{eid}/steps", params={"from_index": n - 3}, headers=h).json()
    assert [st["index"] for st in deep["items"]] == [n - 3, n - 2, n - 1] and deep["next_index"] is None
    # A truncated step says so, and its full output comes on demand.
    assert full is not None
    at = client.get(f"/ui/api/episodes/{eid}/steps", params={"from_index": full.index, "limit": 1}, headers=h)
    assert at.json()["items"][0]["has_full_output"] is True
    out = client.get(f"/ui/api/episodes/{eid}/steps/{full.index}/output", headers=h)
    assert out.text == full.output
    # Edits carry their diff.
    edits = [
        st
        for st in client.get(f"/ui/api/episodes/{world.episode_ids[0]}/steps", headers=h).json()["items"]
        if st["tool"] == "edit"
    ]
    assert edits and edits[0]["diff"].startswith("--- a/calc/core.py\n+++ b/calc/core.py\n@@")
    assert client.get("/ui/api/episodes/999999999/steps", headers=h).status_code == 404
    assert client.get(f"/ui/api/episodes/{eid}/steps/100000/output", headers=h).status_code == 404
    assert client.get(f"/ui/api/episodes/{eid}/steps", params={"limit": 201}, headers=h).status_code == 422


def test_overview_plots_and_lists(
    client: TestClient, keys: dict[str, str], service_settings: Settings
) -> None:
    world = seed_demo(service_settings.db_url, bulk_episodes=30, long_steps=5)
    h = auth(keys["read"])
    o = client.get("/ui/api/overview", headers=h).json()
    with session_scope(service_settings.db_url) as s:
        by_status = dict(s.execute(select(EpisodeRow.status, func.count()).group_by(EpisodeRow.status)).all())
        families = dict(s.execute(select(TaskRow.family, func.count()).group_by(TaskRow.family)).all())
    assert o["episodes"] == by_status
    assert len(o["throughput"]["starts"]) == 60 and len(o["failures"]["starts"]) == 24
    assert sum(o["failures"]["series"].get("episode:env_error", [])) >= 1
    assert o["queues"]["checked_at"] is None or "build" in o["queues"]["depths"]
    p = client.get("/ui/api/plots", headers=h).json()
    assert p["tasks_per_family"] == families
    assert sum(p["exit_status"].values()) == by_status["finished"]
    assert p["episode_length"]["sample"] == by_status["finished"]
    assert sum(p["step_latency"]["counts"]["llm_ms"]) == p["step_latency"]["sample"] > 0
    calc = world.env_ids["minicalc"]
    envs = client.get("/ui/api/environments", params={"name": f"minicalc-{world.prefix}"}, headers=h).json()
    (env,) = envs["items"]
    assert env["id"] == calc and env["attempts"] == 2 and env["tests_flaky"] == 1
    flaky = client.get(f"/ui/api/environments/{calc}/tests", params={"flaky": "true"}, headers=h).json()
    assert [t["test_id"] for t in flaky["items"]] == ["tests/test_minicalc.py::test_case_0"]
    fams = client.get("/ui/api/task-families", params={"environment_id": calc}, headers=h).json()
    assert {f["family"]: f["tasks"] for f in fams}["operator_swap"] == 2


def test_same_endpoints_on_sqlite(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'forager.db'}",
        redis_url=redis_url,
        api_keys_pepper=SecretStr(PEPPER),
    )
    from api.keys import ApiKeyStore

    world = seed_demo(settings.db_url, bulk_episodes=40, long_steps=60)
    key = ApiKeyStore(settings.db_url, PEPPER).create("sqlite-ui", "read").key
    with make_client(settings, ApiSettings(log_requests=False, ui_cache_s=0)) as c:
        h = auth(key)
        o = c.get("/ui/api/overview", headers=h).json()
        # Time buckets on SQLite: the demo's episodes all finished within the last day.
        assert sum(sum(v) for v in o["failures"]["series"].values()) > 0
        assert sum(o["throughput"]["series"].get("finished", [])) > 0
        p = c.get("/ui/api/plots", headers=h).json()
        assert p["verified_share"][0]["episodes"] > 0
        page = c.get(f"/ui/api/episodes/{world.long_episode_id}/steps", params={"from_index": 50}, headers=h)
        assert page.json()["items"][0]["index"] == 50


def test_edit_diffs() -> None:
    d = edit_diff("edit", {"path": "a.py", "old_str": "x = 1\ny = 2\n", "new_str": "x = 1\ny = 3\n"})
    assert d is not None and "-y = 2\n+y = 3\n" in d and d.startswith("--- a/a.py\n+++ b/a.py\n")
    created = edit_diff("create", {"path": "n.py", "file_text": "a\nb"})
    assert (
        created is not None and created.startswith("--- /dev/null\n+++ b/n.py\n") and created.endswith("+b\n")
    )
    ins = edit_diff("insert", {"path": "a.py", "insert_line": 4, "new_str": "z = 0\n"})
    assert ins == "--- a/a.py\n+++ b/a.py\n@@ -4,0 +5,1 @@\n+z = 0\n"
    assert edit_diff("bash", {"command": "ls"}) is None
    assert edit_diff("edit", {"old_str": "x"}) is None
