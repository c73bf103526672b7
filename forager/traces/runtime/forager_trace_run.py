"""Runs a command and writes what the host cannot see from outside:
`python forager_trace_run.py OUT.json [--progress TRACE_DIR] -- COMMAND...`. Stdlib only.

OUT gets the command's own wall time (without the container's start and stop, so traced and
untraced runs compare like for like), its exit code, and the repository files the run changed
(`git status` entries, with content digests, that differ from before the run). With
--progress, the trace collector's stats files in TRACE_DIR are summed up on stderr every few
seconds: the test runner captures the output of the process it runs in, while this parent
process's output goes straight to the log.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time

_PROGRESS_EVERY_S = 2.0
_MAX_HASHED = 64 * 1024 * 1024


def _repo_state() -> dict[str, str] | None:
    """`git status` entries of the working tree, each with a digest of the file's content (a
    file already modified in the image and modified again shows up as a change)."""
    if not os.path.isdir(".git"):
        return None
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "-z", "--untracked-files=all"],
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    state: dict[str, str] = {}
    entries = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    skip_next = False
    for entry in entries:
        if skip_next or len(entry) < 4:
            skip_next = False
            continue
        code, path = entry[:2], entry[3:]
        skip_next = code[0] in "RC"  # -z puts a rename's source path in the next entry
        state[path] = f"{code} {_digest(path)}"
    return state


def _digest(path: str) -> str:
    try:
        if os.path.getsize(path) > _MAX_HASHED:
            return "large"
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:  # deleted, or a folder
        return "-"


def _changes(before: dict[str, str] | None, after: dict[str, str] | None) -> list[str] | None:
    if before is None or after is None:
        return None
    changed = [f"{after[path][:2]} {path}" for path in sorted(after) if before.get(path) != after[path]]
    return changed + [f"restored {path}" for path in sorted(before) if path not in after]


def _progress(out_dir: str, last: str) -> str:
    totals = {"tests": 0, "kept": 0, "bytes": 0}
    try:
        names = [n for n in os.listdir(out_dir) if n.startswith("stats-") and n.endswith(".json")]
        for name in names:
            with open(os.path.join(out_dir, name), encoding="utf-8") as fh:
                stats = json.load(fh)
            for key in totals:
                totals[key] += int(stats[key])
    except (OSError, ValueError, KeyError, TypeError):
        return last
    line = f"forager-trace: {totals['tests']} tests, {totals['kept']} traces, {totals['bytes']} bytes"
    if line != last:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    return line


def main(argv: list[str]) -> int:
    progress_dir = None
    if len(argv) >= 3 and argv[1] == "--progress":
        progress_dir, argv = argv[2], [argv[0], *argv[3:]]
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: forager_trace_run.py OUT.json [--progress TRACE_DIR] -- COMMAND...\n")
        return 2
    out, command = argv[0], argv[2:]
    before = _repo_state()
    start = time.monotonic()
    proc = subprocess.Popen(command)
    last = ""
    while True:
        try:
            code = proc.wait(timeout=_PROGRESS_EVERY_S)
            break
        except subprocess.TimeoutExpired:
            if progress_dir:
                last = _progress(progress_dir, last)
    seconds = time.monotonic() - start
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(
            {"seconds": seconds, "exit_code": code, "repo_changes": _changes(before, _repo_state())}, fh
        )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
