"""Proving candidate bugs by their tests, many candidates in one warm sandbox.

For each candidate: apply its bug patch, run the tests that cover it (plus their neighbours
in the same test files), revert. A candidate becomes a task when at least one test that
passed in the baseline now fails (fail-to-pass) and the mutant neither breaks everything nor
hangs; the tests that still pass are its pass-to-pass set. A candidate that leaves the
sandbox dirty (deleted files, a dead shell) gets a fresh sandbox for the next one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Literal

from forager.agent.models import Limits
from forager.agent.tools import REPO, ShellResult, SuiteSpec, ToolBox, seed_bytecode_cache
from forager.config import Settings
from forager.dockerhost import LABEL_INSTANCE
from forager.errors import ForagerError
from forager.sandbox.config import SandboxConfig
from forager.sandbox.lifecycle import start_sandbox
from forager.sandbox.session import Sandbox
from forager.tasks.evaluate import apply_patch, git
from forager.validate.container_run import runners_files
from forager.validate.models import TestOutcome

Verdict = Literal[
    "kept",
    "no_failure",
    "breaks_everything",
    "timeout",
    "does_not_apply",
    "env_error",
    "collection_error",
    "unstable_tests",
    "flaky",
    "incomplete_run",
]
BREAKS_EVERYTHING_SHARE = 0.5  # more than this share of the run failing ...
BREAKS_EVERYTHING_MIN = 10  # ... and more than this many tests: too broad to be a task
CONTROL_ROUNDS = 3


@dataclass
class Candidate:
    """A bug to prove: its patch and the tests to run against it."""

    key: str
    bug_patch: str
    tests: list[str]
    then_patch: str | None = None  # applied after the bug (a gold fix, when rechecking a task)
    judge: list[str] | None = None  # test ids judged, when `tests` selects files; default: `tests`


@dataclass
class Proof:
    key: str
    verdict: Verdict
    fail_to_pass: list[str] = field(default_factory=list)
    pass_to_pass: list[str] = field(default_factory=list)
    seconds: float = 0.0
    detail: str = ""


class SandboxProvider:
    """One warm sandbox at a time, replaced when a candidate leaves it unusable."""

    def __init__(self, image: str, settings: Settings, label: str) -> None:
        self.image, self.settings, self.label = image, settings, label
        self.current: Sandbox | None = None
        self.started = 0

    def get(self) -> Sandbox:
        if self.current is None:
            cfg = SandboxConfig.from_settings(
                self.settings, workdir=REPO, labels={LABEL_INSTANCE: self.settings.instance}
            )
            self.current = start_sandbox(self.image, cfg, f"{self.label}-{self.started}")
            self.started += 1
            for name, data in runners_files().items():
                self.current.write_file(f"/opt/forager/runners/{name}", data)
            seed_bytecode_cache(self.current)  # many test runs follow: compile the repo once
        return self.current

    def discard(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None

    def close(self) -> None:
        self.discard()


def _is_clean(sb: Sandbox) -> bool:
    """The repository is back at its base."""
    code, out = git(sb, "status --porcelain --untracked-files=all", 30)
    return code == 0 and out.strip() == ""


def _revert(sb: Sandbox) -> None:
    git(sb, "checkout -q -f HEAD -- . && git clean -fdq", 60)


def prove(
    candidates: list[Candidate],
    image: str,
    tests: SuiteSpec,
    baseline_passed: set[str],
    settings: Settings,
    timeout_s: float,
    label: str = "prove",
    on_result: Callable[[Proof], None] | None = None,
    control: bool = True,
    confirm: bool = True,
) -> Generator[Proof, None, None]:
    """Yield a proof per candidate, in order; the sandbox is always removed at the end.

    With `control`, each distinct selection of tests first runs on the unchanged repository
    and is cut down to the tests that pass there, until it is stable (a test may pass or fail
    by which others run before it: shared state, a fixture). The candidate then runs exactly
    that selection, so its fail-to-pass and pass-to-pass tests are the whole run, and its
    recheck and evaluation, which run those tests, run what the proof ran.

    With `confirm`, a kept candidate is proven a second time and must fail and pass the same
    tests again (a mutant can make tests flaky: temporary files, timing, hash order).
    """
    controls: dict[tuple[str, ...], list[str]] = {}
    with ExitStack() as stack:
        provider = SandboxProvider(image, settings, label)
        stack.callback(provider.close)
        for cand in candidates:
            t0 = time.monotonic()
            try:
                # Candidates that select whole test files (history tasks) are judged on named
                # tests instead: their control is the commit's own before/after check.
                controlled = control and cand.judge is None
                if controlled:
                    selection = tuple(cand.tests)
                    if selection not in controls:
                        controls[selection] = _control_run(provider, cand, tests, baseline_passed, timeout_s)
                    cand = replace(cand, tests=controls[selection])
                if controlled and not cand.tests:
                    proof = Proof(cand.key, "unstable_tests", detail="no stable passing selection of tests")
                else:
                    proof = _prove_one(provider, cand, tests, baseline_passed, timeout_s)
                    if confirm and proof.verdict == "kept":
                        proof = _confirmed(
                            proof, _prove_one(provider, cand, tests, baseline_passed, timeout_s)
                        )
            except ForagerError as exc:  # the sandbox died under this candidate
                provider.discard()
                proof = Proof(cand.key, "env_error", detail=str(exc)[:500])
            proof.seconds = round(time.monotonic() - t0, 3)
            if on_result:
                on_result(proof)
            yield proof


def _confirmed(first: Proof, second: Proof) -> Proof:
    same = (sorted(first.fail_to_pass), sorted(first.pass_to_pass)) == (
        sorted(second.fail_to_pass),
        sorted(second.pass_to_pass),
    )
    if second.verdict == "kept" and same:
        return first
    return Proof(first.key, "flaky", detail=f"a second proof gave {second.verdict} with other tests failing")


def _control_run(
    provider: SandboxProvider, cand: Candidate, tests: SuiteSpec, baseline_passed: set[str], timeout_s: float
) -> list[str]:
    """The selection cut down to the tests that pass, together and in order, on the unchanged
    repository (empty when no stable selection is found in a few rounds)."""
    selection = [t for t in cand.tests if t in baseline_passed]
    for _ in range(CONTROL_ROUNDS):
        if not selection:
            return []
        passed = _passing(provider, replace(cand, tests=selection), tests, baseline_passed, timeout_s)
        if passed is None:
            return []  # no control to be had (a hang, nothing reported)
        kept = [t for t in selection if t in passed]
        if kept == selection:
            return selection
        selection = kept
    return []


def _passing(
    provider: SandboxProvider, cand: Candidate, tests: SuiteSpec, baseline_passed: set[str], timeout_s: float
) -> set[str] | None:
    spec = _run_spec(tests, maxfail=None)  # every test runs
    outcomes, _, res = _run_and_revert(provider, provider.get(), spec, cand.tests, timeout_s)
    if res.timed_out or not outcomes:
        return None
    return {o.test_id for o in outcomes if o.outcome == "passed"}


def _run_and_revert(
    provider: SandboxProvider, sb: Sandbox, spec: SuiteSpec, test_ids: list[str], timeout_s: float
) -> tuple[list[TestOutcome], str, ShellResult]:
    """Run the tests, then put the repository back. A sandbox git cannot restore, or left by a
    run that timed out or reported nothing, is discarded: a mutant's leftovers (files outside
    the repository, hanging processes, a broken venv) must not reach the next candidate."""
    box = ToolBox(sb, Limits(command_timeout_s=timeout_s), spec)
    try:
        outcomes, tail, res = box.run_tests(test_ids)
    finally:
        _revert(sb)
        if not _is_clean(sb):
            provider.discard()
    if res.timed_out or not outcomes:
        provider.discard()
    return outcomes, tail, res


def _proving_spec(tests: SuiteSpec, cand: Candidate, baseline_passed: set[str]) -> SuiteSpec:
    """The suite's spec for one candidate's run: byte code cached, and, under pytest, one-line
    tracebacks (full ones cost more than the tests when a mutant fails many) and a stop once
    enough tests fail that the verdict can only be breaks_everything."""
    judged = cand.judge if cand.judge is not None else cand.tests
    ran = sum(1 for t in judged if t in baseline_passed)
    return _run_spec(tests, maxfail=max(BREAKS_EVERYTHING_MIN + 1, int(BREAKS_EVERYTHING_SHARE * ran) + 1))


def _run_spec(tests: SuiteSpec, maxfail: int | None) -> SuiteSpec:
    """Byte code cached; under pytest, one-line tracebacks and, with `maxfail`, a stop there."""
    if tests.framework != "pytest":
        return replace(tests, bytecode_cache=True)
    stop = [f"--maxfail={maxfail}"] if maxfail is not None else []
    return replace(tests, bytecode_cache=True, args=[*tests.args, "--tb=line", *stop])


def _prove_one(
    provider: SandboxProvider,
    cand: Candidate,
    tests: SuiteSpec,
    baseline_passed: set[str],
    timeout_s: float,
    retry: bool = True,
) -> Proof:
    sb = provider.get()
    applied, out = apply_patch(sb, cand.bug_patch, "candidate")
    if applied and cand.then_patch is not None:
        applied, out = apply_patch(sb, cand.then_patch, "then")
    if not applied:
        _revert(sb)
        return Proof(cand.key, "does_not_apply", detail=out[-300:])
    spec = _proving_spec(tests, cand, baseline_passed)
    outcomes, tail, res = _run_and_revert(provider, sb, spec, cand.tests, timeout_s)
    if res.timed_out:
        return Proof(cand.key, "timeout", detail=f"the tests ran over {timeout_s:.0f} s")
    if not outcomes:
        # No test reported at all: the mutant broke collection, or an earlier one broke the
        # sandbox outside the repository (say, the venv). A fresh sandbox tells which.
        if retry:
            return _prove_one(provider, cand, tests, baseline_passed, timeout_s, retry=False)
        return Proof(cand.key, "collection_error", detail=tail[-300:])
    got = {o.test_id: o.outcome for o in outcomes}
    if any(
        o.test_id == "<collection>" or (o.outcome == "error" and o.test_id.endswith(".py")) for o in outcomes
    ):
        return Proof(cand.key, "collection_error", detail=tail[-300:])
    ran = [t for t in (cand.judge if cand.judge is not None else cand.tests) if t in baseline_passed]
    f2p = [t for t in ran if got.get(t) in ("failed", "error")]
    p2p = [t for t in ran if got.get(t) == "passed"]
    if not f2p:
        return Proof(cand.key, "no_failure", pass_to_pass=p2p)
    if len(f2p) > BREAKS_EVERYTHING_MIN and len(f2p) > BREAKS_EVERYTHING_SHARE * len(ran):
        return Proof(cand.key, "breaks_everything", f2p, p2p, detail=f"{len(f2p)} of {len(ran)} tests fail")
    unseen = [t for t in ran if t not in got]
    if unseen:
        # Some tests never reported (the run died, a mutant ended the process): the task's
        # tests would not be the run that proved it, and its recheck would run other ones.
        return Proof(cand.key, "incomplete_run", f2p, p2p, detail=f"{len(unseen)} tests did not report")
    return Proof(cand.key, "kept", f2p, p2p)
