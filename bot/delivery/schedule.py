"""APScheduler wiring: the engine's ticks on an interval, run only by the process that holds the scheduler lock.

The lock is a short lease in Redis renewed by its own small loop, so a tick that runs for minutes (a day's
translations) never lets it lapse, and a killed holder's lease runs out within LEASE_SECONDS: another
process, trying as often as the holder renews, takes over and ticks at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock, utc_now
from bot.store.delivery import DeliveryState
from bot.supervisor import Component

log = logging.getLogger(__name__)
LEASE_SECONDS = 15.0  # a dead holder's lock lapses after this; a live one renews it long before
RENEW_EVERY_SECONDS = 3.0  # how often the holder renews and the others try to take over


def on_the_mark(now: datetime, every: float) -> datetime:
    """The last instant at or before `now` that is a whole multiple of `every` seconds since the epoch.

    Ticks that start there fall on 09:00:00 and 09:00:30, so the chats due at a minute are queued in its first
    seconds, not up to `every` later (an interval counted from the process's start would land anywhere).
    """
    return datetime.fromtimestamp(math.floor(now.timestamp() / every) * every, tz=UTC)


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
        lease: float = LEASE_SECONDS,
        renew_every: float = RENEW_EVERY_SECONDS,
    ) -> None:
        self._engine = engine
        self._status = status or Component("scheduler")
        self._state = state
        self._owner = owner or process_name()
        self._clock = clock
        self._lease = lease
        self._renew_every = renew_every
        self._lease_until = 0.0  # monotonic instant until which this process surely holds the lock
        self._lease_task: asyncio.Task[None] | None = None
        self._renew_error: str | None = None
        self._every = max(enqueue_every, fetch_every)
        self.last_tick: datetime | None = None
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        jobs: list[tuple[str, Callable[[datetime], Awaitable[object]], float]] = [
            ("enqueue", engine.enqueue_tick, enqueue_every),
            ("fetch", engine.fetch_tick, fetch_every),
        ]
        self._intervals = {job_id: every for job_id, _, every in jobs}
        for job_id, work, every in jobs:
            self._scheduler.add_job(
                self._as_leader,
                IntervalTrigger(seconds=every),
                args=[work],
                id=job_id,
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(every)),
                next_run_time=on_the_mark(utc_now(), every),  # due now; later ticks on the marks too
            )

    @property
    def leading(self) -> bool:
        """True while this process holds the scheduler lock (by its last successful renewal)."""
        return time.monotonic() < self._lease_until

    async def _as_leader(self, work: Callable[[datetime], Awaitable[object]]) -> None:
        """Run one tick if this process holds the scheduler lock."""
        self.last_tick = utc_now()
        if not self.leading:
            return
        try:
            await work(self._clock())
        except Exception as exc:
            self._status.failed(exc)
        else:
            self._status.succeeded()

    async def _keep_lease(self) -> None:
        """Take or renew the lock every few seconds, whatever the ticks are doing, until cancelled."""
        while True:
            await self.renew_lease()
            await asyncio.sleep(self._renew_every)

    async def renew_lease(self) -> None:
        """Take the lock if it is free, or extend it if this process holds it; tick at once on taking it."""
        asked = time.monotonic()
        was_leading = self.leading
        try:
            held = await self._state.hold_scheduler_lock(self._owner, int(self._lease * 1000))
        except Exception as exc:  # Redis unreachable: the lease runs out by itself; try again next round
            if self._renew_error is None:
                log.warning("cannot renew the scheduler lock (%s); retrying every %g s", exc, self._renew_every)
            self._renew_error = str(exc)
            return
        if self._renew_error is not None:
            log.info("scheduler lock reachable again")
            self._renew_error = None
        self._lease_until = asked + self._lease if held else 0.0
        if held and not was_leading:
            log.info("scheduler lock taken by %s: this process schedules", self._owner)
            for job in self._scheduler.get_jobs():
                job.modify(next_run_time=on_the_mark(utc_now(), self._intervals[job.id]))
        elif was_leading and not held:
            log.warning("scheduler lock lost by %s: another process schedules", self._owner)

    def alive(self, now: datetime) -> bool:
        """True when the scheduler ticked recently (whether or not it held the lock)."""
        return self.last_tick is not None and (now - self.last_tick).total_seconds() < 3 * self._every + 5

    def next_ticks(self) -> dict[str, datetime]:
        """When each tick (`enqueue`, `fetch`) runs next."""
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs() if job.next_run_time is not None}

    def start(self) -> None:
        """Start ticking and keeping the lease (needs a running event loop)."""
        self._scheduler.start()
        self._lease_task = asyncio.create_task(self._keep_lease(), name="scheduler-lease")
        log.info("scheduler started as %s", self._owner)

    async def stop(self) -> None:
        """Stop ticking and hand the lock to whoever comes next."""
        self._scheduler.shutdown(wait=False)
        if self._lease_task is not None:
            self._lease_task.cancel()
            await asyncio.gather(self._lease_task, return_exceptions=True)
        self._lease_until = 0.0
        try:
            await self._state.release_scheduler_lock(self._owner)
        except Exception as exc:  # Redis unreachable: the lease runs out by itself
            log.warning("could not release the scheduler lock (%s); it lapses within %g s", exc, self._lease)
