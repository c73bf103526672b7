"""The `forager env` commands, run as a user would (in a subprocess, real engine and store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from forager.config import Settings
from tests.repos import calc_package, write

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _forager(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FORAGER_DATA_DIR": str(settings.data_dir),
        "FORAGER_DATABASE_URL": settings.db_url,
        "FORAGER_CA_CERTS": ":".join(str(p) for p in settings.ca_certs),
    }
    return subprocess.run(
        [sys.executable, "-m", "forager.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_build_json_list_and_show(tmp_path: Path, settings: Settings) -> None:
    repo = write(
        tmp_path / "clirepo",
        {
            "pyproject.toml": """
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "calc-cli"
            version = "0.1"

            [tool.setuptools]
            packages = ["calc_cli"]
        """,
            **calc_package("calc_cli"),
        },
    )
    done = _forager(settings, "env", "build", str(repo), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    for key in ("status", "tests_passed", "tests_failed", "image_size_mb", "attempts", "reason"):
        assert key in data
    assert data["status"] == "verified" and data["tests_passed"] == 3 and data["attempts"] == 1
    assert data["image_size_mb"] > 0

    listed = _forager(settings, "env", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert data["id"] in {e["id"] for e in json.loads(listed.stdout)}

    shown = _forager(settings, "env", "show", str(data["id"]), "--json", "--tests")
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert sorted(t["id"] for t in detail["tests"]) == [
        "tests/test_core.py::test_add",
        "tests/test_core.py::test_add_negative",
        "tests/test_core.py::test_mul",
    ]

    table = _forager(settings, "env", "show", str(data["id"]))
    assert "verified" in table.stdout and "install steps" in table.stderr + table.stdout


def test_bad_source_exits_2_with_a_clear_message(settings: Settings) -> None:
    done = _forager(settings, "env", "build", "ftp://example.org/x.git")
    assert done.returncode == 2
    assert "unsupported scheme 'ftp'" in done.stderr
    assert "Traceback" not in done.stderr

    as_json = _forager(settings, "env", "build", "pypi:forager-no-such-project-zzz==1.0", "--json")
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["status"] == "error"


def test_show_unknown_id(settings: Settings) -> None:
    done = _forager(settings, "env", "show", "999999")
    assert done.returncode == 2 and "no environment with id 999999" in done.stderr
