"""The tools an agent acts with, carried out in its sandbox.

Paths stay inside the repository: each is resolved in the container (symlinks included)
and refused when it leaves it. File edits keep an undo stack per path on the host side.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from forager.agent.errors import Submitted, ToolError
from forager.agent.models import Action, Limits, Observation
from forager.envs.strategies import sanitize_pytest_args
from forager.validate.models import TestOutcome
from forager.validate.suite import REPORT_PATH, parse_report, test_command

if TYPE_CHECKING:
    from forager.store.models import EnvironmentRow

REPO = "/repo"
TEST_OUTPUT = "/tmp/forager-test-output.txt"
PATCH_PATH = "/tmp/forager-final.patch"


class ShellResult(Protocol):
    @property
    def output(self) -> str: ...

    @property
    def exit_code(self) -> int | None: ...

    @property
    def duration_ms(self) -> float: ...

    @property
    def truncated(self) -> bool: ...

    @property
    def timed_out(self) -> bool: ...

    @property
    def output_bytes(self) -> int: ...


class Shell(Protocol):
    """What tools need of a sandbox (forager.sandbox.session.Sandbox provides it)."""

    def run(self, command: str, timeout_s: float, /) -> ShellResult: ...

    def read_file(self, path: str, /) -> bytes: ...

    def write_file(self, path: str, data: bytes, /) -> None: ...


@dataclass
class SuiteSpec:
    framework: str = "pytest"
    paths: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    # Keep byte code in a cache outside the repository between test runs (see
    # `seed_bytecode_cache`); only where the cache was seeded with checked-hash files.
    bytecode_cache: bool = False


def suite_of(env: EnvironmentRow) -> SuiteSpec:
    """Framework, test paths and args exactly as validation ran them: the verified attempt's.

    The profile's raw pytest args may hold what validation dropped (xdist's `-n auto`, say),
    and a repair may have changed the framework or named the test files.
    """
    verified = next((a for a in env.attempts if a.status == "verified"), None)
    plan = verified.plan if verified is not None else {}
    framework = str(plan.get("test_framework") or env.test_framework or "pytest")
    paths = [str(p) for p in plan.get("test_paths", env.profile.get("test_paths", []))]
    if "test_args" in plan:
        args = [str(a) for a in plan["test_args"]]
    else:
        args = sanitize_pytest_args([str(a) for a in env.profile.get("pytest_args", [])])
    return SuiteSpec(framework=framework, paths=paths, args=args)


PYCACHE = "/tmp/forager-pycache"


def seed_bytecode_cache(shell: Shell) -> None:
    """Compile the repository into PYCACHE as checked-hash .pyc files.

    Test runs (pytest's start-up, collection) then skip compiling the repository each time.
    Timestamp .pyc files would be unsafe here: a mutant and its revert can share the source's
    size and second of modification, and a stale .pyc would run the other code. Python keeps
    a checked-hash .pyc checked-hash when it rewrites it, so every later import compares the
    source's hash.
    """
    shell.run(
        f"cd {REPO} && PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX={PYCACHE} "
        "python -m compileall -q -j 0 --invalidation-mode checked-hash . >/dev/null 2>&1; true",
        300,
    )


def split_patch(diff: str) -> list[str]:
    chunks: list[str] = []
    for part in diff.split("\ndiff --git ")[0:]:
        if not part.strip():
            continue
        chunks.append(part if part.startswith("diff --git ") else "diff --git " + part)
    return chunks


def clean_patch(diff: str) -> str:
    """Drop binary files and byte-code from a git diff: they are junk for training and `git apply`."""
    keep = [
        c
        for c in split_patch(diff)
        if "Binary files " not in c and "GIT binary patch" not in c and ".pyc" not in c.split("\n", 1)[0]
    ]
    text = "\n".join(c.rstrip("\n") for c in keep)
    return text + "\n" if text else ""


class ToolBox:
    def __init__(self, shell: Shell, limits: Limits, tests: SuiteSpec) -> None:
        self.shell = shell
        self.limits = limits
        self.tests = tests
        self.history: dict[str, list[bytes | None]] = {}
        self.final_patch: str | None = None

    def execute(self, action: Action) -> Observation:
        """Run one action. ToolError messages are returned as observations, not raised."""
        handler = getattr(self, f"_tool_{action.tool}", None)
        if handler is None:
            return Observation(text=f"error: unknown tool {action.tool!r}")
        try:
            obs: Observation = handler(**action.args)
        except ToolError as exc:
            return Observation(text=f"error: {exc}")
        except TypeError as exc:  # wrong or missing arguments
            return Observation(text=f"error: bad arguments for {action.tool}: {exc}")
        return obs

    # --- helpers ---------------------------------------------------------------------
    def _sh(self, command: str, timeout_s: float | None = None) -> ShellResult:
        return self.shell.run(command, timeout_s or self.limits.command_timeout_s)

    def resolve(self, path: str) -> str:
        if not isinstance(path, str) or not path.strip():
            raise ToolError("a path is required")
        target = path if path.startswith("/") else f"{REPO}/{path}"
        res = self._sh(f"realpath -m -- {shlex.quote(target)}", 10)
        real = res.output.strip()
        if res.exit_code != 0 or not (real == REPO or real.startswith(REPO + "/")):
            raise ToolError(f"{path} is outside the repository ({REPO}); paths must stay inside it")
        return real

    def _exists(self, real: str, flag: str = "-e") -> bool:
        return self._sh(f"test {flag} {shlex.quote(real)}", 10).exit_code == 0

    def _read_text(self, real: str) -> str:
        if not self._exists(real, "-f"):
            raise ToolError(f"{real} is not a file")
        return self.shell.read_file(real).decode("utf-8", "replace")

    def _write(self, real: str, text: str) -> None:
        self.history.setdefault(real, []).append(
            self.shell.read_file(real) if self._exists(real, "-f") else None
        )
        self.shell.write_file(real, text.encode())

    def _shown(self, text: str) -> tuple[str, bool]:
        cap = self.limits.shown_output_bytes
        if len(text) <= cap:
            return text, False
        half = cap // 2
        return f"{text[:half]}\n[... {len(text) - cap} characters cut ...]\n{text[-half:]}", True

    # --- tools -----------------------------------------------------------------------
    def _tool_bash(self, command: str) -> Observation:
        res = self._sh(command)
        text = res.output
        if res.timed_out:
            text += f"\n[the command timed out after {self.limits.command_timeout_s:.0f} s and was killed]"
        stored = getattr(res, "stored_output", None)
        # The full (bounded) output is kept only when the policy was shown less of it.
        full = stored.decode("utf-8", "replace") if res.truncated and stored is not None else None
        return Observation(
            text=text,
            output=full,
            exit_code=res.exit_code,
            duration_ms=res.duration_ms,
            truncated=res.truncated,
            timed_out=res.timed_out,
            output_bytes=res.output_bytes,
        )

    def _tool_view(self, path: str, view_range: list[int] | None = None) -> Observation:
        real = self.resolve(path)
        if self._exists(real, "-d"):
            res = self._sh(
                f"cd {shlex.quote(real)} && find . -maxdepth 2 -not -path '*/.git*' -not -name '*.pyc' "
                f"-not -path '*/__pycache__*' | sort | head -400",
                30,
            )
            return Observation(text=res.output, exit_code=res.exit_code, duration_ms=res.duration_ms)
        lines = self._read_text(real).splitlines()
        start, end = 1, len(lines)
        if view_range:
            if len(view_range) != 2:
                raise ToolError("view_range is [start, end]")
            start, end = int(view_range[0]), int(view_range[1])
            if end == -1:
                end = len(lines)
            if not (1 <= start <= max(1, len(lines)) and start <= end):
                raise ToolError(f"invalid range [{start}, {end}]: the file has {len(lines)} lines")
            end = min(end, len(lines))
        body = "\n".join(f"{n:6}\t{lines[n - 1]}" for n in range(start, end + 1))
        text, cut = self._shown(body)
        return Observation(text=text, truncated=cut, output_bytes=len(body))

    def _tool_create(self, path: str, file_text: str) -> Observation:
        real = self.resolve(path)
        if self._exists(real):
            raise ToolError(f"{path} already exists; use edit to change it")
        parent = real.rsplit("/", 1)[0] or "/"
        if not self._exists(parent, "-d"):
            raise ToolError(f"the folder {parent} does not exist")
        self._write(real, file_text)
        return Observation(text=f"created {real} ({len(file_text.splitlines())} lines)")

    def _tool_edit(self, path: str, old_str: str, new_str: str) -> Observation:
        real = self.resolve(path)
        text = self._read_text(real)
        count = text.count(old_str) if old_str else 0
        if count == 0:
            raise ToolError(
                f"old_str was not found in {path}; it must match the file exactly (whitespace too)"
            )
        if count > 1:
            raise ToolError(f"old_str occurs {count} times in {path}; include more lines so it is unique")
        new_text = text.replace(old_str, new_str, 1)
        self._write(real, new_text)
        line = text[: text.index(old_str)].count("\n") + 1
        return Observation(text=f"edited {real}\n" + self._snippet(new_text, line, new_str.count("\n") + 1))

    def _tool_insert(self, path: str, insert_line: int, new_str: str) -> Observation:
        real = self.resolve(path)
        text = self._read_text(real)
        lines = text.splitlines(keepends=True)
        if not 0 <= int(insert_line) <= len(lines):
            raise ToolError(f"insert_line must be between 0 and {len(lines)}")
        block = new_str if new_str.endswith("\n") else new_str + "\n"
        if lines and insert_line == len(lines) and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        new_text = "".join(lines[: int(insert_line)]) + block + "".join(lines[int(insert_line) :])
        self._write(real, new_text)
        return Observation(
            text=f"inserted into {real}\n" + self._snippet(new_text, int(insert_line) + 1, block.count("\n"))
        )

    def _tool_undo_edit(self, path: str) -> Observation:
        real = self.resolve(path)
        stack = self.history.get(real)
        if not stack:
            raise ToolError(f"no edit of {path} to undo")
        previous = stack.pop()
        if previous is None:
            self._sh(f"rm -f -- {shlex.quote(real)}", 10)
            return Observation(text=f"undid the creation of {real}")
        self.shell.write_file(real, previous)
        return Observation(text=f"restored {real} to its previous content")

    def _tool_run_tests(self, tests: list[str] | None = None) -> Observation:
        outcomes, tail, res = self.run_tests(list(tests or []))
        order = {"failed": 0, "error": 1, "passed": 2, "skipped": 3}
        lines = [
            f"{t.outcome:8} {t.test_id}"
            for t in sorted(outcomes, key=lambda t: (order[t.outcome], t.test_id))
        ]
        counts = {k: sum(1 for t in outcomes if t.outcome == k) for k in order}
        summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no tests ran"
        details = [
            f"--- {t.test_id}\n{(t.message or '')[-1500:]}"
            for t in outcomes
            if t.outcome in ("failed", "error") and t.message
        ][:5]
        body = "\n".join([summary, *lines[:200], *details])
        if not outcomes:
            body += "\n" + tail[-3000:]
        if res.timed_out:
            body += "\n[the test run timed out and was killed]"
        text, cut = self._shown(body)
        return Observation(
            text=text,
            exit_code=res.exit_code,
            duration_ms=res.duration_ms,
            truncated=cut,
            timed_out=res.timed_out,
            output_bytes=len(body),
        )

    def run_tests(self, select: list[str]) -> tuple[list[TestOutcome], str, ShellResult]:
        for test_id in select:
            if test_id.startswith("-"):
                raise ToolError(f"{test_id!r} is not a test id")
        cmd = test_command(self.tests.framework, self.tests.paths, self.tests.args, select)
        cache = ""
        if self.tests.bytecode_cache:
            cache = f"PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX={PYCACHE} "
        line = (
            f"cd {REPO} && rm -f {REPORT_PATH} && FORAGER_REPORT={REPORT_PATH} {cache}"
            f"PYTHONPATH=/opt/forager/runners {' '.join(shlex.quote(c) for c in cmd)} > {TEST_OUTPUT} 2>&1; "
            f"code=$?; tail -c 4000 {TEST_OUTPUT}; exit $code"
        )
        res = self._sh(line, max(self.limits.command_timeout_s, 60.0))
        try:
            report = self.shell.read_file(REPORT_PATH)
        except Exception:  # no report: nothing was collected, the output says why
            report = b""
        return parse_report(report), res.output, res

    def _tool_submit(self) -> Observation:
        self.final_patch = self.diff()
        raise Submitted(f"patch of {len(self.final_patch)} characters")

    def diff(self) -> str:
        """The repository's changes against its base commit, as a clean git diff."""
        self._sh(
            f"cd {REPO} && git add -A >/dev/null 2>&1; git -c core.quotepath=off diff --cached --no-color "
            f"--no-ext-diff HEAD > {PATCH_PATH}; git reset -q >/dev/null 2>&1",
            60,
        )
        raw = self.shell.read_file(PATCH_PATH).decode("utf-8", "replace")
        return clean_patch(raw)

    @staticmethod
    def _snippet(text: str, line: int, n: int) -> str:
        lines = text.splitlines()
        lo, hi = max(1, line - 3), min(len(lines), line + n + 2)
        return "\n".join(f"{i:6}\t{lines[i - 1]}" for i in range(lo, hi + 1))
