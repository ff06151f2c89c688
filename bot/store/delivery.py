"""The delivery engine's state in Redis: announcement days, due times, the delivery stream, idempotency records."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

import redis.asyncio as redis
from redis.exceptions import ResponseError

from bot.models import Listing
from bot.store.codec import listing_from_json, listing_to_json
from bot.store.keys import (
    DAY_TTL_SECONDS,
    DAYS_KEY,
    DEAD_KEY,
    DUE_KEY,
    QUEUE_GROUP,
    QUEUE_KEY,
    RECORD_TTL_SECONDS,
    SCHEDULER_LOCK_KEY,
    SEEN_DAYS,
    UNSCHEDULED_KEY,
    WAITING_KEY,
    day_listing_key,
    day_status_key,
    delivered_key,
    enqueued_key,
    progress_key,
    seen_key,
    subscriber_key,
)
from bot.subscribers import ChatRef

# Queue a delivery only if this (chat, day) was never queued: the check and the XADD are one atomic step.
_ENQUEUE_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], '*', 'chat', ARGV[2], 'day', ARGV[3], 'skipped', ARGV[4])
end
return false
"""
# Take or keep the scheduler lock: set it when free, extend it when we already hold it.
_HOLD_LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# Put every dead letter back on the delivery stream (as a fresh delivery) and drop it from the dead letters.
_REQUEUE_DEAD = """
local entries = redis.call('XRANGE', KEYS[1], '-', '+')
for _, entry in ipairs(entries) do
  local fields, chat, day = entry[2], '', ''
  for i = 1, #fields, 2 do
    if fields[i] == 'chat' then chat = fields[i + 1] elseif fields[i] == 'day' then day = fields[i + 1] end
  end
  redis.call('XADD', KEYS[2], '*', 'chat', chat, 'day', day, 'skipped', '0')
  redis.call('XDEL', KEYS[1], entry[1])
end
return #entries
"""
# Give the scheduler lock up only if we still hold it: the compare and the delete are one atomic step.
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class DayStatus:
    """Where fetching one announcement day stands: pending (with attempts so far), ready, or none (no announcement)."""

    state: str = "pending"
    attempts: int = 0
    next_try: float = 0.0

    @property
    def final(self) -> bool:
        """True once the day is ready or known to have no announcement."""
        return self.state in ("ready", "none")


@dataclass(frozen=True)
class QueuedDelivery:
    """One delivery taken from the stream: which chat gets which day, and how often it was tried."""

    entry_id: str
    chat: ChatRef
    day: str
    skipped: int
    attempts: int = 1


def _delivery(entry_id: Any, fields: dict[Any, Any], attempts: int = 1) -> QueuedDelivery:
    """Read one stream entry."""
    return QueuedDelivery(str(entry_id), ChatRef.from_key(str(fields["chat"])), str(fields["day"]),
                          int(fields.get("skipped", 0)), attempts)


class DeliveryState:
    """Typed access to the delivery engine's keys."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._enqueue_once = client.register_script(_ENQUEUE_ONCE)
        self._hold_lock = client.register_script(_HOLD_LOCK)
        self._release_lock = client.register_script(_RELEASE_LOCK)
        self._requeue_dead = client.register_script(_REQUEUE_DEAD)

    # ---- announcement days

    async def day_status(self, day: date) -> DayStatus:
        """The fetch state of a listing day."""
        raw = await self._redis.hgetall(day_status_key(day.isoformat()))
        if not raw:
            return DayStatus()
        return DayStatus(str(raw.get("state", "pending")), int(raw.get("attempts", 0)), float(raw.get("next_try", 0)))

    async def set_day_pending(self, day: date, attempts: int, next_try: float) -> None:
        """Record a failed or premature fetch and when to try again."""
        await self._redis.hset(day_status_key(day.isoformat()),
                               mapping={"state": "pending", "attempts": attempts, "next_try": next_try})
        await self._redis.expire(day_status_key(day.isoformat()), DAY_TTL_SECONDS)

    async def save_day(self, day: date, listing: Listing) -> None:
        """Keep a fetched day's listing and mark it ready (or `none` when arXiv announced nothing)."""
        iso = day.isoformat()
        text = await asyncio.to_thread(listing_to_json, listing)  # megabytes for a big day: off the event loop
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(day_listing_key(iso), text, ex=DAY_TTL_SECONDS)
            pipe.hset(day_status_key(iso), mapping={"state": "ready" if listing.papers else "none"})
            pipe.expire(day_status_key(iso), DAY_TTL_SECONDS)
            if listing.papers:
                pipe.zadd(DAYS_KEY, {iso: day.toordinal()})
            pipe.zremrangebyscore(DAYS_KEY, "-inf", day.toordinal() - DAY_TTL_SECONDS // 86400)
            await pipe.execute()

    async def mark_day_none(self, day: date) -> None:
        """Give up on a day that never appeared in the feed (an unlisted holiday): nothing will be sent for it."""
        await self._redis.hset(day_status_key(day.isoformat()), mapping={"state": "none"})
        await self._redis.expire(day_status_key(day.isoformat()), DAY_TTL_SECONDS)

    async def day_listing(self, day: str) -> Listing | None:
        """A ready day's listing."""
        raw = await self._redis.get(day_listing_key(day))
        return None if raw is None else listing_from_json(str(raw))

    async def newest_day(self) -> str | None:
        """The newest ready listing day with papers, as an ISO date."""
        newest = await self._redis.zrevrange(DAYS_KEY, 0, 0)
        return str(newest[0]) if newest else None

    async def ready_days_between(self, after: str | None, before: str) -> int:
        """How many ready days lie strictly between two listing days (the digests an outage skipped)."""
        if after is None:
            return 0
        low, high = date.fromisoformat(after).toordinal(), date.fromisoformat(before).toordinal()
        return max(0, int(await self._redis.zcount(DAYS_KEY, f"({low}", f"({high}")))

    # ---- when each chat is due

    async def pop_unscheduled(self, limit: int = 1000) -> list[ChatRef]:
        """Take chats whose delivery time is new or changed."""
        keys = await self._redis.spop(UNSCHEDULED_KEY, limit)
        return [ChatRef.from_key(str(k)) for k in keys or []]

    async def set_due(self, chat: ChatRef, at_epoch: float) -> None:
        """Set when a chat is next due."""
        await self._redis.zadd(DUE_KEY, {chat.key: at_epoch})

    async def due_chats(self, now_epoch: float, limit: int = 1000) -> list[ChatRef]:
        """Chats whose delivery time has come."""
        keys = await self._redis.zrangebyscore(DUE_KEY, "-inf", now_epoch, start=0, num=limit)
        return [ChatRef.from_key(str(k)) for k in keys]

    async def add_waiting(self, chat: ChatRef) -> None:
        """Remember a chat that was due while its expected day was still late."""
        await self._redis.sadd(WAITING_KEY, chat.key)

    async def waiting_chats(self) -> list[ChatRef]:
        """The chats waiting for a late day (each stays listed until stop_waiting, so a crash loses none)."""
        return [ChatRef.from_key(str(k)) for k in sorted(await self._redis.smembers(WAITING_KEY))]

    async def stop_waiting(self, chat: ChatRef) -> None:
        """Take a chat off the waiting list once it was offered the day it waited for."""
        await self._redis.srem(WAITING_KEY, chat.key)

    async def unschedule(self, chat: ChatRef) -> None:
        """Stop scheduling a chat that has no readable subscription (saving one schedules it again)."""
        await self._redis.zrem(DUE_KEY, chat.key)

    async def last_day(self, chat: ChatRef) -> str | None:
        """The newest listing day this chat has received."""
        value = await self._redis.hget(subscriber_key(chat), "last_day")
        return None if value is None else str(value)

    # ---- the delivery stream

    async def ensure_group(self) -> None:
        """Create the stream and its consumer group if they do not exist yet."""
        try:
            await self._redis.xgroup_create(QUEUE_KEY, QUEUE_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def enqueue(self, chat: ChatRef, day: str, skipped: int) -> bool:
        """Queue a chat's digest for a day unless it was already queued; True if this call queued it."""
        args: list[str | int] = [RECORD_TTL_SECONDS, chat.key, day, skipped]
        return bool(await self._enqueue_once(keys=[enqueued_key(chat, day), QUEUE_KEY], args=args))

    async def read(self, consumer: str, count: int, block_ms: int) -> list[QueuedDelivery]:
        """New deliveries for this consumer (waits up to block_ms for some)."""
        reply: Any = await self._redis.xreadgroup(
            QUEUE_GROUP, consumer, {QUEUE_KEY: ">"}, count=count, block=block_ms or None
        )
        return [_delivery(entry_id, fields) for _, entries in reply or [] for entry_id, fields in entries]

    async def claim_stale(self, consumer: str, min_idle_ms: int, count: int) -> list[QueuedDelivery]:
        """Take over deliveries another worker started but did not finish within min_idle_ms (it died)."""
        pending = await self._redis.xpending_range(QUEUE_KEY, QUEUE_GROUP, min="-", max="+", count=count,
                                                   idle=min_idle_ms)
        if not pending:
            return []
        tries = {str(p["message_id"]): int(p["times_delivered"]) + 1 for p in pending}
        claimed: Any = await self._redis.xclaim(QUEUE_KEY, QUEUE_GROUP, consumer, min_idle_ms, list(tries))
        return [_delivery(entry_id, fields, tries.get(str(entry_id), 1)) for entry_id, fields in claimed if fields]

    async def ack(self, delivery: QueuedDelivery) -> None:
        """Mark a delivery handled (sent, or nothing to send) and drop it: the stream holds only unfinished work."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(QUEUE_KEY, QUEUE_GROUP, delivery.entry_id)
            pipe.xdel(QUEUE_KEY, delivery.entry_id)
            await pipe.execute()

    async def bury(self, delivery: QueuedDelivery, reason: str) -> None:
        """Move a delivery that keeps failing aside so it no longer blocks the queue."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(DEAD_KEY, {"chat": delivery.chat.key, "day": delivery.day, "reason": reason[:500]},
                      maxlen=10_000, approximate=True)
            pipe.xack(QUEUE_KEY, QUEUE_GROUP, delivery.entry_id)
            pipe.xdel(QUEUE_KEY, delivery.entry_id)
            await pipe.execute()

    async def dead_letters(self) -> list[dict[str, str]]:
        """The deliveries moved aside, oldest first."""
        entries: Any = await self._redis.xrange(DEAD_KEY)
        return [{str(k): str(v) for k, v in fields.items()} for _, fields in entries]

    async def queue_depth(self) -> int:
        """Deliveries queued or in progress (acknowledged ones are deleted from the stream)."""
        return int(await self._redis.xlen(QUEUE_KEY))

    async def is_delivered(self, chat: ChatRef, day: str) -> bool:
        """True if this chat's digest for this day was fully sent."""
        return bool(await self._redis.exists(delivered_key(chat, day)))

    async def progress(self, chat: ChatRef, day: str) -> int:
        """How many messages of this digest were already sent by an earlier, interrupted attempt."""
        value = await self._redis.get(progress_key(chat, day))
        return int(value or 0)

    async def set_progress(self, chat: ChatRef, day: str, sent: int) -> None:
        """Record that the first `sent` messages of this digest went out."""
        await self._redis.set(progress_key(chat, day), sent, ex=RECORD_TTL_SECONDS)

    async def seen_papers(self, chat: ChatRef) -> set[str]:
        """Ids of the papers this chat has already received."""
        return {str(m) for m in await self._redis.zrange(seen_key(chat), 0, -1)}

    async def finish(self, delivery: QueuedDelivery, paper_ids: list[str]) -> None:
        """Record a completed delivery in one step: delivered, newest day, papers seen, queue entry acknowledged."""
        chat, day = delivery.chat, delivery.day
        ordinal = date.fromisoformat(day).toordinal()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(delivered_key(chat, day), 1, ex=RECORD_TTL_SECONDS)
            if await self._redis.exists(subscriber_key(chat)):
                pipe.hset(subscriber_key(chat), "last_day", day)
            if paper_ids:
                pipe.zadd(seen_key(chat), dict.fromkeys(paper_ids, ordinal))
            pipe.zremrangebyscore(seen_key(chat), "-inf", ordinal - SEEN_DAYS)
            pipe.delete(progress_key(chat, day))
            pipe.xack(QUEUE_KEY, QUEUE_GROUP, delivery.entry_id)
            pipe.xdel(QUEUE_KEY, delivery.entry_id)
            await pipe.execute()

    # ---- one scheduler among many processes

    async def hold_scheduler_lock(self, owner: str, ttl_ms: int) -> bool:
        """Take or extend the scheduler lock; True if `owner` holds it now."""
        return bool(await self._hold_lock(keys=[SCHEDULER_LOCK_KEY], args=[owner, ttl_ms]))

    async def release_scheduler_lock(self, owner: str) -> bool:
        """Give the lock up (at shutdown) so another process can take over at once; True if `owner` held it."""
        return bool(await self._release_lock(keys=[SCHEDULER_LOCK_KEY], args=[owner]))

    async def scheduler_lock_holder(self) -> str | None:
        """The process that holds the scheduler lock now, if any."""
        holder = await self._redis.get(SCHEDULER_LOCK_KEY)
        return None if holder is None else str(holder)

    # ---- dead letters, for the operator

    async def requeue_dead_letters(self) -> int:
        """Put every dead letter back on the delivery stream in one atomic step; returns how many."""
        return int(await self._requeue_dead(keys=[DEAD_KEY, QUEUE_KEY]))
