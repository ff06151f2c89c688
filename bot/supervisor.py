"""Keep the long-running parts alive: restart them with capped backoff, log one line per change of state.

RedisWatch      the process's view of Redis: one line when it stops answering, one when it is back
Component       one part's state (failing or working), for loops and periodic ticks alike
Supervisor      runs a loop until stop, starting it again after a failure (backoff 1 s doubling, capped)

A Redis outage is retried in one place, the watch's probe; the parts it stopped wait for Redis to be back
and then start again, so an outage of any length costs two log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bot.errors import DigestError
from bot.store import is_outage

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 30.0
PROBE_FIRST_SECONDS = 0.5  # Redis is pinged after this, then at doubling intervals up to PROBE_MAX_SECONDS
PROBE_MAX_SECONDS = 5.0
Probe = Callable[[], Awaitable[None]]
Work = Callable[[], Awaitable[None]]


class RedisWatch:
    """Whether Redis answers, as this process sees it; components report outages here and wait for its return."""

    def __init__(
        self,
        ping: Probe,
        *,
        describe: Callable[[BaseException], str] = str,
        revive: Probe | None = None,
        probe_max: float = PROBE_MAX_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ping = ping
        self._describe = describe
        self._revive = revive
        self._probe_max = probe_max
        self._clock = clock
        self._down_since: float | None = None
        self._probe: asyncio.Task[None] | None = None
        self.up = asyncio.Event()
        self.up.set()

    @property
    def available(self) -> bool:
        """False from the first reported failure until a probe reaches Redis again."""
        return self.up.is_set()

    def lost(self, exc: BaseException) -> None:
        """Note that Redis could not be reached; the first notice of an outage logs it and starts probing."""
        if self._down_since is not None:
            return
        self._down_since = self._clock()
        self.up.clear()
        log.warning("redis unreachable: %s; retrying until it is back", self._describe(exc))
        self._probe = asyncio.create_task(self._until_back(), name="redis-probe")

    async def _until_back(self) -> None:
        """Ping with a capped backoff (starting the bot's own server again if one is configured) until Redis answers."""
        wait = PROBE_FIRST_SECONDS
        while True:
            await asyncio.sleep(wait)
            wait = min(self._probe_max, wait * 2)
            try:
                await self._ping()
                break
            except Exception:
                if self._revive is not None:
                    with contextlib.suppress(Exception):
                        await self._revive()
        down_for = self._clock() - (self._down_since or self._clock())
        log.warning("redis back after %.0f s", down_for)
        self._down_since = None
        self.up.set()

    async def close(self) -> None:
        """Stop probing."""
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe


class Component:
    """One supervised part: logs when it starts failing and when it works again, and says how long to back off."""

    def __init__(
        self,
        name: str,
        watch: RedisWatch | None = None,
        *,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._watch = watch
        self._max_backoff = max_backoff
        self._clock = clock
        self._failing_since: float | None = None
        self.failures = 0

    @property
    def healthy(self) -> bool:
        """False while the part fails for a reason other than a Redis outage."""
        return self._failing_since is None

    def failed(self, exc: BaseException) -> float:
        """Record a failure (logged once per outage or once per failing spell); returns the seconds to back off."""
        self.failures += 1
        if is_outage(exc) and self._watch is not None:
            self._watch.lost(exc)
        elif self._failing_since is None:
            self._failing_since = self._clock()
            if isinstance(exc, DigestError):
                log.error("%s failed: %s; retrying with backoff", self.name, exc)
            else:
                log.error("%s failed; retrying with backoff", self.name, exc_info=exc)
        return min(self._max_backoff, 2.0 ** (self.failures - 1))

    def succeeded(self) -> None:
        """Record that the part works (again)."""
        if self._failing_since is not None:
            log.warning("%s works again after %.0f s", self.name, self._clock() - self._failing_since)
        self._failing_since = None
        self.failures = 0


class Supervisor:
    """Runs the process's long-lived loops; a loop that raises is started again after a capped backoff."""

    def __init__(self, watch: RedisWatch | None = None, *, max_backoff: float = MAX_BACKOFF_SECONDS) -> None:
        self.watch = watch
        self._max_backoff = max_backoff
        self._tasks: list[asyncio.Task[None]] = []

    def component(self, name: str) -> Component:
        """A state tracker for a part this process runs (a periodic tick reports to it itself)."""
        return Component(name, self.watch, max_backoff=self._max_backoff)

    async def keep_running(self, name: str, work: Work, stop: asyncio.Event) -> None:
        """Run `work` until `stop` is set, starting it again after a backoff whenever it raises or returns early."""
        part = self.component(name)
        while not stop.is_set():
            started = time.monotonic()
            try:
                await work()
                if stop.is_set():
                    return
                raise RuntimeError(f"{name} ended on its own")
            except Exception as exc:
                if time.monotonic() - started > self._max_backoff:
                    part.succeeded()  # it worked for a while: this is a new failing spell
                delay = part.failed(exc)
                await self._pause(delay, stop, wait_for_redis=is_outage(exc))

    def spawn(self, name: str, work: Work, stop: asyncio.Event) -> asyncio.Task[None]:
        """Run `keep_running` as a task; `stopped()` waits for every spawned task."""
        task = asyncio.create_task(self.keep_running(name, work, stop), name=name)
        self._tasks.append(task)
        return task

    async def stopped(self) -> None:
        """Wait until every spawned loop has returned (they return once `stop` is set)."""
        await asyncio.gather(*self._tasks)

    async def _pause(self, delay: float, stop: asyncio.Event, *, wait_for_redis: bool) -> None:
        """Wait `delay` seconds, or after a Redis outage until Redis is back; less if `stop` is set."""
        waits = [asyncio.create_task(stop.wait())]
        if wait_for_redis and self.watch is not None:
            waits.append(asyncio.create_task(self.watch.up.wait()))
            delay = float("inf")
        try:
            await asyncio.wait(
                waits, timeout=None if delay == float("inf") else delay, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in waits:
                task.cancel()
