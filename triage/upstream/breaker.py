"""Circuit breakers per (provider, model), and provider health.

- ``failure_threshold`` consecutive retryable failures, or one 429 / overloaded answer, open
  the circuit for a cooldown (``Retry-After`` when the provider sent one, else an exponential
  cooldown from ``base_cooldown`` up to ``max_cooldown``). Routing skips open models.
- After the cooldown the circuit is half-open: the next real request is let through as a
  probe; success closes it, failure opens it again with a longer cooldown.
- A provider that rejects the gateway's key (401/403) is marked misconfigured: its models
  are skipped for ``auth_cooldown`` and ``/health`` says why; it is not retried per request.

State lives in one ``Breakers`` object per gateway process, owned by ``Gateway``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from triage.providers.base import ErrorClass


@dataclass(slots=True)
class _Circuit:
    failures: int = 0
    open_until: float = 0.0
    opened: int = 0  # how many times in a row it opened (for backoff)
    last_error: str | None = None


class Breakers:
    def __init__(
        self,
        failure_threshold: int = 3,
        base_cooldown: float = 5.0,
        max_cooldown: float = 120.0,
        auth_cooldown: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.base_cooldown = base_cooldown
        self.max_cooldown = max_cooldown
        self.auth_cooldown = auth_cooldown
        self._clock = clock
        self._circuits: dict[tuple[str, str], _Circuit] = {}
        self._misconfigured: dict[str, tuple[float, str]] = {}

    def is_open(self, provider: str, model: str) -> bool:
        now = self._clock()
        bad = self._misconfigured.get(provider)
        if bad is not None and bad[0] > now:
            return True
        c = self._circuits.get((provider, model))
        return c is not None and c.open_until > now

    def open_models(self, pairs: list[tuple[str, str]]) -> frozenset[str]:
        return frozenset(m for p, m in pairs if self.is_open(p, m))

    def success(self, provider: str, model: str) -> None:
        c = self._circuits.get((provider, model))
        if c is not None:
            c.failures, c.opened, c.open_until = 0, 0, 0.0
        self._misconfigured.pop(provider, None)

    def failure(self, provider: str, model: str, error_class: ErrorClass, retry_after: float | None = None) -> None:
        now = self._clock()
        if error_class is ErrorClass.AUTH:
            self._misconfigured[provider] = (now + self.auth_cooldown, "the provider rejected the gateway's key")
            return
        if not error_class.retryable:
            return  # the caller's error says nothing about the model's health
        c = self._circuits.setdefault((provider, model), _Circuit())
        c.failures += 1
        c.last_error = error_class.value
        immediate = error_class in (ErrorClass.RATE_LIMITED, ErrorClass.OVERLOADED)
        if immediate or c.failures >= self.failure_threshold:
            cooldown = retry_after if retry_after is not None else min(self.max_cooldown, self.base_cooldown * (2**c.opened))
            c.open_until = now + cooldown
            c.opened += 1
            c.failures = 0

    def snapshot(self) -> dict[str, Any]:
        now = self._clock()
        circuits = {
            f"{p}/{m}": {"state": "open" if c.open_until > now else ("half_open" if c.opened else "closed"),
                         "retry_in_s": round(max(0.0, c.open_until - now), 1), "last_error": c.last_error}
            for (p, m), c in self._circuits.items() if c.opened or c.failures
        }  # fmt: skip
        providers = {p: {"state": "misconfigured", "reason": why, "retry_in_s": round(until - now, 1)} for p, (until, why) in self._misconfigured.items() if until > now}
        return {"circuits": circuits, "providers": providers}
