"""APScheduler wiring: the engine's ticks on an interval, run only by the process that holds the scheduler lock."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock, utc_now
from bot.store.delivery import DeliveryState
from bot.supervisor import Component

log = logging.getLogger(__name__)


class Ticks(Protocol):
    """The engine's two kinds of tick (DailyEngine)."""

    async def enqueue_tick(self, now: datetime) -> int:
        """Queue the chats that are due."""

    async def fetch_tick(self, now: datetime) -> date | None:
        """Fetch the newest announcement if due."""


def process_name() -> str:
    """A name for this process among several (host and pid), used as lock owner and consumer name."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Scheduler:
    """Runs the fetch and enqueue ticks; with several bot processes only the lock holder does the work."""

    def __init__(
        self,
        engine: Ticks,
        state: DeliveryState,
        *,
        owner: str | None = None,
        clock: Clock = utc_now,
        enqueue_every: float = 30.0,
        fetch_every: float = 120.0,
        status: Component | None = None,
    ) -> None:
        self._engine = engine
        self._status = status or Component("scheduler")
        self._state = state
        self._owner = owner or process_name()
        self._clock = clock
        self._lock_ms = int(max(enqueue_every, fetch_every) * 3 * 1000)
        self._every = max(enqueue_every, fetch_every)
        self.last_tick: datetime | None = None
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        jobs: list[tuple[str, Callable[[datetime], Awaitable[object]], float]] = [
            ("enqueue", engine.enqueue_tick, enqueue_every),
            ("fetch", engine.fetch_tick, fetch_every),
        ]
        for job_id, work, every in jobs:
            self._scheduler.add_job(
                self._as_leader, IntervalTrigger(seconds=every), args=[work], id=job_id, replace_existing=True,
                max_instances=1, coalesce=True, misfire_grace_time=max(1, int(every)), next_run_time=utc_now(),
            )

    async def _as_leader(self, work: Callable[[datetime], Awaitable[object]]) -> None:
        """Run one tick if this process holds (or can take) the scheduler lock."""
        self.last_tick = utc_now()
        try:
            if await self._state.hold_scheduler_lock(self._owner, self._lock_ms):
                await work(self._clock())
        except Exception as exc:
            self._status.failed(exc)
        else:
            self._status.succeeded()

    def alive(self, now: datetime) -> bool:
        """True when the scheduler ticked recently (whether or not it held the lock)."""
        return self.last_tick is not None and (now - self.last_tick).total_seconds() < 3 * self._every + 5

    def start(self) -> None:
        """Start ticking (needs a running event loop)."""
        self._scheduler.start()
        log.info("scheduler started as %s", self._owner)

    async def stop(self) -> None:
        """Stop ticking and hand the lock to whoever comes next."""
        self._scheduler.shutdown(wait=False)
        await self._state.release_scheduler_lock(self._owner)
