"""Per-chat ordering of Telegram updates: one chat's commands run one after another, other chats run meanwhile.

python-telegram-bot's `BaseUpdateProcessor` bounds how many updates are handled at once: its (final)
`process_update` takes a slot, then calls the `do_process_update` hook. A chat whose updates waited for their
turn inside such a slot would hold every slot while it floods. So the library's bound is set to the most
updates we keep in flight at all, and the hook first waits for the chat's earlier updates (a FIFO lock per
chat) and only then takes one of our own `max_running` slots to run: a flood from one chat delays only it.
A chat with MAX_BACKLOG updates already waiting has its further updates dropped until it catches up: a flood
costs its sender at most that many answers, and a shutdown does not wait for thousands of them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)
MAX_BACKLOG = 30  # a chat's updates waiting or running; beyond this a flood's further updates are dropped
MAX_IN_FLIGHT = 10_000  # updates held at once, waiting or running (the library's own bound)


def chat_of(update: object) -> int | None:
    """The chat an update belongs to, or None for updates without one (they are not ordered)."""
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Handles each chat's updates in the order they arrived, running at most `max_running` updates at once."""

    def __init__(self, max_running: int, max_backlog: int = MAX_BACKLOG) -> None:
        super().__init__(MAX_IN_FLIGHT)
        self._running = asyncio.Semaphore(max_running)
        self._max_backlog = max_backlog
        self._turns: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._flooding: set[int] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for this chat's earlier updates (holding no running slot), then run this one in a slot."""
        chat = chat_of(update)
        if chat is None:
            async with self._running:
                await coroutine
            return
        if self._waiting.get(chat, 0) >= self._max_backlog:
            self._drop(chat, coroutine)
            return
        turn = self._turns.setdefault(chat, asyncio.Lock())
        self._waiting[chat] = self._waiting.get(chat, 0) + 1
        try:
            async with turn, self._running:  # asyncio.Lock wakes waiters first come, first served: order is kept
                await coroutine
        finally:
            self._waiting[chat] -= 1
            if not self._waiting[chat]:
                del self._waiting[chat]
                del self._turns[chat]
                self._flooding.discard(chat)

    def _drop(self, chat: int, coroutine: Awaitable[Any]) -> None:
        """Drop an update of a chat that already has a full backlog (logged once per flood)."""
        if inspect.iscoroutine(coroutine):
            coroutine.close()  # never started: close it so Python does not warn it was never awaited
        if chat not in self._flooding:
            self._flooding.add(chat)
            log.warning(
                "telegram chat=%s: more than %d updates waiting; dropping its further updates until it catches up",
                chat,
                self._max_backlog,
            )

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
