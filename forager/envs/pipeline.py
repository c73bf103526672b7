"""Build and validate an environment: profile -> plan -> build -> test, repairing on failure."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from forager.build.builder import BuildResult, build_image, remove_image
from forager.build.context import build_context, render_dockerfile
from forager.build.plan import InstallPlan
from forager.config import Settings
from forager.dockerhost import LABEL_INSTANCE, image_size
from forager.envs.models import EnvironmentSummary
from forager.envs.strategies import (
    DEFAULT_STRATEGIES,
    AttemptOutcome,
    RepairContext,
    Strategy,
    base_plan,
    next_plan,
)
from forager.errors import BuildError, ForagerError, ProfileError
from forager.profile import RepoProfile, choose_python, profile_repository
from forager.protocols import NullReporter, Reporter
from forager.sources.ingest import Snapshot
from forager.store.environments import EnvironmentStore
from forager.validate.models import Baseline
from forager.validate.suite import test_command, validate_image

LOG_FLUSH_S = 2.0
MAX_STORED_LOG = 2 * 1024 * 1024


@dataclass
class Verdict:
    verified: bool
    reason: str | None


def judge(baseline: Baseline, settings: Settings) -> Verdict:
    """Verified when enough tests pass: at least N, and at least a share of those collected."""
    if baseline.collected == 0:
        why = "no tests were collected"
        if baseline.timed_out:
            why += f" before the {settings.test_timeout_s:.0f} s time limit"
        return Verdict(False, f"{why}; last output: {_last_lines(baseline.log_tail)}")
    need = max(settings.verify_min_passed, int(settings.verify_min_pass_ratio * baseline.collected + 0.9999))
    if baseline.passed >= need:
        return Verdict(True, None)
    msg = (
        f"{baseline.passed} of {baseline.collected} tests passed (need {need}); "
        f"{baseline.failed} failed, {baseline.errors} errors, {baseline.skipped} skipped, "
        f"{baseline.flaky} flaky"
    )
    if baseline.timed_out:
        msg += f"; the suite hit the {settings.test_timeout_s:.0f} s time limit"
    return Verdict(False, msg)


def _last_lines(text: str, n: int = 3) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:])[-500:] or "(none)"


def available_pythons(settings: Settings) -> list[str]:
    return [py for py, ref in settings.base_images.items() if image_size(ref) is not None]


def _tag(settings: Settings, snap: Snapshot, plan: InstallPlan) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", snap.name.lower()).strip("-.") or "repo"
    return f"{settings.image_prefix}-{slug}:{snap.commit_sha[:12]}-{plan.fingerprint()[:8]}"


class _LogSink:
    """Buffers build log lines and appends them to the attempt's row every few seconds."""

    def __init__(self, store: EnvironmentStore, attempt_id: int, reporter: Reporter) -> None:
        self.store, self.attempt_id, self.reporter = store, attempt_id, reporter
        self.buf: list[str] = []
        self.stored = 0
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self, line: str) -> None:
        self.reporter.log(line)
        with self.lock:
            self.buf.append(line + "\n")
            if time.monotonic() - self.last > LOG_FLUSH_S:
                self._flush()

    def _flush(self) -> None:
        text = "".join(self.buf)
        self.buf.clear()
        self.last = time.monotonic()
        if text and self.stored < MAX_STORED_LOG:
            text = text[: MAX_STORED_LOG - self.stored]
            self.stored += len(text)
            self.store.append_build_log(self.attempt_id, text)

    def close(self) -> None:
        with self.lock:
            self._flush()


def build_environment(
    snap: Snapshot,
    snapshot_id: int,
    settings: Settings,
    store: EnvironmentStore,
    reporter: Reporter | None = None,
    strategies: list[Strategy] | None = None,
) -> EnvironmentSummary:
    """Try plans until one builds and verifies or the strategies run out; everything is recorded.

    The environment row never stays `building`: any error ends it `failed` with the reason.
    """
    reporter = reporter or NullReporter()
    reporter.stage("profile", snap.name)
    try:
        profile = profile_repository(snap.repo_dir)
    except ProfileError as exc:
        env_id = store.create_environment(snapshot_id, {})
        store.finish_environment(env_id, None, status="failed", reason=str(exc))
        return EnvironmentSummary.from_row(store.get(env_id))
    env_id = store.create_environment(snapshot_id, profile.model_dump())
    try:
        return _attempts(snap, env_id, profile, settings, store, reporter, strategies or DEFAULT_STRATEGIES)
    except ForagerError as exc:
        store.finish_environment(env_id, None, status="failed", reason=f"environment error: {exc}")
        return EnvironmentSummary.from_row(store.get(env_id))
    except BaseException as exc:
        store.finish_environment(env_id, None, status="failed", reason=f"interrupted: {exc!r}")
        raise


def _attempts(
    snap: Snapshot,
    env_id: int,
    profile: RepoProfile,
    settings: Settings,
    store: EnvironmentStore,
    reporter: Reporter,
    strategies: list[Strategy],
) -> EnvironmentSummary:
    t_start = time.monotonic()
    have = available_pythons(settings)
    if not have:
        raise BuildError("no base image is present; run `forager images bootstrap` first")
    pythons = choose_python(profile, have, settings.default_python)
    ctx = RepairContext(profile=profile, settings=settings, pythons=pythons, repo_dir=snap.repo_dir)
    plan: InstallPlan | None = base_plan(
        profile, pythons[0], settings, "layered", "static dependencies in a cached layer, then the project"
    )
    tried: set[str] = set()
    best: tuple[Baseline, InstallPlan, str, int] | None = None  # the best failed-tests attempt
    reason = "no install plan could be made"
    build_total = test_total = 0.0
    index = 0
    while plan is not None and index < settings.max_attempts:
        tried.add(plan.fingerprint())
        index += 1
        reporter.stage("build", f"attempt {index}: {plan.strategy} (Python {plan.python})")
        dockerfile = render_dockerfile(plan, snap.name, snap.commit_sha, settings)
        attempt_id = store.start_attempt(
            env_id, index, plan.strategy, plan.why, plan.model_dump(), dockerfile
        )
        tag = _tag(settings, snap, plan)
        sink = _LogSink(store, attempt_id, reporter)
        with build_context(snap.repo_dir, dockerfile, plan, settings) as context:
            result: BuildResult = build_image(
                context,
                tag,
                settings.build_timeout_s,
                on_log=sink,
                labels={"forager.environment": str(env_id), LABEL_INSTANCE: settings.instance},
            )
        sink.close()
        build_total += result.seconds
        if not result.ok:
            reason = f"build failed ({plan.strategy}): {result.error}"
            store.finish_attempt(attempt_id, status="build_failed", reason=reason, build_s=result.seconds)
            ctx.history.append(AttemptOutcome(plan, "build", result.log))
            ctx.learn(result.log)
            plan = next_plan(ctx, strategies, tried)
            continue
        reporter.stage("validate", f"attempt {index}: running the suite")
        baseline = validate_image(
            tag, plan.test_framework, plan.test_paths, plan.test_args, settings, reporter
        )
        test_total += baseline.seconds
        verdict = judge(baseline, settings)
        store.finish_attempt(
            attempt_id,
            status="verified" if verdict.verified else "tests_failed",
            reason=verdict.reason,
            build_s=result.seconds,
            test_s=baseline.seconds,
            image_id=result.image_id,
            test_log=baseline.log_tail,
        )
        if verdict.verified:
            return _finish(
                store,
                env_id,
                settings,
                plan,
                tag,
                result.image_id,
                baseline,
                "verified",
                None,
                {
                    "build_s": build_total,
                    "test_s": test_total,
                    "cold_build_s": result.seconds,
                    "total_s": time.monotonic() - t_start,
                },
            )
        reason = verdict.reason or "tests failed"
        if best is None or baseline.passed > best[0].passed:
            if best is not None:
                remove_image(best[2])
            best = (baseline, plan, tag, attempt_id)
        else:
            remove_image(tag)
        ctx.history.append(
            AttemptOutcome(
                plan,
                "tests",
                baseline.log_tail
                + "\n".join(t.message or "" for t in baseline.tests if t.outcome in ("failed", "error")),
            )
        )
        ctx.learn(ctx.last.log)
        ctx.collected = baseline.collected
        plan = next_plan(ctx, strategies, tried)

    timings = {"build_s": build_total, "test_s": test_total, "total_s": time.monotonic() - t_start}
    if best is not None:
        baseline, bplan, btag, _ = best
        remove_image(btag)
        return _finish(store, env_id, settings, bplan, None, None, baseline, "failed", reason, timings)
    store.finish_environment(env_id, None, status="failed", reason=reason, timings=timings)
    return EnvironmentSummary.from_row(store.get(env_id))


def _finish(
    store: EnvironmentStore,
    env_id: int,
    settings: Settings,
    plan: InstallPlan,
    tag: str | None,
    image_id: str | None,
    baseline: Baseline,
    status: str,
    reason: str | None,
    timings: dict[str, float],
) -> EnvironmentSummary:
    size = image_size(tag) if tag else None
    base = image_size(plan.base_image)
    store.finish_environment(
        env_id,
        baseline,
        status=status,
        reason=reason,
        image_tag=tag,
        image_id=image_id,
        base_image=plan.base_image,
        python_version=plan.python,
        strategy=plan.strategy,
        install_steps=_all_steps(plan, settings),
        test_command=test_command(plan.test_framework, plan.test_paths, plan.test_args),
        test_framework=plan.test_framework,
        image_size_bytes=size,
        added_size_bytes=(size - base) if size is not None and base is not None else None,
        timings={k: round(v, 3) for k, v in timings.items()},
    )
    return EnvironmentSummary.from_row(store.get(env_id))


def _all_steps(plan: InstallPlan, settings: Settings) -> list[str]:
    steps = []
    if plan.system_packages:
        steps.append("apt-get install " + " ".join(sorted(set(plan.system_packages))))
    steps.append(f"python3 -m venv /opt/venv && pip install {settings.pip_spec}")
    if plan.deps_requirements:
        steps.append("pip install " + " ".join(plan.deps_requirements))
    return steps + plan.install_steps()
