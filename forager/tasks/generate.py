"""Mutate-fix task generation: coverage -> candidate mutations -> proof by tests -> tasks.

Only functions that passing baseline tests cover are mutated; only candidates whose tests
prove them (some fail, the rest pass) are stored. Drops are counted by reason.
"""

from __future__ import annotations

import hashlib
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
from forager.tasks.coverage import FunctionCoverage, collect_coverage, load_coverage, store_coverage
from forager.tasks.errors import TaskGenerationError
from forager.tasks.evaluate import task_test_order
from forager.tasks.mutations import (
    FAMILIES,
    Mutation,
    MutationError,
    enumerate_source_mutations,
    functions_in,
    read_source,
    sample_mutations,
)
from forager.tasks.prove import Candidate, Proof, prove
from forager.tasks.statements import mutate_fix_statement


class GenerateOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_tasks: int = Field(default=100, ge=1)
    families: list[str] | None = None
    max_candidates: int = Field(default=400, ge=1, description="candidates proven at most")
    max_per_family: int | None = Field(default=None, description="default: a share of max_candidates")
    max_per_function: int = 4
    max_per_file: int = 60
    tests_per_candidate: int = Field(default=40, ge=1, description="covering tests run per candidate")
    reuse_coverage: bool = Field(default=True, description="use the stored test-to-code map if any")
    seed: int = 0


class GenerationReport(BaseModel):
    environment_id: int
    functions_covered: int = 0
    candidates_enumerated: int = 0
    candidates_tried: int = 0
    valid_by_family: dict[str, int] = Field(default_factory=dict)
    dropped_by_reason: dict[str, int] = Field(default_factory=dict)
    task_ids: list[int] = Field(default_factory=list)
    duplicates: int = 0
    coverage_s: float = 0.0
    prove_s: float = 0.0
    seconds: float = 0.0


def _tests_for(cov: FunctionCoverage, durations: dict[str, float], limit: int) -> list[str]:
    # The fastest covering tests: they prove as well and keep a candidate's run short. They
    # run in the order its recheck and evaluation will use (tests may depend on their order).
    fastest = sorted(cov.tests, key=lambda t: (durations.get(t, 1.0), t))[:limit]
    return task_test_order(fastest, [])


def generate_tasks(
    env_id: int, settings: Settings, options: GenerateOptions | None = None, reporter: Reporter | None = None
) -> GenerationReport:
    options = options or GenerateOptions()
    reporter = reporter or NullReporter()
    t0 = time.monotonic()
    envs = EnvironmentStore(settings.db_url)
    env = envs.get(env_id)
    if env.status != "verified" or not env.image_tag:
        raise TaskGenerationError(f"environment {env_id} is {env.status}: tasks need a verified environment")
    repo = Path(env.snapshot.repo_path)
    results = envs.test_results(env_id)
    passing = {r.test_id for r in results if r.outcome == "passed" and not r.flaky}
    durations = {r.test_id: r.duration_s for r in results}
    report = GenerationReport(environment_id=env_id)

    c0 = time.monotonic()
    # An environment never changes, so neither does its map: a later generation reuses it.
    covered = load_coverage(settings.db_url, env_id) if options.reuse_coverage else []
    if not covered:
        reporter.stage("coverage", f"{len(passing)} passing tests")
        covered = collect_coverage(env, settings, passing)
    report.coverage_s = round(time.monotonic() - c0, 2)
    report.functions_covered = len(covered)
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    by_key: dict[tuple[str, int], FunctionCoverage] = {}
    mutations: list[Mutation] = []
    families = set(options.families or FAMILIES)
    for file in sorted({c.file for c in covered}):
        try:
            source = read_source(repo, file)
            infos = functions_in(source)
        except (MutationError, SyntaxError, ValueError):
            continue
        file_cov = {c.first_line: c for c in covered if c.file == file}
        for info in infos:
            cov = file_cov.get(info.start_line) or file_cov.get(info.def_line)
            if cov is None:
                continue
            spans[(file, cov.first_line)] = (info.start_line, info.end_line)
            by_key[(file, info.start_line)] = cov
            try:
                found = enumerate_source_mutations(source, file, info.qualname, families).mutations
            except MutationError:
                continue
            mutations.extend(m for m in found if m.function_lines[0] == info.start_line)
    store_coverage(settings.db_url, env_id, covered, spans)
    report.candidates_enumerated = len(mutations)

    per_family = options.max_per_family or max(4, options.max_candidates // max(1, len(families)) * 2)
    sampled = sample_mutations(mutations, per_family, options.max_per_function, options.seed)
    per_file: Counter[str] = Counter()
    chosen: list[Mutation] = []
    for m in sampled:
        if per_file[m.file] < options.max_per_file and len(chosen) < options.max_candidates:
            per_file[m.file] += 1
            chosen.append(m)
    # The caps spread a big project's candidates; a small one (a module of a dozen functions)
    # would get few: it is filled up under looser caps, still spread by the same sampler.
    taken = {m.id for m in chosen}
    for factor in (4, 16):
        if len(chosen) >= options.max_candidates:
            break
        looser = sample_mutations(
            mutations, per_family * factor, options.max_per_function * factor, options.seed
        )
        for m in looser:
            if m.id not in taken and len(chosen) < options.max_candidates:
                taken.add(m.id)
                chosen.append(m)
    if not chosen:
        report.seconds = round(time.monotonic() - t0, 2)
        return report

    tests = suite_of(env)
    cands: list[Candidate] = []
    by_id: dict[str, Mutation] = {}
    longest = 0.0
    for m in chosen:
        cov = by_key[(m.file, m.function_lines[0])]
        selected = _tests_for(cov, durations, options.tests_per_candidate)
        longest = max(longest, sum(durations.get(t, 0.5) for t in selected))
        cands.append(Candidate(m.id, m.bug_patch, selected))
        by_id[m.id] = m
    timeout = max(30.0, 5 * longest + 20)
    store = TaskStore(settings.db_url)
    reporter.stage("prove", f"{len(cands)} candidates (time limit {timeout:.0f} s each)")
    p0 = time.monotonic()
    drops: Counter[str] = Counter()
    valid: Counter[str] = Counter()
    proofs = prove(cands, env.image_tag, tests, passing, settings, timeout, label=f"tasks-{env_id}")
    try:
        for i, proof in enumerate(proofs, 1):
            report.candidates_tried = i
            m = by_id[proof.key]
            if proof.verdict != "kept":
                drops[proof.verdict] += 1
            else:
                task_id = store.add(_task_row(env_id, m, proof))
                if task_id is None:
                    report.duplicates += 1
                else:
                    valid[m.family] += 1
                    report.task_ids.append(task_id)
            if i % 10 == 0 or proof.verdict == "kept":
                reporter.stage("prove", f"{i}/{len(cands)} tried, {len(report.task_ids)} tasks")
            if len(report.task_ids) >= options.max_tasks:
                break
    finally:
        proofs.close()  # removes the sandbox even when we stop early
    report.prove_s = round(time.monotonic() - p0, 2)
    report.valid_by_family = dict(valid)
    report.dropped_by_reason = dict(drops)
    report.seconds = round(time.monotonic() - t0, 2)
    return report


def _task_row(env_id: int, m: Mutation, proof: Proof) -> TaskRow:
    return TaskRow(
        environment_id=env_id,
        kind="mutate_fix",
        family=m.family,
        fingerprint=hashlib.sha256(m.bug_patch.encode()).hexdigest(),
        target_file=m.file,
        target_symbol=m.symbol,
        line_start=m.lines[0],
        line_end=m.lines[1],
        description=m.description,
        bug_patch=m.bug_patch,
        fix_patch=m.fix_patch,
        fail_to_pass=sorted(proof.fail_to_pass),
        pass_to_pass=sorted(proof.pass_to_pass),
        problem_statement=mutate_fix_statement(m.family, m.file, m.symbol, sorted(proof.fail_to_pass)),
        meta={"prove_s": proof.seconds, "function_lines": list(m.function_lines)},
    )
