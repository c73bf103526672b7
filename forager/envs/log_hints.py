"""Reading build and test logs for fixes: missing headers, modules and pytest plugins.

Tables, not code paths: extending Forager's repair knowledge means adding a row here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# C header (or tool) named in a compiler/build error -> Debian packages that provide it.
HEADER_PACKAGES: dict[str, list[str]] = {
    "ffi.h": ["libffi-dev"],
    "zlib.h": ["zlib1g-dev"],
    "openssl/ssl.h": ["libssl-dev"],
    "libxml/xmlversion.h": ["libxml2-dev", "libxslt1-dev"],
    "libxslt/xslt.h": ["libxslt1-dev"],
    "yaml.h": ["libyaml-dev"],
    "jpeglib.h": ["libjpeg-dev"],
    "png.h": ["libpng-dev"],
    "sqlite3.h": ["libsqlite3-dev"],
    "bzlib.h": ["libbz2-dev"],
    "lzma.h": ["liblzma-dev"],
    "readline/readline.h": ["libreadline-dev"],
    "curl/curl.h": ["libcurl4-openssl-dev"],
    "gmp.h": ["libgmp-dev"],
    "pg_config": ["libpq-dev"],
    "mysql_config": ["default-libmysqlclient-dev", "pkg-config"],
    "pkg-config": ["pkg-config"],
    "g++": ["g++"],
    "cargo": ["cargo", "rustc"],
    "rustc": ["cargo", "rustc"],
    "Rust compiler": ["cargo", "rustc"],
}

# Import name -> distribution name, where they differ.
IMPORT_TO_DIST: dict[str, str] = {
    "yaml": "PyYAML",
    "PIL": "Pillow",
    "cv2": "opencv-python-headless",
    "sklearn": "scikit-learn",
    "dateutil": "python-dateutil",
    "bs4": "beautifulsoup4",
    "attr": "attrs",
    "OpenSSL": "pyOpenSSL",
    "Crypto": "pycryptodome",
    "jwt": "PyJWT",
    "dotenv": "python-dotenv",
    "magic": "python-magic",
    "serial": "pyserial",
    "usb": "pyusb",
    "git": "GitPython",
    "google.protobuf": "protobuf",
    "pkg_resources": "setuptools",
    "_pytest": "pytest",
    "docutils": "docutils",
    "typing_extensions": "typing-extensions",
    "importlib_metadata": "importlib-metadata",
    "Cython": "Cython",
    "pytest_asyncio": "pytest-asyncio",
    "pytest_mock": "pytest-mock",
    "hypothesis": "hypothesis",
    "tomli_w": "tomli-w",
}

# pytest fixtures and options -> plugin distributions.
FIXTURE_PLUGINS: dict[str, str] = {
    "mocker": "pytest-mock",
    "benchmark": "pytest-benchmark",
    "httpserver": "pytest-httpserver",
    "freezer": "pytest-freezer",
    "time_machine": "time-machine",
    "snapshot": "syrupy",
    "datadir": "pytest-datadir",
    "shared_datadir": "pytest-datadir",
    "aiohttp_client": "pytest-aiohttp",
    "event_loop": "pytest-asyncio",
    "subtests": "pytest-subtests",
    "requests_mock": "requests-mock",
    "httpx_mock": "pytest-httpx",
    "fs": "pyfakefs",
    "caplog": "",
}
OPTION_PLUGINS: dict[str, str] = {
    "--cov": "pytest-cov",
    "--timeout": "pytest-timeout",
    "-n": "pytest-xdist",
    "--numprocesses": "pytest-xdist",
    "--benchmark": "pytest-benchmark",
    "--doctest-rst": "pytest-doctestplus",
    "--doctest-plus": "pytest-doctestplus",
    "--mypy": "pytest-mypy",
    "--flake8": "pytest-flake8",
    "--reruns": "pytest-rerunfailures",
    "--randomly": "pytest-randomly",
    "--asyncio-mode": "pytest-asyncio",
    "--html": "pytest-html",
    "--env": "pytest-env",
}
MARKER_PLUGINS: dict[str, str] = {
    "asyncio": "pytest-asyncio",
    "trio": "pytest-trio",
    "anyio": "anyio",
    "timeout": "pytest-timeout",
    "flaky": "flaky",
    "benchmark": "pytest-benchmark",
}

_HEADER = re.compile(r"fatal error: ([\w./+-]+): No such file or directory")
_NO_MODULE = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '?([\w.]+)'?")
_FIXTURE = re.compile(r"fixture '([\w]+)' not found")
_OPTION = re.compile(r"error: unrecognized arguments: ([^\n]+)")
_MARKER = re.compile(r"'(\w+)' not found in `markers` configuration option")
_TOOL = re.compile(
    r"(pg_config|mysql_config|pkg-config|g\+\+|cargo|rustc)[^\n]{0,40}(?:not found|No such file)"
    r"|can't find (Rust compiler)"
)
_PY_MISMATCH = re.compile(
    r"requires a different Python|Requires-Python|"
    r"Package '[^']+' requires a different Python|SyntaxError: invalid syntax"
)
_ASYNC_UNSUPPORTED = re.compile(r"async def functions are not natively supported")
# A conftest or plugin written for an older pytest (py.path hook arguments, removed APIs).
_OLD_PYTEST = re.compile(
    r"PluginValidationError|PytestRemovedIn\d+Warning|"
    r"are declared in the hookimpl but can not be found in the hookspec"
)
_BUILD_PHASE = re.compile(
    r"Getting requirements to build|Preparing metadata|setup\.py egg_info|"
    r"Building wheel|build_meta"
)


@dataclass
class Hints:
    system_packages: list[str] = field(default_factory=list)
    pip_packages: list[str] = field(default_factory=list)
    build_modules: list[str] = field(default_factory=list)  # needed at build time, undeclared
    python_mismatch: bool = False
    older_pytest: bool = False

    def empty(self) -> bool:
        return not (self.system_packages or self.pip_packages or self.build_modules)

    def pin_older_pytest(self) -> None:
        """Step pytest back one major version each time the log asks for an older one."""
        for major in (9, 8, 7, 6):
            pin = f"pytest<{major}"
            if pin not in self.pip_packages:
                self.pip_packages[:] = [p for p in self.pip_packages if not p.startswith("pytest<")] + [pin]
                return


def dist_for_import(module: str) -> str:
    if module in IMPORT_TO_DIST:
        return IMPORT_TO_DIST[module]
    top = module.split(".")[0]
    return IMPORT_TO_DIST.get(top, top.replace("_", "-"))


def read_log(log: str, own_packages: set[str]) -> Hints:
    """Fixes suggested by a log. `own_packages` are the project's import names (never installed)."""
    hints = Hints()

    def add(lst: list[str], items: list[str]) -> None:
        for item in items:
            if item and item not in lst:
                lst.append(item)

    for header in _HEADER.findall(log):
        add(hints.system_packages, HEADER_PACKAGES.get(header, []))
    for m in _TOOL.finditer(log):
        tool = m.group(1) or m.group(2)
        add(hints.system_packages, HEADER_PACKAGES.get(tool, []))
    in_build = bool(_BUILD_PHASE.search(log))
    for mod in _NO_MODULE.findall(log):
        top = mod.split(".")[0]
        if top in own_packages or (top.startswith("_") and top != "_pytest"):
            continue
        dist = dist_for_import(mod)
        if in_build and "error: subprocess-exited-with-error" in log:
            add(hints.build_modules, [dist])
        else:
            add(hints.pip_packages, [dist])
    for fixture in _FIXTURE.findall(log):
        add(hints.pip_packages, [FIXTURE_PLUGINS.get(fixture, "")])
    for opts in _OPTION.findall(log):
        for opt in opts.split():
            key = opt.split("=")[0]
            add(
                hints.pip_packages,
                [v for k, v in OPTION_PLUGINS.items() if key == k or key.startswith(k + "-")],
            )
    for marker in _MARKER.findall(log):
        add(hints.pip_packages, [MARKER_PLUGINS.get(marker, "")])
    if _ASYNC_UNSUPPORTED.search(log):
        add(hints.pip_packages, ["pytest-asyncio"])
    hints.python_mismatch = bool(_PY_MISMATCH.search(log))
    hints.older_pytest = bool(_OLD_PYTEST.search(log))
    return hints
