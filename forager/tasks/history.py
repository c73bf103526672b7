"""Issue-fix tasks from git history (family `revert_commit`).

A commit that changes both source and tests is a bug fix with its proof. At the snapshot's
HEAD, the bug is the reverse of the commit's source changes and the gold fix is the commit's
source diff; the task is kept when some tests in the commit's test files fail with the bug
and pass without it. The statement is the commit message, or issue text from
`.forager/issues/<sha>.md` in the repository when present. Git is only read on the host.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from forager.agent.tools import suite_of
from forager.config import Settings
from forager.protocols import NullReporter, Reporter
from forager.store.environments import EnvironmentStore
from forager.store.models import TaskRow
from forager.store.tasks import TaskStore
from forager.tasks.coverage import is_test_file
from forager.tasks.prove import Candidate, prove
from forager.tasks.statements import issue_fix_statement

FAMILY = "revert_commit"


class HistoryOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_commits: int = Field(default=300, ge=1, description="commits scanned, newest first")
    max_tasks: int = Field(default=30, ge=1)
    max_files: int = Field(default=12, ge=1, description="commits touching more files are skipped")


class HistoryReport(BaseModel):
    environment_id: int
    commits_scanned: int = 0
    candidates: int = 0
    task_ids: list[int] = Field(default_factory=list)
    dropped_by_reason: dict[str, int] = Field(default_factory=dict)
    seconds: float = 0.0


def _git(repo: Path, *args: str) -> str:
    res = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip())
    return res.stdout


def _applies(repo: Path, patch: str) -> bool:
    res = subprocess.run(
        ["git", "-C", str(repo), "apply", "--check", "-"],
        input=patch,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return res.returncode == 0


def _issue_text(repo: Path, sha: str) -> str | None:
    for name in (f".forager/issues/{sha}.md", f".forager/issues/{sha[:12]}.md"):
        path = repo / name
        if path.is_file() and not path.is_symlink():
            return path.read_text(errors="replace")[:20_000]
    return None


def _test_ids_in(files: list[str], passing: set[str], framework: str) -> list[str]:
    if framework == "unittest":
        modules = [f.removesuffix(".py").replace("/", ".") for f in files]
        return sorted(t for t in passing if any(t.startswith(m + ".") for m in modules))
    return sorted(t for t in passing if t.split("::", 1)[0] in files)


def generate_history_tasks(
    env_id: int, settings: Settings, options: HistoryOptions | None = None, reporter: Reporter | None = None
) -> HistoryReport:
    options = options or HistoryOptions()
    reporter = reporter or NullReporter()
    t0 = time.monotonic()
    envs = EnvironmentStore(settings.db_url)
    env = envs.get(env_id)
    report = HistoryReport(environment_id=env_id)
    repo = Path(env.snapshot.repo_path)
    if env.status != "verified" or not env.image_tag or not (repo / ".git").exists():
        return report
    try:
        shas = _git(repo, "rev-list", "--first-parent", f"--max-count={options.max_commits}", "HEAD").split()
    except RuntimeError:
        return report
    results = envs.test_results(env_id)
    passing = {r.test_id for r in results if r.outcome == "passed" and not r.flaky}
    framework = env.test_framework or "pytest"
    drops: Counter[str] = Counter()
    cands: list[Candidate] = []
    meta: dict[str, dict[str, object]] = {}
    for sha in shas:
        report.commits_scanned += 1
        try:
            parents = _git(repo, "rev-list", "--parents", "-n", "1", sha).split()[1:]
            if len(parents) != 1:
                continue  # the root commit and merges
            names = _git(repo, "diff", "--name-only", "--no-renames", parents[0], sha).split("\n")
        except RuntimeError:
            continue
        names = [n for n in names if n]
        tests = [n for n in names if n.endswith(".py") and is_test_file(n)]
        sources = [n for n in names if n.endswith(".py") and not is_test_file(n)]
        if not tests or not sources:
            continue
        if len(names) > options.max_files:
            drops["too_many_files"] += 1
            continue
        fix = _git(repo, "diff", "--no-renames", "--binary", parents[0], sha, "--", *sources)
        bug = _git(repo, "diff", "--no-renames", "--binary", sha, parents[0], "--", *sources)
        if not _applies(repo, bug):
            drops["does_not_apply"] += 1
            continue
        judge = _test_ids_in(tests, passing, framework)
        if not judge:
            drops["no_passing_tests"] += 1
            continue
        present = [t for t in tests if (repo / t).is_file()]
        cands.append(Candidate(sha, bug, present, judge=judge))
        message = _git(repo, "log", "-1", "--format=%B", sha)
        meta[sha] = {"fix": fix, "sources": sources, "message": message, "parent": parents[0]}
    report.candidates = len(cands)
    by_sha = {c.key: c for c in cands}
    if cands:
        env_tests = suite_of(env)
        store = TaskStore(settings.db_url)
        reporter.stage("history", f"{len(cands)} commits fix source with tests")
        proofs = prove(
            cands,
            env.image_tag,
            env_tests,
            passing,
            settings,
            settings.test_timeout_s,
            label=f"history-{env_id}",
        )
        try:
            for proof in proofs:
                if proof.verdict != "kept":
                    drops[proof.verdict] += 1
                    continue
                m = meta[proof.key]
                sources = [str(s) for s in m["sources"]]  # type: ignore[attr-defined]
                bug_patch = by_sha[proof.key].bug_patch
                message = str(m["message"]).strip()
                row = TaskRow(
                    environment_id=env_id,
                    kind="issue_fix",
                    family=FAMILY,
                    fingerprint=hashlib.sha256(bug_patch.encode()).hexdigest(),
                    target_file=sources[0],
                    target_symbol=None,
                    description=message.splitlines()[0][:300] if message else "",
                    bug_patch=bug_patch,
                    fix_patch=str(m["fix"]),
                    fail_to_pass=sorted(proof.fail_to_pass),
                    pass_to_pass=sorted(proof.pass_to_pass),
                    problem_statement=issue_fix_statement(
                        message, _issue_text(repo, proof.key), sorted(proof.fail_to_pass)
                    ),
                    meta={"commit": proof.key, "parent": m["parent"], "files": sources},
                )
                task_id = store.add(row)
                if task_id is not None:
                    report.task_ids.append(task_id)
                if len(report.task_ids) >= options.max_tasks:
                    break
        finally:
            proofs.close()
    report.dropped_by_reason = dict(drops)
    report.seconds = round(time.monotonic() - t0, 2)
    return report
