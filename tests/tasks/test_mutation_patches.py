"""Bug and fix patches are real `git diff`s: `git apply` takes them and reproduces the texts."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from forager.tasks.mutations import Mutation, enumerate_mutations, enumerate_source_mutations
from forager.tasks.mutations.diff import git_diff
from tests.tasks.helpers import FILE
from tests.tasks.test_mutation_formatting import ODD

SAMPLE = (
    "import os\n"
    "from math import floor, ceil\n"
    "\n"
    "\n"
    "def compute(a, b, *, scale=2):\n"
    '    """Compute things."""\n'
    "    total = a + b  # trailing\n"
    "    if not total and a < b:\n"
    "        return -1\n"
    "    while total > 10:\n"
    "        total -= 3\n"
    "    items = [floor(x) for x in range(total)]\n"
    "    return max(items, total) * scale if items else ceil(len(os.sep) / 2.5)\n"
)


def _git(repo: Path, *args: str, stdin: str | None = None) -> None:
    done = subprocess.run(
        ["git", *args], cwd=repo, input=stdin, capture_output=True, text=True, encoding="utf-8", check=False
    )
    assert done.returncode == 0, f"git {' '.join(args)} failed: {done.stderr}"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    (tmp_path / "pkg").mkdir()
    return tmp_path


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


def _round_trip(repo: Path, original: str, mutations: list[Mutation]) -> None:
    """Each bug patch applies to the original and yields the mutated text; its fix undoes it."""
    target = repo / FILE
    assert mutations
    for m in mutations:
        _write(target, original)
        _git(repo, "apply", "--check", "-", stdin=m.bug_patch)
        _git(repo, "apply", "-", stdin=m.bug_patch)
        assert target.read_bytes().decode("utf-8") == m.mutated_source, m.description
        _git(repo, "apply", "-", stdin=m.fix_patch)
        assert target.read_bytes().decode("utf-8") == original, m.description


def test_every_mutation_of_a_sample_applies_with_git(repo: Path) -> None:
    _write(repo / FILE, SAMPLE)
    mutations = enumerate_mutations(repo, FILE)
    assert len({m.family for m in mutations}) >= 14
    _round_trip(repo, SAMPLE, mutations)


@pytest.mark.parametrize(
    "source",
    [
        ODD,  # no newline at the end, odd spacing and comments
        SAMPLE.replace("\n", "\r\n"),
        "\ufeff" + SAMPLE,
    ],
    ids=["odd-formatting", "crlf", "bom"],
)
def test_patches_apply_with_unusual_files(repo: Path, source: str) -> None:
    mutations = enumerate_source_mutations(source, FILE).mutations
    _round_trip(repo, source, mutations)


def test_patch_header_and_hunk_form() -> None:
    [m] = enumerate_source_mutations(SAMPLE, FILE, "compute", {"boolean_swap"}).mutations
    assert m.bug_patch == (
        "diff --git a/pkg/mod.py b/pkg/mod.py\n"
        "--- a/pkg/mod.py\n"
        "+++ b/pkg/mod.py\n"
        "@@ -5,7 +5,7 @@\n"
        " def compute(a, b, *, scale=2):\n"
        '     """Compute things."""\n'
        "     total = a + b  # trailing\n"
        "-    if not total and a < b:\n"
        "+    if not total or a < b:\n"
        "         return -1\n"
        "     while total > 10:\n"
        "         total -= 3\n"
    )


def test_distant_edits_make_separate_hunks_without_diffing_the_whole_file() -> None:
    lines = [f"x{i} = {i}\n" for i in range(40)]
    after = lines.copy()
    after[2], after[30] = "x2 = -2\n", "x30 = -30\n"
    before_text, after_text = "".join(lines), "".join(after)
    patch = git_diff("m.py", before_text, after_text)
    assert patch.count("\n@@ ") == 2
    # A caller's hint of shared leading/trailing text gives the same patch, cheaper.
    shared = (len("".join(lines[:2])) + 4, len("".join(lines[31:])))
    assert git_diff("m.py", before_text, after_text, same=shared) == patch
    assert "@@ -1,6 +1,6 @@\n" in patch and "@@ -28,7 +28,7 @@\n" in patch


def test_random_line_edits_round_trip_through_git_apply(repo: Path) -> None:
    rng = random.Random(5)
    base = [f"line {i}\n" for i in range(60)]
    target = repo / FILE
    for case in range(25):
        after = base.copy()
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(after))
            action = rng.choice(["drop", "change", "insert"])
            if action == "drop":
                del after[at]
            elif action == "change":
                after[at] = f"changed {case}\n"
            else:
                after.insert(at, f"new {case}\n")
        before_text, after_text = "".join(base), "".join(after)
        if case % 2:  # odd cases end without a final newline
            before_text, after_text = before_text.rstrip("\n"), after_text.rstrip("\n")
        _write(target, before_text)
        _git(repo, "apply", "-", stdin=git_diff(FILE, before_text, after_text))
        assert target.read_bytes().decode("utf-8") == after_text, case
