"""A warm pool: sandboxes started ahead of time, per image, so an episode starts at once.

Creating and starting a container costs a few hundred milliseconds in the engine; taking a
started one from the pool costs a ping and a rename. Each acquisition triggers a refill in
background threads. Pooled containers carry the label `forager.episode=pool-...` (labels
cannot change after creation); the container is renamed after the episode it serves.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait

import docker
import requests

from forager.dockerhost import get_docker
from forager.sandbox.config import SandboxConfig
from forager.sandbox.errors import SandboxError
from forager.sandbox.lifecycle import container_name, start_sandbox
from forager.sandbox.session import Sandbox

log = logging.getLogger(__name__)


class SandboxPool:
    """Keeps up to `size` started sandboxes ready per image. Thread-safe."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        size: int = 2,
        client: docker.DockerClient | None = None,
        max_idle_s: float = 1800.0,
        workers: int = 2,
        rename: bool = True,
    ) -> None:
        self.config = config or SandboxConfig()
        self.size = size
        self.client = client or get_docker()
        self.max_idle_s = max_idle_s
        self.rename = rename
        self._ready: dict[str, deque[tuple[float, Sandbox]]] = {}
        self._inflight: dict[str, set[Future[None]]] = {}
        self._lock = threading.RLock()  # a done callback may run inside _refill
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-pool")
        self.last_error: str | None = None

    def warm(self, image: str, wait_s: float | None = 120.0) -> int:
        """Start what is missing for `image`; wait up to `wait_s` for it. Returns ready count."""
        self._refill(image)
        with self._lock:
            futures = set(self._inflight.get(image, ()))
        if wait_s and futures:
            wait(futures, timeout=wait_s)
        return self.ready_count(image)

    def ready_count(self, image: str) -> int:
        with self._lock:
            return len(self._ready.get(image, ()))

    def acquire(self, image: str, episode_id: str) -> Sandbox:
        """A started, answering sandbox for the episode: a pooled one if any, else a new one."""
        while True:
            with self._lock:
                queue = self._ready.get(image)
                item = queue.popleft() if queue else None
            if item is None:
                break
            born, sandbox = item
            if time.monotonic() - born > self.max_idle_s or not sandbox.alive():
                sandbox.close()  # stale or dead while waiting: never hand it out
                continue
            self._assign(sandbox, episode_id)
            self._refill(image)
            return sandbox
        self._refill(image)  # an image asked for once is likely asked for again
        return start_sandbox(image, self.config, episode_id, self.client)

    def close(self) -> None:
        """Stop refilling and remove every sandbox still waiting in the pool."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            idle = [sb for queue in self._ready.values() for _, sb in queue]
            self._ready.clear()
        for sandbox in idle:
            sandbox.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _assign(self, sandbox: Sandbox, episode_id: str) -> None:
        sandbox.episode_id = episode_id
        if self.rename:
            # Operators find an episode's container by name; a failed rename is harmless.
            try:
                sandbox.container.rename(container_name(episode_id))
            except (docker.errors.APIError, requests.RequestException) as exc:
                log.warning("cannot rename sandbox %s: %s", sandbox.container.name, exc)

    def _refill(self, image: str) -> None:
        with self._lock:
            if self._closed:
                return
            inflight = self._inflight.setdefault(image, set())
            for _ in range(self.size - len(self._ready.get(image, ())) - len(inflight)):
                future = self._executor.submit(self._start_one, image)
                inflight.add(future)
                future.add_done_callback(functools.partial(self._forget, image))

    def _forget(self, image: str, future: Future[None]) -> None:
        with self._lock:
            self._inflight.get(image, set()).discard(future)

    def _start_one(self, image: str) -> None:
        sandbox: Sandbox | None = None
        try:
            sandbox = start_sandbox(image, self.config, f"pool-{uuid.uuid4().hex[:10]}", self.client)
        except SandboxError as exc:
            self.last_error = str(exc)
            log.warning("warm pool could not start a sandbox from %s: %s", image, exc)
        with self._lock:
            if sandbox is not None and not self._closed:
                self._ready.setdefault(image, deque()).append((time.monotonic(), sandbox))
                sandbox = None
        if sandbox is not None:
            sandbox.close()  # the pool closed while it started
