"""What a check run produces, and what every check kind receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATUSES = ("ok", "violated", "error", "timeout", "overran")


class CheckFailed(Exception):
    """The check could not measure (no file, refused connection, bad query): status "error"."""


@dataclass(frozen=True)
class Outcome:
    """A check kind's verdict: met or not, the measured value and a one-line explanation."""

    ok: bool
    value: float | None
    message: str


@dataclass(frozen=True)
class CheckResult:
    check_name: str
    at: float
    status: str
    value: float | None
    threshold: float | None
    duration_s: float
    message: str
    in_maintenance: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def is_measurement(self) -> bool:
        """False for "overran" (the previous run was still going): not a sample."""
        return self.status != "overran"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckContext:
    base_dir: Path
    clock: Callable[[], float]
    store: Any = None  # core.store.Store, for heartbeat pings

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate
