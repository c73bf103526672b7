"""Reading logs for fixes (pure functions, no services)."""

from __future__ import annotations

from forager.envs.log_hints import read_log


def test_missing_header_maps_to_debian_package() -> None:
    log = "src/c/_cffi_backend.c:15:10: fatal error: ffi.h: No such file or directory"
    assert read_log(log, set()).system_packages == ["libffi-dev"]


def test_missing_test_module_and_plugins() -> None:
    log = "\n".join(
        [
            "E   ModuleNotFoundError: No module named 'yaml'",
            "E       fixture 'mocker' not found",
            "pytest: error: unrecognized arguments: --cov=pkg --cov-report=xml",
            "async def functions are not natively supported.",
        ]
    )
    hints = read_log(log, set())
    assert hints.pip_packages == ["PyYAML", "pytest-mock", "pytest-cov", "pytest-asyncio"]
    assert hints.system_packages == [] and hints.build_modules == []


def test_own_package_is_never_installed_from_pypi() -> None:
    hints = read_log("ModuleNotFoundError: No module named 'mypkg.sub'", {"mypkg"})
    assert hints.pip_packages == []


def test_build_time_import_needs_no_isolation() -> None:
    log = (
        "Getting requirements to build wheel ... error\nModuleNotFoundError: No module named 'numpy'\n"
        "error: subprocess-exited-with-error"
    )
    hints = read_log(log, set())
    assert hints.build_modules == ["numpy"] and hints.pip_packages == []


def test_python_mismatch() -> None:
    log = "ERROR: Package 'x' requires a different Python: 3.11.2 not in '>=3.12'"
    assert read_log(log, set()).python_mismatch
