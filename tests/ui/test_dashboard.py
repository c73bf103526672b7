"""The dashboard in headless Chromium against a real API process and a seeded PostgreSQL store:
log in, open each page, follow a submission to a trajectory, step through it with the
keyboard, and check what the pages show against what the store holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from sqlalchemy import func, select

from forager.agent.models import Action, Observation, StepRecord, Totals
from forager.config import Settings
from forager.store.db import session_scope
from forager.store.episodes import EpisodeStore
from forager.store.models import (
    BuildAttemptRow,
    EnvironmentRow,
    EpisodeRow,
    StepRow,
    SubmissionRow,
    TaskRow,
    utcnow,
)
from forager.store.models import TestResultRow as BaselineRow
from forager.store.submissions import SubmissionStore
from tests.ui.browser import Browser
from tests.ui.world import DemoWorld
from workers.dispatch import queue_depths


@pytest.fixture(autouse=True)
def no_script_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """No page may log a JavaScript error (a failed module, an exception in a handler)."""
    yield
    if "browser" in request.fixturenames:
        b: Browser = request.getfixturevalue("browser")
        severe = [m for m in b.console() if "SEVERE" in m or "Uncaught" in m]
        assert not severe, severe


def press(b: Browser, *keys: str) -> None:
    for k in keys:
        ActionChains(b.driver).send_keys(k).perform()


def current_step(b: Browser) -> int:
    return int(b.js("return Number(document.body.dataset.currentStep ?? -1)"))


def wait_step(b: Browser, i: int) -> None:
    b.wait(lambda _: current_step(b) == i, what=f"step {i} to be current")


def text_of(b: Browser, css: str) -> str:
    return str(b.js("return document.querySelector(arguments[0]).textContent", css))


def bars(b: Browser, css: str) -> dict[str, float]:
    """label -> value of a chart's bars (SVG rects with data-label / data-value), read at once
    (a live page may redraw its charts between two reads)."""
    return dict(
        b.js(
            """const out = {};
            for (const r of document.querySelectorAll(arguments[0] + " rect[data-label]")) {
              out[r.dataset.label] = (out[r.dataset.label] || 0) + Number(r.dataset.value);
            }
            return out;""",
            css,
        )
    )


def test_login_with_a_key_and_log_out(chromium: None, server: str, read_key: str) -> None:
    b = Browser(server)
    try:
        b.open("/ui/environments", ready=False)
        b.wait(lambda d: "/ui/login" in d.current_url, what="the login page")
        assert "next=%2Fui%2Fenvironments" in b.driver.current_url
        b.find("#key").send_keys("fgr_000000000000_notavalidkeynotavalidkey")
        b.find("#login-button").click()
        b.wait(lambda _: b.find("#login-error").is_displayed(), what="the error")
        assert "not valid" in b.text("#login-error")
        b.find("#key").clear()
        b.find("#key").send_keys(read_key)
        b.find("#login-button").click()
        b.wait(lambda d: d.current_url == f"{server}/ui/environments", what="the page asked for")
        b.wait_ready()
        b.wait(lambda _: "ui-tests" in b.text("#who"), what="the key's name in the header")
        b.find("#logout").click()
        b.wait(lambda d: "/ui/login" in d.current_url, what="the login page")
        b.open("/ui", ready=False)
        b.wait(lambda d: "/ui/login" in d.current_url, what="the login page again (the key is gone)")
    finally:
        b.quit()


def test_overview_matches_the_store_and_stays_live(
    browser: Browser, world: DemoWorld, pg_url: str, redis_url: str, worker_name: str
) -> None:
    b = browser
    b.open("/ui")
    with session_scope(pg_url) as s:
        totals = {
            name: int(s.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (("submissions", SubmissionRow), ("environments", EnvironmentRow),
                                ("episodes", EpisodeRow))
        }  # fmt: skip
        progress = {sid: s.get_one(SubmissionRow, sid).progress for sid in world.submission_ids.values()}
    for name, n in totals.items():
        assert b.text(f"#stat-{name} .stat-v") == f"{n:,}"
    for status, sid in world.submission_ids.items():
        row = b.find(f'tr[data-submission="{sid}"]')
        assert row.get_attribute("data-status") == status
        pills = {
            p.get_attribute("data-stage"): p.get_attribute("data-status")
            for p in row.find_elements(By.CSS_SELECTOR, ".pill")
        }
        assert pills == {st: progress[sid][st]["status"] for st in ("ingest", "build", "tasks", "episodes")}  # fmt: skip

    # Live, without reloading: progress of a running submission, and a new submission.
    running = world.submission_ids["running"]
    with session_scope(pg_url) as s:
        row = s.get_one(SubmissionRow, running)
        row.progress = {**row.progress, "episodes": {**row.progress["episodes"], "finished": 17}}
    b.wait(lambda _: "episodes 17/24" in b.text(f'tr[data-submission="{running}"] [data-stage="episodes"]'),
           what="the new episode count")  # fmt: skip
    new_id = SubmissionStore(pg_url).create("pypi:attrs==25.3.0", None, {})
    b.wait(lambda _: b.find_all(f'tr[data-submission="{new_id}"]'), what="the new submission's row")

    # The broker's view: queue depths as Redis holds them, and the live worker by name.
    depths = queue_depths(Settings(redis_url=redis_url))
    b.wait(lambda _: worker_name in b.text("#stat-workers"), timeout=60, what="the worker to be seen")
    queues_text = b.text("#stat-queues")
    for q, n in depths.items():
        assert f"{q} {n}" in queues_text
    assert b.text("#stat-queues .stat-v") == f"{sum(depths.values()):,}"

    # Failures by reason: the chart's env_error bars against the store over the same hours.
    now = utcnow()
    with session_scope(pg_url) as s:
        counts = []
        for shift in (0, 1):  # the hour may turn between the page's read and ours
            start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23 + shift)
            counts.append(int(s.scalar(select(func.count()).where(
                EpisodeRow.exit_status == "env_error", EpisodeRow.finished_at >= start)) or 0))  # fmt: skip
    assert bars(b, "#failures").get("episode:env_error") in counts


def test_environments_builds_logs_and_baseline(browser: Browser, world: DemoWorld, pg_url: str) -> None:
    b = browser
    calc = world.env_ids["minicalc"]
    with session_scope(pg_url) as s:
        env = s.get_one(EnvironmentRow, calc)
        name, size = env.snapshot.name, env.image_size_bytes
        attempts = s.scalars(select(BuildAttemptRow).where(BuildAttemptRow.environment_id == calc)
                             .order_by(BuildAttemptRow.index)).all()  # fmt: skip
        logs = [a.build_log for a in attempts]
        flaky = sorted(s.scalars(select(BaselineRow.test_id).where(
            BaselineRow.environment_id == calc, BaselineRow.flaky.is_(True))))  # fmt: skip
        passed, failed = env.tests_passed, env.tests_failed
    b.open(f"/ui/environments?name={name}")
    (row,) = b.find_all("tr[data-env]")
    assert row.get_attribute("data-env") == str(calc)
    assert f"{passed} passed · {failed} failed" in row.text and "1 flaky" in row.text
    assert f"{size / 2**20:.1f} MB" in row.text
    row.find_element(By.CSS_SELECTOR, "a.env-link").click()
    b.wait(lambda d: d.current_url.endswith(f"/ui/environments/{calc}"), what="the environment page")
    b.wait_ready()
    assert len(b.find_all("#attempts tr[data-attempt]")) == len(logs)
    b.find('#attempts tr[data-attempt="1"] .show-log').click()
    b.wait(lambda _: b.find_all("#attempts tr.log-row pre.log"), what="the log")
    assert logs[0].strip() in text_of(b, "#attempts tr.log-row pre.log")
    Select(b.find("#tests-outcome")).select_by_value("flaky")
    b.wait(lambda _: sorted(r.get_attribute("data-test") for r in b.find_all("tr[data-test]")) == flaky,
           what="the flaky tests")  # fmt: skip


def test_tasks_by_family_with_bug_patches(browser: Browser, world: DemoWorld, pg_url: str) -> None:
    b = browser
    calc = world.env_ids["minicalc"]
    with session_scope(pg_url) as s:
        families = dict(s.execute(select(TaskRow.family, func.count()).where(TaskRow.environment_id == calc)
                                  .group_by(TaskRow.family)).all())  # fmt: skip
        task = s.get_one(TaskRow, world.task_ids[-1])
        bug, f2p, p2p = task.bug_patch, task.fail_to_pass, task.pass_to_pass
    b.open(f"/ui/tasks?environment_id={calc}")
    assert bars(b, "#families") == {k: float(v) for k, v in families.items()}
    newest = b.find(f'tr[data-task="{task.id}"]')
    newest.find_element(By.CSS_SELECTOR, ".show-patch").click()
    b.wait(lambda _: b.find_all("tr.detail-row:not([hidden]) pre.diff"), what="the bug patch")
    assert text_of(b, "tr.detail-row:not([hidden]) pre.diff") == bug
    newest.find_element(By.CSS_SELECTOR, "a.task-link").click()
    b.wait(lambda d: d.current_url.endswith(f"/ui/tasks/{task.id}"), what="the task page")
    b.wait_ready()
    assert text_of(b, "#bug-patch pre.diff") == bug
    lists = b.find_all("#task-tests ul.tests")
    assert [li.text for li in lists[0].find_elements(By.TAG_NAME, "li")] == f2p
    assert [li.text for li in lists[1].find_elements(By.TAG_NAME, "li")] == p2p[:20]


def test_follow_a_submission_to_a_trajectory_and_step_with_the_keyboard(
    browser: Browser, world: DemoWorld, pg_url: str
) -> None:
    b = browser
    b.open("/ui")
    done = world.submission_ids["done"]
    b.find(f'tr[data-submission="{done}"] a').click()
    b.wait(lambda d: d.current_url.endswith(f"/ui/submissions/{done}"), what="the submission page")
    b.wait_ready()
    b.wait(lambda _: b.find_all("a.episode-link"), what="the environment's episodes")
    first = b.find("a.episode-link")
    eid = int(first.text)
    assert eid == world.long_episode_id  # the newest episode of the environment
    first.click()
    b.wait(lambda d: f"/ui/episodes/{eid}" in d.current_url, what="the trajectory")
    b.wait_ready()
    with session_scope(pg_url) as s:
        ep = s.get_one(EpisodeRow, eid)
        steps = {st.index: st for st in s.scalars(select(StepRow).where(StepRow.episode_id == eid))}
        exit_status, n = ep.exit_status, len(steps)
    assert exit_status in b.text("#episode-head") and f"{n}" in b.text("#total-steps")
    wait_step(b, 0)
    press(b, "j", "j", "j")
    wait_step(b, 3)
    assert b.driver.current_url.endswith("#step-3")
    assert "current" in (b.find("#step-3").get_attribute("class") or "")
    for i in range(4):
        assert text_of(b, f"#step-{i} pre.obs") == steps[i].observation
        assert text_of(b, f"#step-{i} pre.model") == steps[i].raw_output
    press(b, Keys.ARROW_UP)
    wait_step(b, 2)
    press(b, Keys.ARROW_DOWN)
    wait_step(b, 3)
    # The last step of a long episode: only the pages around it are in the page.
    press(b, "G")
    wait_step(b, n - 1)
    assert text_of(b, f"#step-{n - 1} pre.model") == steps[n - 1].raw_output
    assert len(b.find_all("section.step")) <= 150 < n + 1 or n <= 150
    press(b, "g")
    wait_step(b, 0)


def test_a_shared_link_opens_deep_in_a_long_episode(browser: Browser, world: DemoWorld, pg_url: str) -> None:
    b = browser
    eid = world.long_episode_id
    with session_scope(pg_url) as s:
        full = s.execute(select(StepRow.index, StepRow.output).where(
            StepRow.episode_id == eid, StepRow.output.isnot(None), StepRow.index > 150).order_by(StepRow.index)).first()  # fmt: skip
        obs = dict(
            s.execute(select(StepRow.index, StepRow.observation).where(StepRow.episode_id == eid)).all()
        )
    assert full is not None
    b.open(f"/ui/episodes/{eid}#step-180")
    wait_step(b, 180)
    assert not b.find_all("#step-0")  # not streamed from the start
    loaded = len(b.find_all("section.step"))
    assert loaded <= 100
    for _ in range(25):
        press(b, "j")
    wait_step(b, 205)  # across a page boundary: the next page came in
    assert text_of(b, "#step-205 pre.obs") == obs[205]
    b.click("button.load-earlier")
    b.wait(lambda _: b.find_all("#step-100"), what="the earlier page")
    # Full output on demand, with the keyboard.
    b.driver.get(f"{b.base_url}/ui/episodes/{eid}#step-{full.index}")
    b.wait_ready()
    wait_step(b, full.index)
    press(b, "o")
    b.wait(lambda _: b.find_all(f"#step-{full.index} pre.obs.full"), what="the full output")
    assert text_of(b, f"#step-{full.index} pre.obs") == full.output


def test_trajectory_shows_edits_patch_and_tests(browser: Browser, world: DemoWorld, pg_url: str) -> None:
    b = browser
    with session_scope(pg_url) as s:
        eid = s.scalar(select(EpisodeRow.id).where(EpisodeRow.id.in_(world.episode_ids),
                                                   EpisodeRow.exit_status == "submitted"))  # fmt: skip
        ep = s.get_one(EpisodeRow, eid)
        patch, results, reward = ep.final_patch, ep.test_results, ep.reward
        edit = s.scalars(select(StepRow).where(StepRow.episode_id == eid, StepRow.tool == "edit")).one()
        args: dict[str, Any] = edit.args
    b.open(f"/ui/episodes/{eid}")
    assert text_of(b, "#final-patch pre.diff") == patch
    assert b.text("#reward") == f"{reward:.2f}"
    assert [r.text.split()[0] for r in b.find_all("#test-results tbody tr")] == [
        r["test_id"] for r in results
    ]
    diff = text_of(b, f"#step-{edit.index} pre.diff")
    assert f"-{args['old_str']}\n+{args['new_str']}\n" in diff


def test_a_running_episode_is_followed(browser: Browser, world: DemoWorld, pg_url: str) -> None:
    b = browser
    eid = world.running_episode_id
    b.open(f"/ui/episodes/{eid}")
    before = len(b.find_all("section.step"))
    store = EpisodeStore(pg_url)
    now = utcnow()
    store.add_step(
        eid,
        StepRecord(index=before, raw_output="<tool: submit>\n</tool>", action=Action(tool="submit"),
                   observation=Observation(text="submitted\n"), started_at=now, finished_at=now),
        stored_output_cap=1 << 20,
    )  # fmt: skip
    b.wait(lambda _: b.find_all(f"#step-{before}"), what="the new step")
    store.finish(eid, "submitted", None, "diff --git a/x b/x\n", 1.0, [], Totals(steps=before + 1))
    b.wait(lambda _: "submitted" in b.text("#episode-head"), what="the result")


def test_plots_match_the_store(browser: Browser, world: DemoWorld, pg_url: str) -> None:
    b = browser
    b.open("/ui/plots")
    shares = b.js(
        """return [...document.querySelectorAll('#plot-verified rect[data-submission]')]
             .map((r) => [Number(r.dataset.submission), Number(r.dataset.value)]);"""
    )
    with session_scope(pg_url) as s:
        exits = dict(s.execute(select(EpisodeRow.exit_status, func.count()).where(EpisodeRow.status == "finished")
                               .group_by(EpisodeRow.exit_status)).all())  # fmt: skip
        families = dict(s.execute(select(TaskRow.family, func.count()).group_by(TaskRow.family)).all())
        steps = int(s.scalar(select(func.count()).select_from(StepRow)) or 0)
        expected = {}
        for sid, _ in shares:
            env = s.get_one(SubmissionRow, sid).environment_id
            rewards = list(s.scalars(select(EpisodeRow.reward).where(
                EpisodeRow.environment_id == env, EpisodeRow.status == "finished")))  # fmt: skip
            wins = sum(1 for r in rewards if r is not None and r >= 1)
            expected[sid] = wins / len(rewards) if rewards else 0.0
    assert world.submission_ids["done"] in expected
    assert {sid: pytest.approx(v, abs=1e-4) for sid, v in shares} == expected
    assert bars(b, "#plot-exits") == {str(k): float(c) for k, c in exits.items()}
    assert bars(b, "#plot-families") == {k: float(c) for k, c in families.items()}
    assert sum(bars(b, "#plot-lengths").values()) == sum(exits.values())
    assert bars(b, "#plot-latency")["llm_ms"] == min(steps, 20_000)


def test_every_page_renders(browser: Browser, world: DemoWorld) -> None:
    """Each page loads its data with no script error (checked after the test)."""
    calc = world.env_ids["minicalc"]
    pages = {
        "/ui": "tr[data-submission]",
        "/ui/environments": "tr[data-env]",
        f"/ui/environments/{calc}": "tr[data-test]",
        "/ui/tasks": "tr[data-task]",
        f"/ui/tasks/{world.task_ids[0]}": "tr[data-episode]",
        "/ui/episodes?exit_status=env_error": "tr[data-episode]",
        f"/ui/episodes/{world.episode_ids[0]}": "section.step",
        "/ui/plots": "#plot-latency rect",
        f"/ui/submissions/{world.submission_ids['failed']}": "tr[data-stage]",
    }
    for path, shows in pages.items():
        browser.open(path)
        assert not browser.find_all("#page-error"), path
        assert browser.find_all(shows), (path, shows)
