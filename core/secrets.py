"""Secrets in the environment: which variables hold them, an environment without them for child
processes, and :func:`redact` for every message controlroom stores or sends.

A variable is secret when its name is ``ANTHROPIC_API_KEY`` or ``ANTHROPIC_AUTH_TOKEN``, ends in
``_TOKEN``, ``_SECRET``, ``_PASSWORD``, ``_PASSWD``, ``_KEY`` or ``_CREDENTIALS``, or is listed in
``[security] secret_env``. Children also lose ``SSH_AUTH_SOCK`` (a key agent is a credential too).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET_LEN = 8  # shorter values ("1", "true") would redact ordinary words
BUILTIN_SECRET_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    # Broker and result-backend URLs may carry a password (docs/distributed.md).
    "CONTROLROOM_BROKER_URL",
    "CONTROLROOM_RESULT_BACKEND",
)
NOT_FOR_CHILDREN = ("SSH_AUTH_SOCK",)
_SECRET_NAME = re.compile(r"(?:_|^)(?:TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIALS)$", re.I)
# Anthropic keys also when they arrive some other way than through the environment.
_KEY_SHAPE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}")

_configured: set[str] = set()


def configure(config: Any) -> None:
    """Add the names in ``[security] secret_env`` (idempotent; names are never removed)."""
    names = config.get("security.secret_env") if config is not None else None
    _configured.update(str(n) for n in names or [])


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return upper in BUILTIN_SECRET_ENV or upper in _configured or bool(_SECRET_NAME.search(upper))


def secret_names(env: Mapping[str, str] | None = None) -> list[str]:
    """The secret variables present in ``env`` (default: this process's environment)."""
    source = os.environ if env is None else env
    return sorted(name for name in source if is_secret_name(name))


def child_env(
    extra: Mapping[str, str] | None = None, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``base`` (default ``os.environ``) without secrets and ``SSH_AUTH_SOCK``, plus ``extra``."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not is_secret_name(k) and k not in NOT_FOR_CHILDREN}
    env.update(extra or {})
    return env


def hidden_from_children(env: Mapping[str, str] | None = None) -> list[str]:
    """The names :func:`child_env` leaves out of ``env`` (default: this process's environment)."""
    source = os.environ if env is None else env
    return sorted(k for k in source if is_secret_name(k) or k in NOT_FOR_CHILDREN)


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of the secret variables (long enough to be recognisable), longest first."""
    source = os.environ if env is None else env
    values = {v for k, v in source.items() if is_secret_name(k) and len(v) >= MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


def redact(text: str | None, *, extra: Iterable[str] = ()) -> str | None:
    """``text`` with every secret value of the environment (and of ``extra``) replaced."""
    if not text:
        return text
    return _redacted(text, [*secret_values(), *(v for v in extra if len(v) >= MIN_SECRET_LEN)])


def _redacted(text: str, values: list[str]) -> str:
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    return _KEY_SHAPE.sub(REDACTED, text)


def redact_data(data: Any, values: list[str] | None = None) -> Any:
    """Every string inside a JSON-like value (dicts, lists, tuples) redacted; a new value. The
    environment's secrets are read once for the whole value (a report holds thousands of strings)."""
    if values is None:
        values = secret_values()
    if isinstance(data, str):
        return _redacted(data, values) if data else data
    if isinstance(data, dict):
        return {k: redact_data(v, values) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(v, values) for v in data]
    return data
