"""Task generation on real environments: every stored task is proven, and re-proven."""

from __future__ import annotations

from pathlib import Path

import pytest

from forager.agent.models import Limits
from forager.agent.tools import PYCACHE, SuiteSpec, ToolBox
from forager.config import Settings
from forager.envs.harvest import build_from_source
from forager.store.environments import EnvironmentStore
from forager.store.tasks import TaskStore
from forager.tasks.coverage import FunctionCoverage, load_coverage
from forager.tasks.errors import TaskGenerationError
from forager.tasks.evaluate import task_test_order
from forager.tasks.generate import GenerateOptions, _tests_for, generate_tasks
from forager.tasks.history import generate_history_tasks
from forager.tasks.prove import (
    Candidate,
    Proof,
    SandboxProvider,
    _confirmed,
    _control_run,
    _proving_spec,
    prove,
)
from forager.tasks.recheck import recheck_tasks
from tests.repos import CALC, git_commit, write

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _patch(path: str, old: str, new: str) -> str:
    """A one-hunk git diff replacing line `old` with `new` in a file of CALC's shape."""
    lines = CALC.lstrip("\n").splitlines()
    i = lines.index(old)
    ctx_before = lines[max(0, i - 3) : i]
    ctx_after = lines[i + 1 : i + 4]
    start = i - len(ctx_before) + 1
    body = [f" {ln}" for ln in ctx_before] + [f"-{old}", f"+{new}"] + [f" {ln}" for ln in ctx_after]
    n = len(ctx_before) + 1 + len(ctx_after)
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -{start},{n} +{start},{n} @@\n"
        + "\n".join(body)
        + "\n"
    )


def test_mutate_fix_tasks_are_proven_and_recheck(settings: Settings, calc_env: int) -> None:
    report = generate_tasks(calc_env, settings, GenerateOptions(max_tasks=50, max_candidates=80))
    assert report.functions_covered >= 2  # add and mul
    assert report.candidates_tried > 0 and report.task_ids
    assert sum(report.valid_by_family.values()) == len(report.task_ids)
    tasks = [TaskStore(settings.db_url).get(t) for t in report.task_ids]
    assert {t.target_symbol for t in tasks} <= {"add", "mul"}
    for t in tasks:
        assert t.fail_to_pass and set(t.fail_to_pass).isdisjoint(t.pass_to_pass)
        assert t.bug_patch.startswith("diff --git a/calc/core.py") and t.fix_patch
        assert f"`{t.target_symbol}`" in t.problem_statement
    checks = recheck_tasks(tasks, settings)
    assert [c.why for c in checks if not c.valid] == []
    coverage = {c.qualname: c for c in load_coverage(settings.db_url, calc_env)}
    assert coverage["add"].tests == {"tests/test_core.py::test_add", "tests/test_core.py::test_add_negative"}
    assert coverage["mul"].tests == {"tests/test_core.py::test_mul"}
    again = generate_tasks(calc_env, settings, GenerateOptions(max_tasks=50, max_candidates=80))
    assert again.task_ids == [] and again.duplicates == len(report.task_ids)  # identical bugs collapse


def test_hostile_mutants_do_not_poison_the_next_candidate(settings: Settings, calc_env: int) -> None:
    env = EnvironmentStore(settings.db_url).get(calc_env)
    assert env.image_tag
    passing = {
        "tests/test_core.py::test_add",
        "tests/test_core.py::test_mul",
        "tests/test_core.py::test_add_negative",
    }
    tests = list(sorted(passing))
    cands = [
        Candidate("loops", _patch("calc/core.py", "    return a + b", "    while True: pass"), tests),
        Candidate(
            "deletes",
            _patch(
                "calc/core.py",
                "    return a * b",
                "    import shutil; shutil.rmtree('/repo/tests'); shutil.rmtree('/repo/calc')",
            ),
            tests,
        ),
        Candidate(
            "kills-venv",
            _patch("calc/core.py", "    return a * b", "    import shutil; shutil.rmtree('/opt/venv/lib')"),
            tests,
        ),
        Candidate("plain", _patch("calc/core.py", "    return a * b", "    return a + b"), tests),
        Candidate("noop", _patch("calc/core.py", "    return a + b", "    return b + a"), tests),
        Candidate(
            "broken",
            "diff --git a/nope.py b/nope.py\n--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n",
            tests,
        ),
    ]
    setup = SuiteSpec(framework="pytest")
    proofs = {p.key: p for p in prove(cands, env.image_tag, setup, passing, settings, timeout_s=8)}
    assert proofs["loops"].verdict == "timeout"
    assert proofs["deletes"].verdict == "kept" and proofs["deletes"].fail_to_pass == [
        "tests/test_core.py::test_mul"
    ]
    assert proofs["kills-venv"].verdict == "kept"
    assert proofs["plain"].verdict == "kept" and proofs["plain"].fail_to_pass == [
        "tests/test_core.py::test_mul"
    ]
    assert sorted(proofs["plain"].pass_to_pass) == [
        "tests/test_core.py::test_add",
        "tests/test_core.py::test_add_negative",
    ]
    assert proofs["noop"].verdict == "no_failure"
    assert proofs["broken"].verdict == "does_not_apply"


def test_issue_fix_task_from_history(settings: Settings, tmp_path: Path) -> None:
    repo = write(
        tmp_path / "hist",
        {
            "pyproject.toml": """
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "calc-hist"
            version = "0.1"

            [tool.setuptools]
            packages = ["calc_h"]
        """,
            "calc_h/__init__.py": "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n",
            "tests/test_calc.py": "from calc_h import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n",
        },
    )
    git_commit(repo, "calc with a broken add")
    (repo / "calc_h" / "__init__.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
    )
    (repo / "tests" / "test_calc.py").write_text(
        "from calc_h import add, mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n\n\n"
        "def test_add():\n    assert add(2, 3) == 5\n"
    )
    sha = git_commit(repo, "Fix add: it subtracted\n\nadd(2, 3) gave -1.")
    (repo / ".forager" / "issues").mkdir(parents=True)
    (repo / ".forager" / "issues" / f"{sha}.md").write_text("add() returns the difference, not the sum.\n")
    git_commit(repo, "issue text")
    env = build_from_source(str(repo), settings)
    assert env.status == "verified", env.reason
    report = generate_history_tasks(env.id, settings)
    assert len(report.task_ids) == 1, report
    task = TaskStore(settings.db_url).get(report.task_ids[0])
    assert task.kind == "issue_fix" and task.family == "revert_commit"
    assert task.fail_to_pass == ["tests/test_calc.py::test_add"] and task.pass_to_pass == [
        "tests/test_calc.py::test_mul"
    ]
    assert "+    return a - b" in task.bug_patch and "+    return a + b" in task.fix_patch
    assert task.problem_statement.startswith("add() returns the difference, not the sum.")
    assert task.meta["commit"] == sha
    assert all(c.valid for c in recheck_tasks([task], settings))


def test_tasks_recheck_on_a_real_corpus_project(settings: Settings) -> None:
    env = build_from_source("pypi:inflection==0.5.1", settings)
    assert env.status == "verified", env.reason
    report = generate_tasks(env.id, settings, GenerateOptions(max_tasks=12, max_candidates=40, seed=1))
    assert len(report.task_ids) >= 5, report
    tasks = [TaskStore(settings.db_url).get(t) for t in report.task_ids]
    checks = recheck_tasks(tasks, settings)
    assert [c.why for c in checks if not c.valid] == []


def test_bytecode_cache_never_runs_stale_code(settings: Settings, calc_env: int) -> None:
    # A mutant of the same size and modification time as the original (`*` -> `+` within one
    # second) would reuse a timestamp .pyc: the checked-hash cache compares the source.
    env = EnvironmentStore(settings.db_url).get(calc_env)
    assert env.image_tag
    provider = SandboxProvider(env.image_tag, settings, "pyc-test")
    try:
        sb = provider.get()  # seeds the cache
        box = ToolBox(sb, Limits(command_timeout_s=60), SuiteSpec(framework="pytest", bytecode_cache=True))

        def failing() -> list[str]:
            outcomes, _, _ = box.run_tests(["tests/test_core.py"])
            assert len(outcomes) == 3
            return sorted(o.test_id for o in outcomes if o.outcome != "passed")

        assert failing() == []
        keep = "cd /repo && cp -p calc/core.py /tmp/core.orig && "
        sb.run(keep + "sed -i 's/a \\* b/a + b/' calc/core.py && touch -r /tmp/core.orig calc/core.py")
        assert failing() == ["tests/test_core.py::test_mul"]
        sb.run("cd /repo && cp -p /tmp/core.orig calc/core.py")
        assert failing() == []
        assert sb.run("cd /repo && git status --porcelain --untracked-files=all").output == ""
        assert sb.run(f"find {PYCACHE} -name 'core*.pyc' | head -1").output.strip()
    finally:
        provider.close()


def test_proving_stops_once_a_mutant_can_only_break_everything() -> None:
    tests = [f"tests/test_m.py::test_{i}" for i in range(40)]
    spec = _proving_spec(SuiteSpec(args=["--tb=long"]), Candidate("c", "", tests), set(tests[:30]))
    # 30 baseline-passing tests judged: 16 failures already exceed half of them.
    assert spec.args == ["--tb=long", "--tb=line", "--maxfail=16"] and spec.bytecode_cache
    small = _proving_spec(SuiteSpec(), Candidate("c", "", tests[:4]), set(tests))
    assert small.args[-1] == "--maxfail=11"  # never fewer than BREAKS_EVERYTHING_MIN + 1
    unit = _proving_spec(SuiteSpec(framework="unittest"), Candidate("c", "", tests), set(tests))
    assert unit.args == [] and unit.bytecode_cache


def test_a_missing_test_to_code_map_is_an_error_not_zero_tasks(
    settings: Settings, calc_env: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # packaging's 60k-test map once outgrew the fetch limit and the project silently got no tasks.
    monkeypatch.setattr("forager.tasks.coverage.MAX_COVERAGE_BYTES", 10)
    with pytest.raises(TaskGenerationError, match="left no test-to-code map"):
        generate_tasks(
            calc_env, settings, GenerateOptions(max_tasks=1, max_candidates=1, reuse_coverage=False)
        )


def test_a_candidates_tests_run_in_the_order_its_recheck_and_evaluation_use() -> None:
    # wrapt's lru_cache tests share a cache: in another order other tests fail.
    cov = FunctionCoverage("pkg/m.py", "f", 1, tests={"t::c", "t::a", "t::b", "t::slow"})
    durations = {"t::a": 0.3, "t::b": 0.1, "t::c": 0.2, "t::slow": 9.0}
    assert _tests_for(cov, durations, 3) == ["t::a", "t::b", "t::c"]  # the 3 fastest, in id order
    assert task_test_order(["t::c"], ["t::b", "t::a"]) == ["t::a", "t::b", "t::c"]


def test_control_cuts_the_selection_until_it_passes_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # c fails without any bug; b passes only after c ran (shared state): neither may prove.
    def passing_on_clean_code(provider, cand, tests, baseline, timeout):
        return {"t::a", "t::b"} if "t::c" in cand.tests else {"t::a"}

    monkeypatch.setattr("forager.tasks.prove._passing", passing_on_clean_code)
    cand = Candidate("c", "", ["t::a", "t::b", "t::c", "t::d"])
    chosen = _control_run(None, cand, SuiteSpec(), {"t::a", "t::b", "t::c"}, 10.0)  # type: ignore[arg-type]
    assert chosen == ["t::a"]  # d never passed in the baseline
    monkeypatch.setattr("forager.tasks.prove._passing", lambda *a: None)
    assert _control_run(None, cand, SuiteSpec(), {"t::a"}, 10.0) == []  # type: ignore[arg-type]


def test_a_kept_candidate_must_prove_the_same_twice() -> None:
    first = Proof("c", "kept", ["t::a"], ["t::b"])
    assert _confirmed(first, Proof("c", "kept", ["t::a"], ["t::b"])) is first
    assert _confirmed(first, Proof("c", "kept", ["t::b"], ["t::a"])).verdict == "flaky"
    assert _confirmed(first, Proof("c", "no_failure", [], ["t::a", "t::b"])).verdict == "flaky"
