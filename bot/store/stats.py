"""Counters every process adds to: digests sent, send failures, LLM use, arXiv fetch time."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from redis.exceptions import ResponseError

from bot.store.connection import Client
from bot.store.keys import (
    FAILURES_KEY,
    FETCH_KEY,
    LLM_MONTH_KEY,
    LLM_TOTAL_KEY,
    SENT_ON_KEY,
    SENT_TOTAL_KEY,
    STATS_TTL_SECONDS,
    SUBSCRIBERS_KEY,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatsSnapshot:
    """The counters as they stand, for /stats and /metrics."""

    subscribers: dict[str, int] = field(default_factory=dict)
    sent_today: int = 0
    sent_total: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    llm_calls_month: int = 0
    llm_tokens_month: int = 0
    llm_calls_total: int = 0
    llm_tokens_total: int = 0
    fetch_seconds: float = 0.0


class Stats:
    """Reads and adds to the shared counters."""

    def __init__(self, client: Client) -> None:
        self._redis = client

    async def record_sent(self, today: date) -> None:
        """Count one digest sent."""
        key = SENT_ON_KEY.format(day=today.isoformat())
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, STATS_TTL_SECONDS)
            pipe.incr(SENT_TOTAL_KEY)
            await pipe.execute()

    async def record_failure(self, reason: str) -> None:
        """Count one failed send, by reason (gone, failed, dead)."""
        await self._redis.hincrby(FAILURES_KEY, reason, 1)

    async def record_llm(self, month: str, calls: int, tokens: int) -> None:
        """Add LLM requests and tokens to this month's and the all-time totals (a broken counter is logged, skipped)."""
        if not calls and not tokens:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in (LLM_MONTH_KEY.format(month=month), LLM_TOTAL_KEY):
                pipe.hincrby(key, "calls", calls)
                pipe.hincrby(key, "tokens", tokens)
            pipe.expire(LLM_MONTH_KEY.format(month=month), STATS_TTL_SECONDS)
            results = await pipe.execute(raise_on_error=False)
        errors = [r for r in results if isinstance(r, ResponseError)]
        if errors:
            log.warning("an LLM usage counter could not be increased (%s); usage not fully recorded", errors[0])

    async def record_fetch(self, day: date, seconds: float) -> None:
        """Remember how long the last fetch of arXiv's listing took."""
        await self._redis.hset(FETCH_KEY, mapping={"seconds": seconds, "day": day.isoformat()})

    async def snapshot(self, today: date) -> StatsSnapshot:
        """All counters at once."""
        month = today.strftime("%Y-%m")
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.smembers(SUBSCRIBERS_KEY)
            pipe.get(SENT_ON_KEY.format(day=today.isoformat()))
            pipe.get(SENT_TOTAL_KEY)
            pipe.hgetall(FAILURES_KEY)
            pipe.hgetall(LLM_MONTH_KEY.format(month=month))
            pipe.hgetall(LLM_TOTAL_KEY)
            pipe.hget(FETCH_KEY, "seconds")
            chats, today_sent, total_sent, failures, llm_month, llm_total, fetch = await pipe.execute()
        platforms: dict[str, int] = {}
        for chat in chats:
            platform = str(chat).split(":", 1)[0]
            platforms[platform] = platforms.get(platform, 0) + 1
        return StatsSnapshot(
            subscribers=platforms,
            sent_today=int(today_sent or 0),
            sent_total=int(total_sent or 0),
            failures={str(k): int(v) for k, v in failures.items()},
            llm_calls_month=int(llm_month.get("calls", 0)),
            llm_tokens_month=int(llm_month.get("tokens", 0)),
            llm_calls_total=int(llm_total.get("calls", 0)),
            llm_tokens_total=int(llm_total.get("tokens", 0)),
            fetch_seconds=float(fetch or 0.0),
        )
