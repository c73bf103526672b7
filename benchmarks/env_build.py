"""Environment build benchmark over a corpus: verified rate, cold vs warm build, added size.

Usage: python benchmarks/env_build.py --corpus ../shared/corpus/dev-sdists.txt --out results/env_build.json
Corpus lines are `name==version` (PyPI) or any source spec. Settings come from FORAGER_*
variables (store, data folder, CA files), as for the CLI.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from packaging.utils import canonicalize_name
from rich.console import Console
from rich.table import Table

from forager.build.builder import build_image
from forager.build.context import build_context, render_dockerfile
from forager.build.plan import InstallPlan
from forager.cli.env_cmd import read_corpus
from forager.config import get_settings
from forager.dockerhost import get_docker
from forager.envs.harvest import build_from_source
from forager.errors import ForagerError
from forager.store.environments import EnvironmentStore

console = Console(width=200)


def warm_rebuild_s(env_id: int, store: EnvironmentStore) -> float | None:
    """Rebuild the verified attempt's exact Dockerfile and context: the unchanged-source case."""
    settings = get_settings()
    env = store.get(env_id)
    attempt = next((a for a in env.attempts if a.status == "verified"), None)
    if attempt is None or not env.image_tag:
        return None
    plan = InstallPlan(**attempt.plan)
    snap = env.snapshot
    dockerfile = render_dockerfile(plan, snap.name, snap.commit_sha, settings)
    with build_context(Path(snap.repo_path), dockerfile, plan, settings) as ctx:
        result = build_image(ctx, env.image_tag, settings.build_timeout_s)
    return result.seconds if result.ok else None


def forget_images(spec: str) -> int:
    """Remove earlier images of this project so its first build here is really cold.

    Shared layers (base, venv) stay cached, as they would on any engine that built another
    project before; only this project's own layers are built from scratch.
    """
    settings = get_settings()
    name = canonicalize_name(spec.removeprefix("pypi:").split("==")[0])
    client = get_docker()
    removed = 0
    for image in client.images.list(name=f"{settings.image_prefix}-{name}"):
        for tag in image.tags:
            client.images.remove(tag, force=True)
            removed += 1
    client.images.prune(filters={"dangling": True})
    return removed


def run(corpus: Path, limit: int | None) -> dict[str, object]:
    settings = get_settings()
    store = EnvironmentStore(settings.db_url)
    rows: list[dict[str, object]] = []
    specs = read_corpus(corpus)[:limit]
    for i, spec in enumerate(specs, 1):
        console.print(f"[{i}/{len(specs)}] {spec}")
        forget_images(spec)
        t0 = time.monotonic()
        try:
            s = build_from_source(spec, settings, rebuild=True)
        except Exception as exc:
            if not isinstance(exc, ForagerError):
                console.print_exception()
            rows.append(
                {
                    "project": spec,
                    "verified": False,
                    "attempts": 0,
                    "reason": str(exc),
                    "wall_s": round(time.monotonic() - t0, 1),
                }
            )
            continue
        verified_attempt = next((a for a in s.attempt_log if a.status == "verified"), None)
        cold = verified_attempt.build_s if verified_attempt else None
        warm = warm_rebuild_s(s.id, store) if s.status == "verified" else None
        rows.append(
            {
                "project": spec,
                "env_id": s.id,
                "verified": s.status == "verified",
                "attempts": s.attempts,
                "strategy": s.strategy,
                "python": s.python,
                "cold_build_s": round(cold, 2) if cold is not None else None,
                "warm_rebuild_s": round(warm, 2) if warm is not None else None,
                "added_mb": s.added_size_mb,
                "tests_collected": s.tests_collected,
                "tests_passed": s.tests_passed,
                "tests_failed": s.tests_failed,
                "tests_flaky": s.tests_flaky,
                "reason": s.reason,
                "wall_s": round(time.monotonic() - t0, 1),
            }
        )
    verified = [r for r in rows if r["verified"]]
    ratios = [
        float(r["warm_rebuild_s"]) / float(r["cold_build_s"])
        for r in verified  # type: ignore[arg-type]
        if r.get("warm_rebuild_s") is not None and r.get("cold_build_s")
    ]
    added = [float(r["added_mb"]) for r in verified if r.get("added_mb") is not None]  # type: ignore[arg-type]
    summary = {
        "projects": len(rows),
        "verified": len(verified),
        "verified_rate": round(len(verified) / len(rows), 3) if rows else 0.0,
        "median_added_mb": round(statistics.median(added), 1) if added else None,
        "median_warm_over_cold": round(statistics.median(ratios), 3) if ratios else None,
        "median_cold_build_s": round(
            statistics.median(
                [
                    float(r["cold_build_s"])
                    for r in verified  # type: ignore[arg-type]
                    if r.get("cold_build_s")
                ]
            ),
            1,
        )
        if verified
        else None,
        "targets": {
            "verified_rate": ">= 0.85",
            "median_warm_over_cold": "<= 0.10",
            "median_added_mb": "<= 60",
        },
    }
    return {"benchmark": "env_build", "corpus": str(corpus), "rows": rows, "summary": summary}


def print_table(result: dict[str, object]) -> None:
    t = Table(title="env_build")
    cols = [
        "project",
        "verified",
        "attempts",
        "cold_build_s",
        "warm_rebuild_s",
        "added_mb",
        "tests_collected",
        "tests_passed",
        "tests_failed",
        "tests_flaky",
        "reason",
    ]
    for c in cols:
        t.add_column(c)
    for r in result["rows"]:  # type: ignore[attr-defined]
        t.add_row(*[("" if r.get(c) is None else str(r.get(c)))[:70] for c in cols])
    console.print(t)
    console.print_json(json.dumps(result["summary"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="only the first N projects")
    args = ap.parse_args()
    result = run(args.corpus, args.limit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
