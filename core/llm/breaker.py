"""A circuit breaker: after N consecutive failures the LLM path is off for a cool-down."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed: calls go through. Open: none do until ``cooldown`` has passed; then one trial call
    (half-open) decides: success closes the circuit, failure opens it again."""

    def __init__(
        self, threshold: int = 5, cooldown: float = 300.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.last_error: str | None = None
        self.trial_in_flight = False

    @property
    def state(self) -> CircuitState:
        if self.opened_at is None:
            return CircuitState.CLOSED
        if self.clock() - self.opened_at >= self.cooldown:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    @property
    def reopens_at(self) -> float | None:
        return None if self.opened_at is None else self.opened_at + self.cooldown

    def available(self) -> bool:
        """Whether a call may be attempted now (does not claim the half-open trial)."""
        state = self.state
        return state is CircuitState.CLOSED or (
            state is CircuitState.HALF_OPEN and not self.trial_in_flight
        )

    def acquire(self) -> bool:
        """Claim permission for one call: always when closed, once when half-open."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and not self.trial_in_flight:
            self.trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_in_flight = False

    def record_failure(self, error: str = "") -> bool:
        """Count a failure; True when this failure opened (or re-opened) the circuit."""
        self.last_error = error or self.last_error
        was_trial = self.trial_in_flight
        self.trial_in_flight = False
        self.failures += 1
        if was_trial or self.failures >= self.threshold:
            already_open = self.opened_at is not None and not was_trial
            self.opened_at = self.clock()
            return not already_open
        return False
