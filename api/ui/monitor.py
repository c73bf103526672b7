"""Queue depths and live workers, checked by a background thread and served from memory.

Asking Celery which workers are alive is a broadcast that waits for replies (about a
second): far too slow for a page's data request. One thread per API process asks every few
seconds, from the first time the dashboard wants to know until the app stops.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog
from celery import Celery

from api.ui.schemas import QueueState, WorkerInfo
from forager.config import Settings
from forager.store.models import utcnow
from workers.dispatch import BrokerUnavailableError, queue_depths

log = structlog.get_logger("forager.api")


class WorkerMonitor:
    def __init__(self, settings: Settings, every_s: float, reply_timeout_s: float = 1.0) -> None:
        self.settings, self.every_s, self.reply_timeout_s = settings, every_s, reply_timeout_s
        self._state = QueueState(checked_at=None, broker_up=None)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._celery: Celery | None = None

    def state(self) -> QueueState:
        """The last state seen; starts the checking thread on first use."""
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="forager-ui-monitor", daemon=True)
                self._thread.start()
            return self._state

    def check(self) -> QueueState:
        """One check now (blocking for up to the reply timeout)."""
        try:
            depths = queue_depths(self.settings)
        except BrokerUnavailableError as exc:
            return QueueState(checked_at=utcnow(), broker_up=False, error=str(exc))
        try:
            workers = self._workers()
        except Exception as exc:  # the broker answered LLEN but not the broadcast
            return QueueState(checked_at=utcnow(), broker_up=True, depths=depths, error=repr(exc))
        return QueueState(checked_at=utcnow(), broker_up=True, depths=depths, workers=workers)

    def _workers(self) -> list[WorkerInfo]:
        if self._celery is None:
            # A bare app on the settings' broker: control messages need no task registry.
            self._celery = Celery("forager-ui", broker=self.settings.redis_url)
        # A connection of its own, closed after the check: a pooled one would be kept with the
        # reply queue's BRPOP still outstanding, and a process forked later (a DataLoader, an
        # export worker) would hang in kombu's after-fork cleanup reading that reply.
        with self._celery.connection_for_write() as conn:
            inspect = self._celery.control.inspect(timeout=self.reply_timeout_s, connection=conn)
            queues: dict[str, list[dict[str, Any]]] = inspect.active_queues() or {}
            active: dict[str, list[Any]] = inspect.active() or {}
        names = sorted(set(queues) | set(active))
        return [
            WorkerInfo(
                name=n,
                queues=sorted(str(q.get("name")) for q in queues.get(n, [])),
                active=len(active.get(n, [])),
            )
            for n in names
        ]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                state = self.check()
            except Exception as exc:  # never let the thread die: report and retry
                log.warning("ui.monitor_failed", error=repr(exc))
                state = QueueState(checked_at=utcnow(), broker_up=None, error=repr(exc))
            with self._lock:
                self._state = state
            self._stop.wait(self.every_s)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)
        if self._celery is not None:
            self._celery.close()
