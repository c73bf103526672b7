"""Data: how a test suite reveals the pytest plugins and test helpers it needs.

Each table maps something seen in the code or configuration to the distribution to install.
Only unambiguous names belong here: a fixture called `client` could come from a dozen plugins.
"""

from __future__ import annotations

# Fixture names requested by test functions or fixtures.
FIXTURE_PLUGINS: dict[str, str] = {
    "mocker": "pytest-mock",
    "class_mocker": "pytest-mock",
    "module_mocker": "pytest-mock",
    "package_mocker": "pytest-mock",
    "session_mocker": "pytest-mock",
    "benchmark": "pytest-benchmark",
    "aiohttp_client": "pytest-aiohttp",
    "aiohttp_server": "pytest-aiohttp",
    "event_loop": "pytest-asyncio",
    "httpx_mock": "pytest-httpx",
    "httpserver": "pytest-httpserver",
    "requests_mock": "requests-mock",
    "freezer": "pytest-freezer",
    "fs": "pyfakefs",
    "datadir": "pytest-datadir",
    "shared_datadir": "pytest-datadir",
    "original_datadir": "pytest-datadir",
    "data_regression": "pytest-regressions",
    "file_regression": "pytest-regressions",
    "num_regression": "pytest-regressions",
    "qtbot": "pytest-qt",
    "subtests": "pytest-subtests",
    "time_machine": "time-machine",
    "faker": "Faker",
    "xprocess": "pytest-xprocess",
    "docker_services": "pytest-docker",
    "docker_ip": "pytest-docker",
    "postgresql": "pytest-postgresql",
    "postgresql_proc": "pytest-postgresql",
    "nursery": "pytest-trio",
    "django_user_model": "pytest-django",
    "admin_client": "pytest-django",
    "django_db_setup": "pytest-django",
    "django_assert_num_queries": "pytest-django",
    "rf": "pytest-django",
    "lazy_fixture": "pytest-lazy-fixture",
}

# Top-level modules imported by test files or conftest.py (also `pytest_plugins = [...]`, `-p`).
IMPORT_PLUGINS: dict[str, str] = {
    "hypothesis": "hypothesis",
    "pytest_asyncio": "pytest-asyncio",
    "pytest_mock": "pytest-mock",
    "xdist": "pytest-xdist",
    "pytest_benchmark": "pytest-benchmark",
    "pytest_cases": "pytest-cases",
    "pytest_lazyfixture": "pytest-lazy-fixture",
    "pytest_lazy_fixtures": "pytest-lazy-fixtures",
    "pytest_httpx": "pytest-httpx",
    "pytest_httpserver": "pytest-httpserver",
    "pytest_django": "pytest-django",
    "pytest_twisted": "pytest-twisted",
    "pytest_trio": "pytest-trio",
    "pytest_regressions": "pytest-regressions",
    "pytest_subtests": "pytest-subtests",
    "pytest_timeout": "pytest-timeout",
    "pytest_cov": "pytest-cov",
    "pytest_bdd": "pytest-bdd",
    "pytest_lazy_fixture": "pytest-lazy-fixture",
    "pytest_check": "pytest-check",
    "pytest_snapshot": "pytest-snapshot",
    "pytest_localserver": "pytest-localserver",
    "pytest_socket": "pytest-socket",
    "pytest_freezer": "pytest-freezer",
    "pytest_randomly": "pytest-randomly",
    "pytest_mypy_plugins": "pytest-mypy-plugins",
    "freezegun": "freezegun",
    "responses": "responses",
    "requests_mock": "requests-mock",
    "respx": "respx",
    "mock": "mock",
    "syrupy": "syrupy",
    "pyfakefs": "pyfakefs",
    "time_machine": "time-machine",
    "factory": "factory-boy",
    "faker": "Faker",
    "parameterized": "parameterized",
    "testfixtures": "testfixtures",
    "trustme": "trustme",
    "moto": "moto",
    "vcr": "vcrpy",
    "ddt": "ddt",
    "dirty_equals": "dirty-equals",
    "inline_snapshot": "inline-snapshot",
    "flaky": "flaky",
    "nose": "nose",
    "aioresponses": "aioresponses",
    "asynctest": "asynctest",
    "polyfactory": "polyfactory",
    "hamcrest": "PyHamcrest",
    "sure": "sure",
    "expects": "expects",
}

# `@pytest.mark.NAME` markers that only exist when a plugin is installed.
MARKER_PLUGINS: dict[str, str] = {
    "asyncio": "pytest-asyncio",
    "timeout": "pytest-timeout",
    "django_db": "pytest-django",
    "trio": "pytest-trio",
    "vcr": "pytest-recording",
    "default_cassette": "pytest-recording",
    "block_network": "pytest-recording",
    "order": "pytest-order",
    "run": "pytest-ordering",
    "dependency": "pytest-dependency",
    "repeat": "pytest-repeat",
    "mpl_image_compare": "pytest-mpl",
    "forked": "pytest-forked",
    "datafiles": "pytest-datafiles",
    "xdist_group": "pytest-xdist",
    "httpx_mock": "pytest-httpx",
    "respx": "respx",
    "benchmark": "pytest-benchmark",
    "freeze_time": "pytest-freezer",
    "enable_socket": "pytest-socket",
    "disable_socket": "pytest-socket",
}

# Command-line options (in addopts, tox, nox or CI) -> plugin; `--opt=value` matches `--opt`.
OPTION_PLUGINS: dict[str, str] = {
    "--no-cov": "pytest-cov",
    "-n": "pytest-xdist",
    "--numprocesses": "pytest-xdist",
    "--dist": "pytest-xdist",
    "--maxprocesses": "pytest-xdist",
    "--mypy": "pytest-mypy",
    "--flake8": "pytest-flake8",
    "--black": "pytest-black",
    "--isort": "pytest-isort",
    "--ds": "pytest-django",
    "--html": "pytest-html",
    "--self-contained-html": "pytest-html",
    "--asyncio-mode": "pytest-asyncio",
    "--mpl": "pytest-mpl",
    "--forked": "pytest-forked",
    "--instafail": "pytest-instafail",
    "--count": "pytest-repeat",
    "--nbval": "nbval",
    "--nbval-lax": "nbval",
    "--xdoctest": "xdoctest",
    "--codspeed": "pytest-codspeed",
    "--memray": "pytest-memray",
    "--record-mode": "pytest-recording",
    "--block-network": "pytest-recording",
    "--disable-socket": "pytest-socket",
    "--snapshot-update": "syrupy",
    "--json-report": "pytest-json-report",
    "--md-report": "pytest-md-report",
}

# Option families matched by prefix (`--cov-report=term`, `--benchmark-json=x`).
OPTION_PREFIX_PLUGINS: dict[str, str] = {
    "--cov": "pytest-cov",
    "--benchmark-": "pytest-benchmark",
    "--hypothesis-": "hypothesis",
    "--randomly-": "pytest-randomly",
    "--reruns": "pytest-rerunfailures",
    "--timeout": "pytest-timeout",
}

# pytest ini keys that only plugins register.
INI_KEY_PLUGINS: dict[str, str] = {
    "asyncio_mode": "pytest-asyncio",
    "asyncio_default_fixture_loop_scope": "pytest-asyncio",
    "timeout": "pytest-timeout",
    "timeout_method": "pytest-timeout",
    "DJANGO_SETTINGS_MODULE": "pytest-django",
    "django_find_project": "pytest-django",
    "env": "pytest-env",
    "mock_use_standalone_module": "pytest-mock",
    "qt_api": "pytest-qt",
    "bdd_features_base_dir": "pytest-bdd",
    "trio_mode": "pytest-trio",
    "mpl-baseline-path": "pytest-mpl",
    "flake8-max-line-length": "pytest-flake8",
    "reruns": "pytest-rerunfailures",
}

# A detected plugin is not needed when the suite declares one of these look-alikes, which
# provide the same fixture/marker (`benchmark` is also pytest-codspeed's).
ALTERNATIVE_PLUGINS: dict[str, frozenset[str]] = {
    "pytest-benchmark": frozenset({"pytest-codspeed"}),
    "pytest-freezer": frozenset({"pytest-freezegun"}),
    "pytest-lazy-fixture": frozenset({"pytest-lazy-fixtures"}),
    "pytest-recording": frozenset({"pytest-vcr"}),
    "pytest-ordering": frozenset({"pytest-order"}),
    "pytest-order": frozenset({"pytest-ordering"}),
    "pytest-socket": frozenset({"pytest-subket"}),
}

# Plain `pip install NAME` lines in CI count as test requirements only for these names
# (and pytest-*): CI also installs linters, uploaders and build tools.
CI_TEST_TOOLS = frozenset(
    {"pytest", "mock", "hypothesis", "coverage", "nose", "nose2", "freezegun", "responses", "requests-mock"}
)

# Built into pytest; `-p` / `pytest_plugins` naming these needs nothing installed.
BUILTIN_PLUGINS = frozenset({"pytester", "doctest", "cacheprovider", "capture", "tmpdir", "monkeypatch"})
