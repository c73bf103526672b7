"""Enumerating the mutations of a file: run the families, check, deduplicate, package."""

from __future__ import annotations

import bisect
import hashlib
import warnings
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path, PurePosixPath

import libcst as cst

from forager.tasks.mutations.diff import git_diff
from forager.tasks.mutations.edits import Candidate, Edit, apply_edits
from forager.tasks.mutations.errors import MutationError
from forager.tasks.mutations.families import GENERATORS
from forager.tasks.mutations.functions import FunctionNode, parse_functions, select_functions
from forager.tasks.mutations.models import FAMILIES, Enumeration, Family, Mutation
from forager.tasks.mutations.source import ParsedSource, Span

_BOM = "\ufeff"


def enumerate_mutations(
    repo_root: Path,
    file: str,
    symbol: str | None = None,
    families: set[str] | None = None,
    *,
    lines: tuple[int, int] | None = None,
) -> list[Mutation]:
    """The valid, distinct mutations of `file` (relative to `repo_root`), in a stable order.

    `symbol` restricts them to one function (qualified name); `lines` to the innermost
    function holding that line span; `families` to some families (default: all).
    """
    source = read_source(repo_root, file)
    return enumerate_source_mutations(source, file, symbol, families, lines=lines).mutations


def read_source(repo_root: Path, file: str) -> str:
    """The file's text exactly as stored: newlines untranslated, byte-order mark kept."""
    relative = PurePosixPath(file)
    if relative.is_absolute() or ".." in relative.parts:
        raise MutationError(f"{file!r} must be a path inside the repository, relative to its root")
    path = repo_root / relative
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MutationError(f"cannot read {file} under {repo_root}: {exc.strerror}") from exc
    try:
        # Not read_text(): universal newlines would turn \r\n into \n and break the patch.
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MutationError(f"{file} is not UTF-8 ({exc.reason}); only UTF-8 sources are mutated") from exc


def enumerate_source_mutations(
    source: str,
    file: str,
    symbol: str | None = None,
    families: Iterable[str] | None = None,
    *,
    lines: tuple[int, int] | None = None,
) -> Enumeration:
    """The mutations of one module's text, with counts of the candidates dropped and why.

    Order: target functions in source order, then families in `FAMILIES` order, then
    candidates in source order; of identical results the first is kept.
    """
    chosen = _check_families(families)
    bom = _BOM if source.startswith(_BOM) else ""
    text = source[len(bom) :]
    try:
        src, functions = parse_functions(text)
    except MutationError as exc:
        raise MutationError(f"{file}: {exc}") from exc
    targets = select_functions(functions, symbol, lines, file)
    is_valid = _validator(src, file)
    result = Enumeration(file=file)
    seen: set[str] = {text}
    for fn in targets:
        for family in chosen:
            for candidate in GENERATORS[family](src, fn):
                mutated = apply_edits(text, candidate.edits)
                if mutated == text:
                    result.dropped_unchanged += 1
                elif mutated in seen:
                    result.dropped_duplicates += 1
                elif not is_valid(fn, mutated, candidate.edits):
                    result.dropped_invalid[family] = result.dropped_invalid.get(family, 0) + 1
                else:
                    seen.add(mutated)
                    result.mutations.append(_package(src, fn, file, candidate, bom, mutated))
    return result


def deduplicate_mutations(mutations: Iterable[Mutation]) -> list[Mutation]:
    """Keep the first of mutations whose bug patches are identical (e.g. from separate runs)."""
    seen: set[str] = set()
    out: list[Mutation] = []
    for mutation in mutations:
        if mutation.bug_patch not in seen:
            seen.add(mutation.bug_patch)
            out.append(mutation)
    return out


def _check_families(families: Iterable[str] | None) -> list[Family]:
    if families is None:
        return list(FAMILIES)
    wanted = set(families)
    unknown = sorted(wanted.difference(FAMILIES))
    if unknown:
        raise MutationError(f"unknown mutation families {unknown}; known: {', '.join(FAMILIES)}")
    return [f for f in FAMILIES if f in wanted]


def _compiles(text: str, file: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings of the original's own code
        try:
            compile(text, file, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
    return True


def _parses(text: str, file: str) -> bool:
    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError:
        return False
    return True


class _Validator:
    """Says whether a mutated text is still a valid module.

    compile() catches what only the compiler sees (a `nonlocal` left without its binding,
    `return` outside a function), which a parser does not. A repository written for a newer
    Python than this interpreter would fail it for every candidate, so there libcst's
    parser, which knows newer syntax, has to do.

    Compiling a whole large module for each of thousands of candidates dominated the run
    time, so the smallest unit the compiler checks on its own is compiled first: the
    outermost def around the edits (`nonlocal` cannot reach past it), else the top-level
    statements holding them. A unit that fails is confirmed on the whole text, so no
    candidate is rejected because of the cut.
    """

    def __init__(self, src: ParsedSource, file: str) -> None:
        self.src = src
        self.file = file
        self.check = _compiles if _compiles(src.text, file) else _parses
        # Top-level statements as whole lines; a decorated def starts at its `def` line,
        # which is enough since decorators are never mutated.
        self.blocks = [src.whole_lines(stmt, stmt) for stmt in src.module.body]
        self.starts = [b.start for b in self.blocks]

    def _unit(self, fn: FunctionNode, low: int, high: int) -> Span | None:
        unit = self.src.whole_lines(fn.outermost, fn.outermost)
        if unit.start <= low and high <= unit.end:
            return unit
        first = bisect.bisect_right(self.starts, low) - 1
        last = bisect.bisect_left(self.starts, high) - 1
        if first >= 0 and last >= first and self.blocks[first].end > low and self.blocks[last].end >= high:
            return Span(self.blocks[first].start, self.blocks[last].end)
        return None

    def __call__(self, fn: FunctionNode, mutated: str, edits: Sequence[Edit]) -> bool:
        low = min(e.start for e in edits)
        high = max(max(e.end, e.start + 1) for e in edits)
        unit = self._unit(fn, low, high)
        if unit is not None:
            shift = len(mutated) - len(self.src.text)
            fragment = mutated[unit.start : unit.end + shift]
            # An indented def (a method) compiles as the block of an `if`.
            if fragment[:1] in (" ", "\t"):
                fragment = "if 1:\n" + fragment
            if self.check(fragment, self.file):
                return True
        return self.check(mutated, self.file)


@lru_cache(maxsize=4)
def _validator(src: ParsedSource, file: str) -> _Validator:
    # Cached with the parse: building one compiles the whole original once.
    return _Validator(src, file)


def _package(
    src: ParsedSource, fn: FunctionNode, file: str, candidate: Candidate, bom: str, mutated: str
) -> Mutation:
    before, after = bom + src.text, bom + mutated
    first = min(e.start for e in candidate.edits)
    last = max(max(e.end - 1, e.start) for e in candidate.edits)
    # Text before the first edit and after the last one is shared by construction.
    same = (len(bom) + first, len(src.text) - max(e.end for e in candidate.edits))
    bug_patch = git_diff(file, before, after, same=same)
    digest = hashlib.sha256(f"{file}\0{bug_patch}".encode()).hexdigest()[:16]
    return Mutation(
        id=digest,
        family=candidate.family,
        file=file,
        symbol=fn.info.qualname,
        lines=(src.line_of(first), src.line_of(last)),
        function_lines=(fn.info.start_line, fn.info.end_line),
        description=candidate.description,
        mutated_source=after,
        bug_patch=bug_patch,
        fix_patch=git_diff(file, after, before, same=same),
    )
