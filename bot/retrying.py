"""The one retry policy of calls to arXiv and the LLM, on tenacity.

An attempt worth repeating raises Retryable (HTTP 429 or 5xx, a transport error, an unusable answer), carrying
the server's Retry-After when it sent one. The pause before the next attempt is that Retry-After (capped at
RETRY_AFTER_MAX_SECONDS), else base, 2·base, 4·base, ... (capped at BACKOFF_MAX_SECONDS). Any other exception
ends the attempts at once. The sleep is passed in, so tests record the pauses instead of waiting them.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

RETRY_AFTER_MAX_SECONDS = 300.0
BACKOFF_MAX_SECONDS = 30.0

Sleep = Callable[[float], Awaitable[None]]


class Retryable(Exception):
    """A failed attempt worth another one: why, and the server's Retry-After in seconds when it sent one."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds (capped), or None when absent or not a number of seconds."""
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, RETRY_AFTER_MAX_SECONDS)


@dataclass(frozen=True)
class RetryPolicy:
    """How often to try and how long to pause between tries."""

    max_attempts: int
    base: float

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to pause after failed attempt number `attempt`: the server's Retry-After, else the backoff."""
        if retry_after is not None:
            return retry_after
        return float(min(self.base * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS))

    def retrying(self, sleep: Sleep) -> AsyncRetrying:
        """Tenacity's loop for one call: `async for attempt in policy.retrying(sleep): with attempt: ...`.

        Retryable failures are tried again until max_attempts; the last failure, or any other exception, is
        raised as it is.
        """
        return AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(Retryable),
            sleep=sleep,
            reraise=True,
        )

    def _wait(self, state: RetryCallState) -> float:
        """Tenacity's wait: the pause after the attempt that just failed."""
        failure = state.outcome.exception() if state.outcome is not None else None
        return self.delay(state.attempt_number, failure.retry_after if isinstance(failure, Retryable) else None)
