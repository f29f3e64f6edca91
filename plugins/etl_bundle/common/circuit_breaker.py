"""A circuit breaker's rules, pure: the state lives wherever the caller keeps it.

Closed: calls pass and consecutive failures are counted; a success resets the count.
Open: after ``max_failures`` consecutive failures nothing passes until
``reset_seconds`` have gone by since it opened. Half-open: then calls pass again; a
success closes it, a failure opens it again for another ``reset_seconds``.
The clock is the caller's (``now``), so tests and several workers agree on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class BreakerPhase(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerState:
    failures: int = 0
    opened_at: datetime | None = None


@dataclass(frozen=True)
class CircuitBreaker:
    max_failures: int = 5
    reset_seconds: int = 300

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.reset_seconds < 0:
            raise ValueError(f"max_failures must be >= 1 and reset_seconds >= 0, got {self}")

    def phase(self, state: BreakerState, now: datetime) -> BreakerPhase:
        if state.opened_at is None:
            return BreakerPhase.CLOSED
        if now - state.opened_at >= timedelta(seconds=self.reset_seconds):
            return BreakerPhase.HALF_OPEN
        return BreakerPhase.OPEN

    def allows(self, state: BreakerState, now: datetime) -> bool:
        return self.phase(state, now) is not BreakerPhase.OPEN

    def after_failure(self, state: BreakerState, now: datetime) -> BreakerState:
        failures = state.failures + 1
        if self.phase(state, now) is BreakerPhase.HALF_OPEN or failures >= self.max_failures:
            return BreakerState(failures=failures, opened_at=now)
        return BreakerState(failures=failures, opened_at=state.opened_at)

    def after_success(self, state: BreakerState) -> BreakerState:
        return BreakerState()

    def describe(self, state: BreakerState, now: datetime) -> str:
        if state.opened_at is None:
            return f"circuit breaker closed ({state.failures} consecutive failures)"
        reopens = state.opened_at + timedelta(seconds=self.reset_seconds)
        return (
            f"circuit breaker open since {state.opened_at.isoformat()} after {state.failures} consecutive failures "
            f"(max {self.max_failures}); views run again from {reopens.isoformat()}"
        )
