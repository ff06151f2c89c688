"""The delivery engine's state in Redis: announcement days, due times, the delivery stream, idempotency records."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from redis.exceptions import ResponseError

from bot.models import Listing
from bot.store import delivery_scripts as lua
from bot.store.batch_scripts import OFFER_DUE
from bot.store.codec import listing_from_json, listing_to_json
from bot.store.connection import Client
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
    SENT_TTL_SECONDS,
    UNSCHEDULED_KEY,
    WAITING_KEY,
    day_listing_key,
    day_status_key,
    lease_key,
    legacy_seen_key,
    moved_key,
    records_key,
    sent_key,
    subscriber_key,
)
from bot.store.lease import HOLD_SCRIPT as _HOLD_LOCK  # take or keep the scheduler lock
from bot.store.lease import RELEASE_SCRIPT as _RELEASE_LOCK  # give it up only if still ours, atomically
from bot.store.positions import pack_positions, unpack_positions
from bot.subscribers import ChatRef

CLAIM_SCAN = 200  # pending entries looked at per take-over attempt (live workers' leased ones are skipped)
OfferMode = Literal["schedule", "wait", "offer"]  # what the enqueue tick's offers mean now (see OFFER_DUE)
DuePlan = tuple[ChatRef, str, bool]  # a chat, its next due time ('' unschedules, '=' keeps it), offer it the day?
FOLLOWED = -1  # a script's answer when the chat migrated meanwhile: follow its forwarding and run it again
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


@dataclass(frozen=True)
class SentRecord:
    """What a chat was sent lately: positions into each day's listing, and papers an older version recorded by id."""

    positions: dict[str, list[int]]  # listing day -> positions of the papers sent from it
    legacy: dict[str, str]  # paper id -> the listing day it was sent (the old sorted set, until converted)


def _delivery(entry_id: Any, fields: dict[Any, Any], attempts: int = 1) -> QueuedDelivery:
    """Read one stream entry."""
    return QueuedDelivery(
        str(entry_id),
        ChatRef.from_key(str(fields["chat"])),
        str(fields["day"]),
        int(fields.get("skipped", 0)),
        attempts,
    )


def _paper_ids(raw: str) -> tuple[str, ...]:
    """The paper ids of a stored listing's JSON text, in order (CPU-bound for a big day: run it in a thread)."""
    return tuple(str(paper["arxiv_id"]) for paper in json.loads(raw)["papers"])


def _finish_call(delivery: QueuedDelivery, to: ChatRef, forwarded: str, packed: str) -> tuple[list[str], list[Any]]:
    """The keys and arguments of the FINISH script recording `delivery` under `to`."""
    oldest_kept = date.fromordinal(date.fromisoformat(delivery.day).toordinal() - SEEN_DAYS + 1).isoformat()
    keys = [
        moved_key(delivery.chat),
        subscriber_key(to),
        records_key(to),
        sent_key(to),
        QUEUE_KEY,
        lease_key(delivery.entry_id),
    ]
    args = [
        forwarded,
        QUEUE_GROUP,
        delivery.entry_id,
        delivery.day,
        oldest_kept,
        RECORD_TTL_SECONDS,
        SENT_TTL_SECONDS,
        packed,
    ]
    return keys, args


def _pairs(flat: list[Any]) -> dict[Any, Any]:
    """A stream entry's fields as a Lua script returns them: a flat list of names and values."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


class DeliveryState:
    """Typed access to the delivery engine's keys."""

    def __init__(self, client: Client) -> None:
        self._redis = client
        self._enqueue_once = client.register_script(lua.ENQUEUE_ONCE)
        self._set_progress = client.register_script(lua.SET_PROGRESS)
        self._finish = client.register_script(lua.FINISH)
        self._convert_seen = client.register_script(lua.CONVERT_SEEN)
        self._ack = client.register_script(lua.ACK)
        self._claim = client.register_script(lua.CLAIM)
        self._renew = client.register_script(lua.RENEW)
        self._release = client.register_script(lua.RELEASE)
        self._add_if_subscribed = client.register_script(lua.ADD_IF_SUBSCRIBED)
        self._hold_lock = client.register_script(_HOLD_LOCK)
        self._release_lock = client.register_script(_RELEASE_LOCK)
        self._requeue_dead = client.register_script(_REQUEUE_DEAD)
        self._offer_due = client.register_script(OFFER_DUE)  # the enqueue tick's step for a batch of chats

    # ---- announcement days

    async def day_status(self, day: date) -> DayStatus:
        """The fetch state of a listing day."""
        raw = await self._redis.hgetall(day_status_key(day.isoformat()))
        if not raw:
            return DayStatus()
        return DayStatus(str(raw.get("state", "pending")), int(raw.get("attempts", 0)), float(raw.get("next_try", 0)))

    async def set_day_pending(self, day: date, attempts: int, next_try: float) -> None:
        """Record a failed or premature fetch and when to try again."""
        await self._redis.hset(
            day_status_key(day.isoformat()), mapping={"state": "pending", "attempts": attempts, "next_try": next_try}
        )
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

    # ---- when each chat is due

    async def pop_unscheduled(self, limit: int = 1000) -> list[ChatRef]:
        """Take chats whose delivery time is new or changed."""
        keys = await self._redis.spop(UNSCHEDULED_KEY, limit)
        return [ChatRef.from_key(str(k)) for k in keys or []]

    async def set_due(self, chat: ChatRef, at_epoch: float) -> None:
        """Set when a chat is next due (unless it unsubscribed meanwhile)."""
        await self._add_if_subscribed(keys=[subscriber_key(chat), DUE_KEY], args=[chat.key, repr(at_epoch)])

    async def due_chats(self, now_epoch: float, limit: int = 1000) -> list[ChatRef]:
        """Chats whose delivery time has come."""
        keys = await self._redis.zrangebyscore(DUE_KEY, "-inf", now_epoch, start=0, num=limit)
        return [ChatRef.from_key(str(k)) for k in keys]

    async def waiting_chats(self) -> list[ChatRef]:
        """The chats waiting for a late day (each stays listed until offered, so a crash loses none)."""
        return [ChatRef.from_key(str(k)) for k in sorted(await self._redis.smembers(WAITING_KEY))]

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
        """Queue a subscribed chat's digest for a day unless it was already queued; True if this call queued it."""
        args: list[str | int] = [RECORD_TTL_SECONDS, chat.key, day, skipped]
        keys = [subscriber_key(chat), records_key(chat), QUEUE_KEY]
        return bool(await self._enqueue_once(keys=keys, args=args))

    async def enqueue_many(self, chats: Sequence[ChatRef], day: str, skipped: int) -> list[str | None]:
        """Queue many chats' digests for a day in one round trip (as `enqueue`); each new entry's id, else None."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for chat in chats:
                keys = [subscriber_key(chat), records_key(chat), QUEUE_KEY]
                await self._enqueue_once(keys=keys, args=[RECORD_TTL_SECONDS, chat.key, day, skipped], client=pipe)  # type: ignore[arg-type]  # a single server's pipeline (bulk runs)
            entries = await pipe.execute()
        return [None if entry is None else str(entry) for entry in entries]

    async def read(self, consumer: str, count: int, block_ms: int, lease_ms: int) -> list[QueuedDelivery]:
        """New deliveries for this consumer (waits up to block_ms for some), each leased to it for lease_ms."""
        reply: Any = await self._redis.xreadgroup(
            QUEUE_GROUP, consumer, {QUEUE_KEY: ">"}, count=count, block=block_ms or None
        )
        deliveries = [_delivery(entry_id, fields) for _, entries in reply or [] for entry_id, fields in entries]
        if deliveries:  # a take-over never looks at entries idle less than a lease, so this cannot race one
            async with self._redis.pipeline(transaction=False) as pipe:
                for delivery in deliveries:
                    pipe.set(lease_key(delivery.entry_id), consumer, px=lease_ms)
                await pipe.execute()
        return deliveries

    async def claim_stale(self, consumer: str, min_idle_ms: int, count: int, lease_ms: int) -> list[QueuedDelivery]:
        """Take over deliveries of dead workers: idle at least min_idle_ms and no longer leased by anyone."""
        pending = await self._redis.xpending_range(
            QUEUE_KEY, QUEUE_GROUP, min="-", max="+", count=max(count, CLAIM_SCAN), idle=min_idle_ms
        )
        if not pending:
            return []
        tries = {str(p["message_id"]): int(p["times_delivered"]) + 1 for p in pending}
        keys = [QUEUE_KEY, *(lease_key(entry_id) for entry_id in tries)]
        claimed: Any = await self._claim(keys=keys, args=[QUEUE_GROUP, consumer, min_idle_ms, lease_ms, count, *tries])
        return [_delivery(entry_id, _pairs(flat), tries.get(str(entry_id), 1)) for entry_id, flat in claimed]

    async def renew_leases(self, consumer: str, entry_ids: list[str], lease_ms: int) -> list[str]:
        """Extend this consumer's leases on the entries it is sending; returns those it lost to another worker."""
        if not entry_ids:
            return []
        keys = [QUEUE_KEY, *(lease_key(entry_id) for entry_id in entry_ids)]
        lost: Any = await self._renew(keys=keys, args=[QUEUE_GROUP, consumer, lease_ms, *entry_ids])
        return [str(entry_id) for entry_id in lost]

    async def release_lease(self, consumer: str, entry_id: str) -> None:
        """Give up the lease on an entry left unfinished, so it is retried after DELIVERY_CLAIM_IDLE."""
        await self._release(keys=[lease_key(entry_id)], args=[consumer])

    async def ack(self, delivery: QueuedDelivery) -> None:
        """Mark a delivery handled (sent, or nothing to send) and drop it: the stream holds only unfinished work."""
        keys = [QUEUE_KEY, lease_key(delivery.entry_id), moved_key(delivery.chat)]
        await self._ack(keys=keys, args=[QUEUE_GROUP, delivery.entry_id])

    async def bury(self, delivery: QueuedDelivery, reason: str) -> None:
        """Move a delivery that keeps failing aside so it no longer blocks the queue."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                DEAD_KEY,
                {"chat": delivery.chat.key, "day": delivery.day, "reason": reason[:500]},
                maxlen=10_000,
                approximate=True,
            )
            pipe.xack(QUEUE_KEY, QUEUE_GROUP, delivery.entry_id)
            pipe.xdel(QUEUE_KEY, delivery.entry_id)
            pipe.delete(lease_key(delivery.entry_id))
            await pipe.execute()

    async def dead_letters(self) -> list[dict[str, str]]:
        """The deliveries moved aside, oldest first."""
        entries: Any = await self._redis.xrange(DEAD_KEY)
        return [{str(k): str(v) for k, v in fields.items()} for _, fields in entries]

    async def queue_depth(self) -> int:
        """Deliveries queued or in progress (acknowledged ones are deleted from the stream)."""
        return int(await self._redis.xlen(QUEUE_KEY))

    async def current_chat(self, chat: ChatRef) -> ChatRef:
        """The id a chat's deliveries go to now: its new id for a while after a group migrated, else itself."""
        moved = await self._redis.get(moved_key(chat))
        return chat if moved is None else ChatRef.from_key(str(moved))

    async def is_delivered(self, chat: ChatRef, day: str) -> bool:
        """True if this chat's digest for this day was fully sent."""
        return bool(await self._redis.hexists(records_key(chat), f"delivered:{day}"))

    async def progress(self, chat: ChatRef, day: str) -> int:
        """How many messages of this digest were already sent by an earlier, interrupted attempt."""
        value = await self._redis.hget(records_key(chat), f"progress:{day}")
        return int(value or 0)

    async def set_progress(self, chat: ChatRef, day: str, sent: int) -> bool:
        """Record that the first `sent` messages of this digest went out (under the chat's new id if it migrated).

        False, and nothing recorded, when the chat no longer has a subscription.
        """

        async def run(to: ChatRef, forwarded: str) -> int:
            keys = [moved_key(chat), subscriber_key(to), records_key(to)]
            return int(await self._set_progress(keys=keys, args=[forwarded, day, sent, RECORD_TTL_SECONDS]))

        return bool(await self._on_current_chat(chat, run))

    async def sent_record(self, chat: ChatRef) -> SentRecord:
        """The papers this chat was sent in the last SEEN_DAYS (positions per day; ids of the old layout, if any)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(sent_key(chat))
            pipe.zrange(legacy_seen_key(chat), 0, -1, withscores=True)
            packed, legacy = await pipe.execute()
        positions = {}
        for day, text in packed.items():
            try:
                positions[str(day)] = unpack_positions(str(text))
            except ValueError:  # a damaged field only costs a repeat of that day's papers
                continue
        return SentRecord(positions, {str(p): date.fromordinal(int(score)).isoformat() for p, score in legacy})

    async def convert_legacy_seen(self, chat: ChatRef, positions: dict[str, list[int]]) -> bool:
        """Replace the chat's old sorted set of papers seen by these positions per day; False if nothing to do."""
        args: list[str | int] = [SENT_TTL_SECONDS]
        for day, found in positions.items():
            args += [day, pack_positions(found)]
        keys = [subscriber_key(chat), legacy_seen_key(chat), sent_key(chat)]
        return bool(await self._convert_seen(keys=keys, args=args))

    async def day_paper_ids(self, day: str) -> tuple[str, ...] | None:
        """The ids of a stored day's listing, in listing order (what sent positions point at); None if gone."""
        raw = await self._redis.get(day_listing_key(day))
        return None if raw is None else await asyncio.to_thread(_paper_ids, str(raw))

    async def finish(self, delivery: QueuedDelivery, positions: Sequence[int]) -> None:
        """Record a completed delivery in one step: delivered, newest day, papers sent, queue entry acknowledged.

        `positions` are those of the papers sent in the day's stored listing. The records go to the chat's
        current id (a group that migrated while it was sent keeps them under its new one); a chat that
        unsubscribed meanwhile gets no record at all, only the queue entry is dropped.
        """
        packed = pack_positions(positions)

        async def run(to: ChatRef, forwarded: str) -> int:
            keys, args = _finish_call(delivery, to, forwarded, packed)
            return int(await self._finish(keys=keys, args=args))

        await self._on_current_chat(delivery.chat, run)

    async def finish_many(self, done: Sequence[tuple[QueuedDelivery, Sequence[int]]]) -> None:
        """Record many completed deliveries to chats that did not migrate, in one round trip (bulk simulations)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for delivery, positions in done:
                keys, args = _finish_call(delivery, delivery.chat, "", pack_positions(positions))
                await self._finish(keys=keys, args=args, client=pipe)  # type: ignore[arg-type]  # a single server's pipeline (bulk runs)
            answers = await pipe.execute()
        if any(int(answer) == FOLLOWED for answer in answers):
            raise RuntimeError("finish_many is for chats that did not migrate; use finish")

    async def _on_current_chat(self, chat: ChatRef, run: Callable[[ChatRef, str], Awaitable[int]]) -> int:
        """Run a per-chat write on the chat's current id (again if the chat migrates in between); its answer."""
        while True:
            to = await self.current_chat(chat)
            answer = await run(to, "" if to == chat else to.key)
            if answer != FOLLOWED:
                return answer

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

    # ---- the enqueue tick, a batch of chats at a time (one round trip per batch)

    async def offer_due(self, mode: OfferMode, newest: str | None, plan: Sequence[DuePlan]) -> int:
        """For each chat: offer it `newest` (queue it, or make it wait) if asked, then set or clear its due time.

        `mode` says what an offer means now (see OFFER_DUE); chats without a subscription are never queued,
        and a chat is queued at most once per day. Returns how many digests were queued.
        """
        if not plan:
            return 0
        keys = [DUE_KEY, WAITING_KEY, QUEUE_KEY, DAYS_KEY]
        chats: list[str] = []
        for chat, due, offer in plan:
            keys += [subscriber_key(chat), records_key(chat)]
            chats += [chat.key, due, "1" if offer else "0"]
        return int(await self._offer_due(keys=keys, args=[mode, newest or "", RECORD_TTL_SECONDS, json.dumps(chats)]))

    async def pop_unscheduled_all(self, batch: int = 1000) -> AsyncIterator[list[ChatRef]]:
        """Take every chat whose delivery time is new or changed, a batch at a time."""
        while chats := await self.pop_unscheduled(batch):
            yield chats

    async def due_batches(self, now_epoch: float, batch: int = 1000) -> AsyncIterator[list[ChatRef]]:
        """Every chat whose delivery time has come, a batch at a time (the caller reschedules each batch)."""
        while chats := await self.due_chats(now_epoch, batch):
            yield chats

    async def stop_waiting_all(self, chats: Sequence[ChatRef]) -> None:
        """Take chats off the waiting list once they were offered the day they waited for."""
        if chats:
            await self._redis.srem(WAITING_KEY, *(chat.key for chat in chats))
