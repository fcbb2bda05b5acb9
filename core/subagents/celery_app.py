"""The Celery application both sides share, and the blocking calls the coordinator makes on it.

Semantics (docs/distributed.md): JSON only (no pickle), late acknowledgement with re-delivery of
a unit whose worker died (``task_acks_late`` + ``task_reject_on_worker_lost``, and Redis's
``visibility_timeout`` for a worker lost with its machine), fair dispatch (prefetch 1), a hard
time limit per unit, one queue per capability. Every function here blocks: the coordinator calls
them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

from controlroom.core.subagents.celery_settings import CelerySettings

READY = frozenset({"SUCCESS", "FAILURE", "REVOKED"})


def make_app(settings: CelerySettings, *, name: str = "controlroom") -> Any:
    """A configured ``celery.Celery`` (not the process's "current" app)."""
    from celery import Celery

    connect = settings.connect_timeout
    restore = max(1.0, min(10.0, settings.visibility_timeout / 10))
    app = Celery(
        name,
        broker=settings.broker_url,
        backend=settings.result_backend or settings.broker_url,
        set_as_current=False,
    )
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        event_serializer="json",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.unit_time_limit,
        task_track_started=True,
        result_extended=True,
        result_expires=24 * 3600,
        task_default_queue=settings.queue("default"),
        task_create_missing_queues=True,
        worker_send_task_events=False,  # inspect answers what the pane shows; no event stream
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_timeout=connect,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=3,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "socket_connect_timeout": connect,
            "unacked_restore_interval": restore,
            "unacked_restore_throttle": 1,
        },
        redis_socket_connect_timeout=connect,
        redis_socket_timeout=max(connect, 10.0),
        redis_retry_on_timeout=False,
        result_backend_transport_options={"retry_policy": {"timeout": connect}},
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
    )
    return app


def broker_problem(app: Any, timeout: float) -> str | None:
    """None when the broker answers within ``timeout`` seconds, else why not (one line)."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            conn.default_channel  # noqa: B018 - opens the channel: a refused password fails here
    except Exception as exc:  # kombu raises OperationalError, redis its own, OSError...
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()
    return None


@dataclass(slots=True)
class CeleryWorker:
    """One Celery worker as its own inspection shows it."""

    name: str
    host: str
    queues: list[str] = field(default_factory=list)
    active: int | None = None  # None: not asked (``with_active=False``)
    processed: int = 0
    concurrency: int | None = None
    pid: int | None = None


def inspect_workers(
    app: Any, timeout: float, *, with_active: bool = False
) -> dict[str, CeleryWorker]:
    """Every worker that answers within ``timeout``: its queues, processed count, pool size,
    and (``with_active``: one more broadcast) the units it runs now.

    ``active_queues`` waits the whole ``timeout`` (a worker that does not answer is not live);
    the next questions go only to the workers that answered and stop when each has replied.
    An empty answer is asked once more, so "nobody" costs at most two timeouts."""
    queues = app.control.inspect(timeout=timeout).active_queues() or {}
    if not queues:  # a fresh connection may miss the replies to its first broadcast: ask again
        queues = app.control.inspect(timeout=timeout).active_queues() or {}
    found: dict[str, CeleryWorker] = {}
    for name, entries in queues.items():
        host = name.split("@", 1)[1] if "@" in name else socket.gethostname()
        found[name] = CeleryWorker(name, host, sorted(q["name"] for q in entries or []))
    if not found:
        return found
    stats = _ask(app, "stats", list(found), timeout)
    active = _ask(app, "active", list(found), timeout) if with_active else {}
    for name, worker in found.items():
        info = stats.get(name) or {}
        worker.processed = sum((info.get("total") or {}).values())
        worker.concurrency = (info.get("pool") or {}).get("max-concurrency")
        worker.pid = info.get("pid")
        if with_active:
            worker.active = len(active.get(name) or [])
    return found


def _ask(app: Any, method: str, names: list[str], timeout: float) -> dict[str, Any]:
    """``inspect().METHOD()`` of the workers ``names``, returning once each has answered; the
    ones that did not are asked once more."""
    answers: dict[str, Any] = {}
    for _ in range(2):
        missing = [name for name in names if name not in answers]
        if not missing:
            break
        inspector = app.control.inspect(timeout=timeout, destination=missing, limit=len(missing))
        answers.update(getattr(inspector, method)() or {})
    return answers


def live_queues(app: Any, timeout: float) -> dict[str, set[str]]:
    """queue -> the workers that consume it and answered an ``active_queues`` within ``timeout``."""
    replies = app.control.inspect(timeout=timeout).active_queues() or {}
    if not replies:  # as in inspect_workers: the first broadcast of a connection may go unanswered
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    consumers: dict[str, set[str]] = {}
    for worker, entries in replies.items():
        for entry in entries or []:
            consumers.setdefault(entry["name"], set()).add(worker)
    return consumers


def result_metas(app: Any, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored meta of each of ``task_ids`` that has one: STARTED (with the worker), or
    finished (SUCCESS, FAILURE, REVOKED). One round trip on Redis."""
    backend = app.backend
    metas: dict[str, dict[str, Any]] = {}
    if hasattr(backend, "mget") and hasattr(backend, "get_key_for_task"):
        keys = [backend.get_key_for_task(task_id) for task_id in task_ids]
        for task_id, raw in zip(task_ids, backend.mget(keys), strict=True):
            if raw:
                metas[task_id] = backend.decode_result(raw)
        return metas
    for task_id in task_ids:
        meta = backend.get_task_meta(task_id)
        if meta.get("status") != "PENDING":
            metas[task_id] = meta
    return metas


def forget(app: Any, task_ids: list[str]) -> None:
    """Delete the stored results of ``task_ids`` (taken already): Redis keeps no copy for a day."""
    backend = app.backend
    if hasattr(backend, "client") and hasattr(backend, "get_key_for_task"):
        backend.client.delete(*[backend.get_key_for_task(task_id) for task_id in task_ids])
        return
    for task_id in task_ids:
        backend.forget(task_id)


def task_meta(app: Any, task_id: str) -> dict[str, Any]:
    """The stored meta of one task, whatever its state (PENDING when nothing is stored)."""
    meta: dict[str, Any] = app.backend.get_task_meta(task_id)
    return meta
