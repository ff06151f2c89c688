"""Telegram updates taken once across replicas: the first process to mark an update_id in Redis handles it.

Telegram retries a webhook update until it gets a 2xx, and a load balancer may hand a retry to another replica,
so "have we seen this update?" must be answered in Redis, atomically: SET NX answers it and marks it in one step.
"""

from __future__ import annotations

from bot.store.connection import Client
from bot.store.keys import UPDATE_TTL_SECONDS, update_key


class UpdateLog:
    """The update_ids of one bot already taken by some process, each remembered for `ttl_seconds`."""

    def __init__(self, client: Client, bot: str, ttl_seconds: int = UPDATE_TTL_SECONDS) -> None:
        self._redis = client
        self._bot = bot
        self._ttl_seconds = ttl_seconds

    async def take(self, update_id: int) -> bool:
        """Mark the update as taken; True only for the first caller, in whichever process."""
        return bool(await self._redis.set(update_key(self._bot, update_id), 1, nx=True, ex=self._ttl_seconds))
