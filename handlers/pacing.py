"""Space out messages to one chat, as chat platforms require (Telegram: about 1/s per chat, 20/min per group).

This keeps one process's messages to a chat in order and spaced from when each really left; the shared limiter
(bot/store/limiter.py) keeps the same gap between processes and the bot's overall rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class ChatPacer:
    """Waits so that two sends to the same chat are at least a chat's interval apart; other chats go on freely."""

    def __init__(
        self,
        private_interval: float = 1.0,
        group_interval: float = 3.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._intervals = (private_interval, group_interval)
        self._clock = clock
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def interval(self, is_group: bool) -> float:
        """The least time between two messages to one chat of this kind."""
        return self._intervals[is_group]

    def lock(self, chat_key: str) -> asyncio.Lock:
        """The lock that keeps one chat's messages in order."""
        return self._locks.setdefault(chat_key, asyncio.Lock())

    async def wait_turn(self, chat_key: str, is_group: bool) -> None:
        """Sleep until this chat may receive its next message, and reserve that slot (call under `lock`)."""
        now = self._clock()
        ready = self._next.get(chat_key, now)
        if ready > now:
            await self._sleep(ready - now)
        self._next[chat_key] = max(ready, now) + self._intervals[is_group]
        if len(self._next) > 10_000:
            self._forget_idle()

    def sent(self, chat_key: str, is_group: bool) -> None:
        """Count the interval from when a message really left (it may have queued in a rate limiter first)."""
        self._next[chat_key] = max(self._next.get(chat_key, 0.0), self._clock() + self._intervals[is_group])

    def _forget_idle(self) -> None:
        """Drop chats whose slot is in the past, so the table does not grow forever."""
        now = self._clock()
        for key in [k for k, t in self._next.items() if t < now]:
            del self._next[key]
            lock = self._locks.get(key)
            if lock is not None and not lock.locked():
                del self._locks[key]
