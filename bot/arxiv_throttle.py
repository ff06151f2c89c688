"""One request to arXiv at a time, `interval` seconds after the previous one ended, most urgent first (etiquette)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

LISTING = 0  # the daily RSS fetch: every subscriber waits for it
LOOKUP = 1  # a user's /paper lookup


class PriorityThrottle:
    """Lets one request run at a time, `interval` seconds after the previous one ended, lowest priority first.

    The next request is chosen when the spacing has elapsed, so a listing fetch that arrives while lookups
    queue goes next.
    """

    def __init__(self, interval: float, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._interval = interval
        self._sleep = sleep
        self._held = False  # a request runs, or the next one is being chosen
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._last_end: float | None = None
        self._handoffs: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def slot(self, priority: int) -> AsyncIterator[None]:
        """Wait for our turn, then hold it while the request runs."""
        await self._acquire(priority)
        try:
            yield
        finally:
            self._last_end = time.monotonic()
            self._release()

    def _spacing_left(self) -> float:
        """Seconds until the next request may start."""
        if self._last_end is None:
            return 0.0
        return self._last_end + self._interval - time.monotonic()

    async def _acquire(self, priority: int) -> None:
        """Take the slot at once if it is free and due, else queue by priority."""
        if not self._held and not self._waiters and self._spacing_left() <= 0:
            self._held = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), turn))
        if not self._held:
            self._held = True
            self._hand_off()
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # the turn came as we were cancelled: pass it on
            raise

    def _release(self) -> None:
        """Give the slot to the next waiter (after the spacing), or free it."""
        if self._waiters:
            self._hand_off()
        else:
            self._held = False

    def _hand_off(self) -> None:
        """Choose the next waiter once the spacing has elapsed, in the background."""
        task = asyncio.get_running_loop().create_task(self._next_turn())
        self._handoffs.add(task)
        task.add_done_callback(self._handoffs.discard)

    async def _next_turn(self) -> None:
        """Wait out the spacing, then wake the most urgent waiter still waiting."""
        wait = self._spacing_left()
        if wait > 0:
            await self._sleep(wait)
        while self._waiters:
            _, _, turn = heapq.heappop(self._waiters)
            if not turn.done():
                turn.set_result(None)
                return
        self._held = False
