"""A real Celery worker in its own process, on a Redis of its own (so restarts are safe)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from forager.config import Settings

# How soon Redis hands an unacknowledged message to another worker. Short only where a test
# kills a worker on purpose: a task running longer than this is delivered twice (harmless,
# every stage is idempotent, but slow), so the other tests keep the production default.
FAST_REDELIVERY_S = 12
DEFAULT_VISIBILITY_S = 3600


class RedisServer:
    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir, self.port = workdir, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is not installed: run scripts/services.sh", pytrace=False)
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        pytest.fail(f"redis-server on port {self.port} did not start", pytrace=False)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)  # a clean shutdown: the append-only file is kept
            self.proc.wait(timeout=30)
            self.proc = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    # A free port per test: a server left over by an interrupted run must never be reused.
    server = RedisServer(tmp_path, _free_port())
    server.start()
    yield server
    server.stop()


class Worker:
    def __init__(
        self, settings: Settings, redis_url: str, name: str, visibility_s: int = DEFAULT_VISIBILITY_S
    ) -> None:
        self.settings, self.redis_url, self.name = settings, redis_url, name
        self.visibility_s = visibility_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = settings.data_dir / f"worker-{name}.log"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "FORAGER_DATABASE_URL": self.settings.db_url,
            "FORAGER_REDIS_URL": self.redis_url,
            "FORAGER_DATA_DIR": str(self.settings.data_dir),
            "FORAGER_INSTANCE": self.settings.instance,
            "FORAGER_CA_CERTS": ":".join(str(p) for p in self.settings.ca_certs),
            "FORAGER_BROKER_VISIBILITY_S": str(self.visibility_s),
            "FORAGER_TEST_RUNS": "1",
        }

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.app",
            "worker",
            "-Q",
            "build,tasks,episodes",
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "-n",
            f"{self.name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ]
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                cmd, env=self.env(), stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once (a crashed machine)."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@pytest.fixture
def worker_factory(settings: Settings) -> Iterator[list[Worker]]:
    workers: list[Worker] = []
    yield workers
    for w in workers:
        w.stop()
