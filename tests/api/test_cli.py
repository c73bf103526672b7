"""`forager api keys ...`: a key made by the CLI works against the API until it is revoked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.settings import ApiSettings
from forager.cli.api_cmd import app as api_cli
from forager.config import Settings, get_settings
from tests.api.conftest import PEPPER, auth, make_client


@pytest.fixture
def cli_env(service_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FORAGER_DATABASE_URL", service_settings.db_url)
    monkeypatch.setenv("FORAGER_API_KEYS_PEPPER", PEPPER)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client(service_settings: Settings) -> Iterator[TestClient]:
    # No auth cache: a revocation must show on the very next request here.
    with make_client(service_settings, ApiSettings(log_requests=False, auth_cache_s=0)) as c:
        yield c


def test_create_list_revoke(cli_env: None, client: TestClient) -> None:
    runner = CliRunner()
    made = runner.invoke(api_cli, ["keys", "create", "--name", "cli-test", "--scopes", "read,submit"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("fgr_")
    prefix = key.split("_")[1]
    assert client.get("/v1/tasks", headers=auth(key)).status_code == 200

    listed = runner.invoke(api_cli, ["keys", "list"])
    assert listed.exit_code == 0 and prefix in listed.stdout and "cli-test" in listed.stdout
    assert key.split("_", 2)[2] not in listed.stdout

    revoked = runner.invoke(api_cli, ["keys", "revoke", prefix])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/v1/tasks", headers=auth(key)).status_code == 401

    assert runner.invoke(api_cli, ["keys", "revoke", "nosuchprefix"]).exit_code == 2
    bad = runner.invoke(api_cli, ["keys", "create", "--name", "x", "--scopes", "read,root"])
    assert bad.exit_code == 2 and "invalid scopes" in bad.output
