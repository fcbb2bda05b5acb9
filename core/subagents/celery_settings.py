"""The Celery side of ``[subagents]``: broker and result-backend URLs, queues, limits.

Credentials come only from the environment: ``CONTROLROOM_BROKER_URL`` /
``CONTROLROOM_RESULT_BACKEND`` (whole URLs, which may carry a password) or
``CONTROLROOM_BROKER_PASSWORD`` (the password alone, added to a configured URL that has none).
A password written into ``broker_url`` or ``result_backend`` of a config file is refused: config
files are read, copied and shown; the environment is not. Every URL shown to a human or written
to a log goes through :func:`masked`.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controlroom.core.config import Config
from controlroom.core.errors import ConfigError

BROKER_ENV = "CONTROLROOM_BROKER_URL"
BACKEND_ENV = "CONTROLROOM_RESULT_BACKEND"
PASSWORD_ENV = "CONTROLROOM_BROKER_PASSWORD"
TASK_NAME = "controlroom.unit"
BACKENDS = ("local", "store", "celery")


def masked(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe to print and log)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def _with_password(url: str, password: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if not password or parts.password is not None or not parts.hostname:
        return url
    user = urllib.parse.quote(parts.username or "", safe="")
    secret = urllib.parse.quote(password, safe="")
    port = f":{parts.port}" if parts.port else ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{secret}@{parts.hostname}{port}"))


def _no_password(key: str, url: str) -> str:
    try:
        has = urllib.parse.urlsplit(url).password is not None
    except ValueError as exc:
        raise ConfigError(f"[subagents] {key}: not a URL ({exc})") from None
    if has:
        raise ConfigError(
            f"[subagents] {key} carries a password: put the URL in {BROKER_ENV} /"
            f" {BACKEND_ENV}, or the password in {PASSWORD_ENV} (never in a config file)"
        )
    return url


@dataclass(frozen=True, slots=True)
class CelerySettings:
    """What the coordinator and a Celery worker need. ``broker_url`` may hold a password taken
    from the environment: never print it, use :func:`masked`."""

    broker_url: str = "redis://127.0.0.1:6379/0"
    result_backend: str = ""
    queue_prefix: str = "controlroom."
    unit_time_limit: float = 600.0
    visibility_timeout: float = 900.0
    liveness_timeout: float = 1.0
    liveness_ttl: float = 5.0
    connect_timeout: float = 2.0
    remote: str = ""
    cache_dir: str = ""

    @classmethod
    def from_config(
        cls, config: Any | None, env: Mapping[str, str] | None = None
    ) -> CelerySettings:
        table = config.section("subagents") if config is not None else {}
        source = os.environ if env is None else env
        base = cls()
        broker = _no_password("broker_url", str(table.get("broker_url", base.broker_url)))
        backend = _no_password("result_backend", str(table.get("result_backend", "")))
        password = source.get(PASSWORD_ENV, "")
        broker = source.get(BROKER_ENV) or _with_password(broker, password)
        backend = source.get(BACKEND_ENV) or (
            _with_password(backend, password) if backend else broker
        )
        settings = cls(
            broker_url=broker,
            result_backend=backend,
            queue_prefix=str(table.get("queue_prefix", base.queue_prefix)),
            unit_time_limit=float(table.get("unit_time_limit", base.unit_time_limit)),
            visibility_timeout=float(table.get("visibility_timeout", base.visibility_timeout)),
            liveness_timeout=float(table.get("liveness_timeout", base.liveness_timeout)),
            liveness_ttl=float(table.get("liveness_ttl", base.liveness_ttl)),
            connect_timeout=float(table.get("connect_timeout", base.connect_timeout)),
            remote=str(table.get("remote", base.remote)),
            cache_dir=str(table.get("cache_dir", base.cache_dir)),
        )
        if settings.visibility_timeout <= settings.unit_time_limit:
            raise ConfigError(
                f"[subagents] visibility_timeout ({settings.visibility_timeout:g} s) must be"
                f" longer than unit_time_limit ({settings.unit_time_limit:g} s), or Redis hands"
                " a unit that is still running to a second worker"
            )
        return settings

    def queue(self, capability: str) -> str:
        """The queue of one capability: ``controlroom.critic``, ``controlroom.hobby``, ..."""
        return f"{self.queue_prefix}{capability}"

    @property
    def shown_broker(self) -> str:
        return masked(self.broker_url)

    @property
    def shown_backend(self) -> str:
        return masked(self.result_backend or self.broker_url)


def backend_of(config: Any | None) -> str:
    """``[subagents] backend``: "local", "store" (the default) or "celery"."""
    value = str((config if config is not None else Config({})).get("subagents.backend"))
    if value not in BACKENDS:
        raise ConfigError(
            f"[subagents] backend must be one of {', '.join(BACKENDS)}, not {value!r}"
        )
    return value
