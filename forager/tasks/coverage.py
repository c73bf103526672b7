"""The test-to-code map: which baseline tests run which repository functions (and lines).

The suite runs once in a fresh container of the environment with an injected collector
(`forager_coverage`, stdlib only); the map is stored per function.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, select

from forager.agent.tools import suite_of
from forager.config import Settings
from forager.store.db import session_scope
from forager.store.models import EnvironmentRow, FunctionCoverageRow
from forager.tasks.errors import TaskGenerationError
from forager.validate.container_run import run_in_container
from forager.validate.suite import REPORT_PATH, test_command

COVER_OUT = "/tmp/forager-coverage.jsonl"
# Big enough for a suite of 60k tests (packaging's); the map is read into memory once.
MAX_COVERAGE_BYTES = 512 * 1024 * 1024
MAX_TESTS_PER_FUNCTION = 500  # beyond this a function is a hub (helpers, __init__): keep a sample


@dataclass
class FunctionCoverage:
    file: str
    qualname: str
    first_line: int
    tests: set[str] = field(default_factory=set)
    lines: set[int] = field(default_factory=set)


def parse_coverage(data: bytes) -> dict[tuple[str, int, str], FunctionCoverage]:
    """Fold per-test records into per-function coverage."""
    out: dict[tuple[str, int, str], FunctionCoverage] = {}
    file_lines: dict[str, set[int]] = {}
    for raw in data.decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(raw)
            test = str(rec["test"])
            functions = rec["functions"]
            lines = rec.get("lines", {})
        except (ValueError, KeyError, TypeError):
            continue
        for file, first_line, qualname in functions:
            key = (str(file), int(first_line), str(qualname))
            cov = out.setdefault(key, FunctionCoverage(key[0], key[2], key[1]))
            cov.tests.add(test)
        for file, nums in lines.items():
            file_lines.setdefault(file, set()).update(int(n) for n in nums)
    # Lines are attributed to functions when the function map is stored (spans are static).
    for cov in out.values():
        cov.lines = file_lines.get(cov.file, set())
    return out


def collect_coverage(
    env: EnvironmentRow, settings: Settings, passing: Iterable[str]
) -> list[FunctionCoverage]:
    """Run the suite under the collector; keep only tests that passed (stably) in the baseline."""
    if not env.image_tag:
        return []
    spec = suite_of(env)  # exactly as validation ran the suite
    cmd = test_command(spec.framework, spec.paths, spec.args)
    if spec.framework == "pytest":
        cmd = [*cmd[:3], "-p", "forager_coverage", *cmd[3:]]
    out = run_in_container(
        env.image_tag,
        cmd,
        settings,
        settings.test_timeout_s * 2,
        fetch=[COVER_OUT],
        env={"FORAGER_REPORT": REPORT_PATH, "FORAGER_COVER_OUT": COVER_OUT, "FORAGER_COVER_ROOT": "/repo"},
        kind="coverage",
        max_fetch_bytes=MAX_COVERAGE_BYTES,
    )
    if COVER_OUT not in out.files:
        why = "it ran out of time" if out.timed_out else f"exit code {out.exit_code}"
        raise TaskGenerationError(
            f"the coverage run of environment {env.id} left no test-to-code map ({why}, or the map "
            f"was over {MAX_COVERAGE_BYTES // 2**20} MB):\n{out.log_tail[-1500:]}"
        )
    ok = set(passing)
    result = []
    for cov in parse_coverage(out.files.get(COVER_OUT, b"")).values():
        cov.tests &= ok
        if cov.tests and not is_test_file(cov.file):
            if len(cov.tests) > MAX_TESTS_PER_FUNCTION:
                cov.tests = set(sorted(cov.tests)[:MAX_TESTS_PER_FUNCTION])
            result.append(cov)
    return result


def is_test_file(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(p in ("tests", "test", "testing") for p in parts[:-1])
    )


def store_coverage(
    url: str, env_id: int, functions: list[FunctionCoverage], spans: dict[tuple[str, int], tuple[int, int]]
) -> None:
    """Replace the environment's map. `spans` gives (file, first line) -> function line span."""
    with session_scope(url) as s:
        s.execute(delete(FunctionCoverageRow).where(FunctionCoverageRow.environment_id == env_id))
        for f in functions:
            lo, hi = spans.get((f.file, f.first_line), (f.first_line, f.first_line))
            s.add(
                FunctionCoverageRow(
                    environment_id=env_id,
                    file=f.file,
                    qualname=f.qualname,
                    first_line=f.first_line,
                    tests=sorted(f.tests),
                    lines=sorted(n for n in f.lines if lo <= n <= hi),
                )
            )


def load_coverage(url: str, env_id: int) -> list[FunctionCoverage]:
    with session_scope(url) as s:
        rows = s.scalars(
            select(FunctionCoverageRow).where(FunctionCoverageRow.environment_id == env_id)
        ).all()
        return [FunctionCoverage(r.file, r.qualname, r.first_line, set(r.tests), set(r.lines)) for r in rows]
