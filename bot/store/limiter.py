"""One send rate per bot token, shared by every process: evenly spaced send slots reserved in Redis.

Each send reserves the bot's next free slot with one Lua script that reads the Redis server's clock (TIME), so
every process on every machine draws from one schedule spaced `1 / (rate × (1 - margin))` apart: never a burst,
whatever the number of processes. The same script keeps a chat's sends `chat_gap` apart. Queued sends (digests)
reserve at most `horizon` ahead; urgent ones (a reply to a user's own command) take the next free slot at once,
so they wait at most about `horizon` behind a busy schedule, and still count toward the rate.

A bot may have more than one schedule (`schedule`, e.g. Telegram's paid broadcasts at 1,000 a second beside the
free 30): each has its own slots, while a chat's gap is one for the bot, whichever schedule its sends use.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from enum import IntEnum

from redis.exceptions import RedisClusterException, RedisError

from bot.store.connection import Client
from bot.store.keys import rate_chat_key, rate_slot_key

log = logging.getLogger(__name__)
MARGIN = 0.05  # 31 slots span 1.053 s: a send may arrive 50 ms late without making 31 in one sliding second
LATE_SECONDS = 0.02  # a process that wakes this late for its slot gives the slot up (it would arrive bunched)
HORIZON_SECONDS = 0.1  # how far ahead a queued send may hold a slot (an urgent send waits at most this)
OFFLINE_SECONDS = 5.0  # after a Redis error, pace locally this long before asking Redis again
MICRO = 1_000_000

# KEYS[1]: the bot's next free slot; KEYS[2] (optional): the chat's earliest next send; both in µs since the epoch.
# ARGV[1]: slot spacing µs; ARGV[2]: the farthest a slot may be reserved ahead, µs (-1: no limit); ARGV[3]: chat gap µs;
# ARGV[4]: 1 when the caller gave up its own unused slot for this chat (its gap then does not hold it back).
# Returns {status, µs to wait}: 1 reserved (send after the wait), 0 schedule full, -1 the chat is not ready yet.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if #KEYS > 1 and ARGV[4] ~= '1' then
  local ready = tonumber(redis.call('GET', KEYS[2]) or '0')
  if ready > now then return {-1, ready - now} end
end
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local horizon = tonumber(ARGV[2])
if horizon >= 0 and slot - now > horizon then return {0, slot - now - horizon} end
local after = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000) + 1000)
if #KEYS > 1 then
  local ready = slot + tonumber(ARGV[3])
  redis.call('SET', KEYS[2], string.format('%.0f', ready), 'PX', math.ceil((ready - now) / 1000) + 1000)
end
return {1, slot - now}
"""
# KEYS[1]: the bot's next free slot; ARGV[1]: pause µs. No slot is handed out before now + the pause.
_PAUSE = """
local t = redis.call('TIME')
local resume = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1])
if resume > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%.0f', resume), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
"""


class Slot(IntEnum):
    """What a reservation attempt found."""

    RESERVED = 1
    SCHEDULE_FULL = 0
    CHAT_BUSY = -1


def bot_key(platform: str, token: str) -> str:
    """The name a bot's limiter keys carry: a hash of platform and token, so no key or log line shows the token."""
    return platform + ":" + hashlib.sha256(f"{platform}:{token}".encode()).hexdigest()[:16]


class SharedLimiter:
    """Hands out a bot's send slots, evenly spaced and shared through Redis by every process using its token."""

    def __init__(
        self,
        client: Client,
        bot: str,
        rate: float,
        *,
        schedule: str = "",
        margin: float = MARGIN,
        horizon: float = HORIZON_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bot = bot
        self._slot_key = rate_slot_key(bot, schedule)
        self.spacing = 1.0 / (rate * (1.0 - margin))
        self._horizon = horizon
        self._sleep = sleep
        self._clock = clock
        self._reserve_script = client.register_script(_RESERVE)
        self._pause_script = client.register_script(_PAUSE)
        self._queue = asyncio.Lock()  # one queued send per process asks Redis at a time; the others wait here
        self._offline_until = 0.0
        self._local_next = 0.0

    async def acquire(self, chat: str | None = None, chat_gap: float = 0.0, *, urgent: bool = False) -> None:
        """Wait until this send may go: its slot in the bot's schedule, and `chat_gap` after the chat's last send."""
        gave_up = False
        while True:
            async with contextlib.nullcontext() if urgent else self._queue:
                status, wait = await self._reserve(chat, chat_gap, urgent, gave_up)
                while status is Slot.SCHEDULE_FULL:
                    await self._sleep(wait)
                    status, wait = await self._reserve(chat, chat_gap, urgent, gave_up)
            due = self._clock() + wait
            await self._sleep(wait)
            if status is Slot.RESERVED and self._clock() - due <= LATE_SECONDS:
                return
            gave_up = status is Slot.RESERVED

    async def pause(self, seconds: float) -> None:
        """Hand out no slot for `seconds` (the platform asked every sender of this bot to wait)."""
        self._local_next = max(self._local_next, self._clock() + seconds)
        if self._clock() < self._offline_until:
            return
        try:
            await self._pause_script(keys=[self._slot_key], args=[round(seconds * MICRO)])
        except (RedisError, RedisClusterException, OSError) as exc:
            self._went_offline(exc)

    async def _reserve(self, chat: str | None, chat_gap: float, urgent: bool, gave_up: bool) -> tuple[Slot, float]:
        """One reservation attempt in Redis (or, while Redis is unreachable, in this process alone)."""
        if self._clock() < self._offline_until:
            return self._reserve_locally()
        keys = [self._slot_key] + ([rate_chat_key(self._bot, chat)] if chat is not None else [])
        horizon = -1 if urgent else round(self._horizon * MICRO)
        try:
            status, wait = await self._reserve_script(
                keys=keys, args=[round(self.spacing * MICRO), horizon, round(chat_gap * MICRO), int(gave_up)]
            )
        except (RedisError, RedisClusterException, OSError) as exc:
            self._went_offline(exc)
            return self._reserve_locally()
        if self._offline_until:
            self._offline_until = 0.0
            log.info("send limiter: Redis answers again; the rate is shared again")
        return Slot(int(status)), int(wait) / MICRO

    def _reserve_locally(self) -> tuple[Slot, float]:
        """A slot in a schedule of this process alone, used while Redis cannot be reached."""
        now = self._clock()
        slot = max(now, self._local_next)
        self._local_next = slot + self.spacing
        return Slot.RESERVED, slot - now

    def _went_offline(self, exc: BaseException) -> None:
        """Pace locally for a while; log the change once, not per send."""
        if not self._offline_until:
            log.warning("send limiter: Redis unreachable (%s); pacing this process alone meanwhile", type(exc).__name__)
        self._offline_until = self._clock() + OFFLINE_SECONDS
