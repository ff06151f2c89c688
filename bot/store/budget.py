"""Budgets of new translations per user and per chat, per clock hour and per UTC day, shared by every process."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.store.connection import Client
from bot.store.keys import budget_key

HOUR_TTL_SECONDS = 2 * 3600
DAY_TTL_SECONDS = 2 * 24 * 3600

# KEYS: an hour and a day counter per holder; ARGV: hour limit, day limit, their TTLs.
# Nothing is counted unless every holder has room; returns 0 (taken), 1 (an hour is full) or 2 (a day is full).
_TAKE = """
local full = 0
for i = 1, #KEYS, 2 do
  if tonumber(redis.call('GET', KEYS[i + 1]) or '0') >= tonumber(ARGV[2]) then return 2 end
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[1]) then full = 1 end
end
if full == 1 then return 1 end
for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[3])
  redis.call('INCR', KEYS[i + 1])
  redis.call('EXPIRE', KEYS[i + 1], ARGV[4])
end
return 0
"""


class TranslationBudget:
    """Counts new translations against per-hour and per-day limits for several holders (a user, a chat) at once."""

    def __init__(self, client: Client, per_hour: int, per_day: int) -> None:
        self.per_hour = per_hour
        self.per_day = per_day
        self._take = client.register_script(_TAKE)

    async def take(self, holders: Sequence[str], now: datetime) -> datetime | None:
        """Count one new translation for every holder and return None; or, if one has none left, when it resumes."""
        now = now.astimezone(UTC)
        hour, day, tag = now.strftime("h%Y%m%d%H"), now.strftime("d%Y%m%d"), now.strftime("%Y%m%d")
        keys = [k for holder in dict.fromkeys(holders) for k in (budget_key(holder, w, tag) for w in (hour, day))]
        full = int(await self._take(keys=keys, args=[self.per_hour, self.per_day, HOUR_TTL_SECONDS, DAY_TTL_SECONDS]))
        if full == 0:
            return None
        if full == 1:
            return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
