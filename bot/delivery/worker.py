"""Delivery workers: take queued digests from the Redis stream, send them through a platform, record them once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Protocol

import numpy as np

from bot.clock import Clock, utc_now
from bot.delivery.seen import SeenPapers
from bot.filters import CompiledMatcher, Filter, PreparedPapers
from bot.filters.compiled import Positions
from bot.models import Digest, Listing
from bot.ranking.arrange import Arranged, arranged_digest
from bot.service import DigestService
from bot.store import Store
from bot.store.delivery import DeliveryState, QueuedDelivery
from bot.store.stats import Stats
from bot.subscribers import ChatRef, Lang, Subscriber

log = logging.getLogger(__name__)
LISTINGS_KEPT = 3  # the days a worker keeps parsed in memory
MIN_LEASE_MS = 1000
REFILL_SHARE = 4  # run() takes new deliveries once 1/REFILL_SHARE of its concurrency is free


@dataclass
class BatchPlan:
    """What a worker works out for a whole batch of deliveries at once, keyed by (queued chat key, day)."""

    arranged: dict[tuple[str, str], Arranged] = field(default_factory=dict)  # the papers to send, ranked and cut


def _matched_positions(filters: Mapping[str, tuple[Filter, ...]], papers: PreparedPapers) -> dict[str, Positions]:
    """Each chat's matched positions in a day's papers (CPU work: run in a thread, off the event loop)."""
    return CompiledMatcher(filters).match_positions(papers)


class SendResult(Enum):
    """How sending to a chat ended."""

    SENT = "sent"
    GONE = "gone"  # the chat blocked the bot or no longer exists: it was unsubscribed
    FAILED = "failed"  # worth trying again later


OnSent = Callable[[int], Awaitable[None]]


class ChatUnsubscribed(Exception):
    """Raised by on_sent when the chat unsubscribed during its delivery: adapters let it end the sending."""


class Sender(Protocol):
    """A platform adapter's way of pushing a digest to one chat."""

    async def deliver(
        self, chat: ChatRef, digest: Digest, lang: Lang, header: str, *, skip: int, on_sent: OnSent
    ) -> SendResult:
        """Send the digest's messages after the first `skip`, calling on_sent(n) after the n-th message.

        on_sent may raise ChatUnsubscribed (a /stop during the delivery): the adapter lets it propagate.
        """

    async def send_text(self, chat: ChatRef, text: str) -> SendResult:
        """Send a plain text (an administrator's broadcast)."""

    def connected(self) -> bool:
        """True while the adapter is connected to its platform."""


def digest_header(day: str, count: int, skipped: int, translations_on: bool) -> str:
    """The first line of a pushed digest, with a note on older digests an outage skipped."""
    header = f"arXiv {day} · {count} 篇新论文 · {count} new papers"
    if skipped:
        header += f"\n（停机期间跳过了 {skipped} 期较早的摘要 · skipped {skipped} older digest(s) while offline）"
    if not translations_on:
        header += "\n翻译未开启，以下为英文。 · Translations are off; showing English."
    return header


@dataclass
class DeliveryWorker:
    """Takes deliveries from the stream (and those a dead worker left), sends them, acknowledges them.

    Each delivery it holds is leased to it in Redis and the lease is renewed while it sends, however long that
    takes (a group digest at 3 s a message, a long RetryAfter): only a worker that stopped renewing (it died) has
    its deliveries taken over, about `claim_idle_ms` after its last renewal.
    """

    store: Store
    state: DeliveryState
    service: DigestService
    senders: Mapping[str, Sender]
    consumer: str
    claim_idle_ms: int = 60_000
    max_attempts: int = 5
    batch: int = 16  # deliveries handled together by work_once
    concurrency: int = 100  # deliveries in flight at once in run(): enough slow chats to fill the overall rate
    stats: Stats | None = None
    clock: Clock = utc_now
    _group_ready: bool = False
    _listings: dict[str, Listing] = field(default_factory=dict)
    _prepared: dict[str, PreparedPapers] = field(default_factory=dict)  # each kept day's papers, words worked out
    _held: dict[str, asyncio.Task[None]] = field(default_factory=dict)  # entry id -> the task sending it
    _seen: SeenPapers = field(init=False)

    def __post_init__(self) -> None:
        self._seen = SeenPapers(self.state)

    @property
    def lease_ms(self) -> int:
        """How long a lease lasts without renewal: the claim idle time (at least a second)."""
        return max(self.claim_idle_ms, MIN_LEASE_MS)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, keeping up to `concurrency` deliveries in flight; then let them finish."""
        log.info("delivery worker %s started", self.consumer)
        # Refill only once a quarter of the slots are free: deliveries finish one at a time at the paced rate, and
        # taking them one at a time would match and rank each chat alone instead of a batch at once.
        refill_at = self.concurrency - max(1, self.concurrency // REFILL_SHARE)
        async with self._leases_renewed():
            while not stop.is_set():
                if len(self._held) > refill_at:
                    await asyncio.wait(set(self._held.values()), return_when=asyncio.FIRST_COMPLETED)
                    continue
                await self._start(self.concurrency - len(self._held), block_ms=1000)
            if self._held:
                await asyncio.wait(set(self._held.values()))

    async def work_once(self, block_ms: int = 0) -> int:
        """Handle one batch: stale deliveries first, then new ones; returns how many were handled."""
        async with self._leases_renewed():
            started = await self._start(self.batch, block_ms)
            if started:
                await asyncio.wait(started)
        return len(started)

    async def _start(self, count: int, block_ms: int) -> list[asyncio.Task[None]]:
        """Take up to `count` deliveries (a dead worker's first, then new ones) and start sending them."""
        if not self._group_ready:
            await self.state.ensure_group()
            self._group_ready = True
        batch = await self.state.claim_stale(self.consumer, self.claim_idle_ms, count, self.lease_ms)
        if not batch:
            batch = await self.state.read(self.consumer, count, block_ms, self.lease_ms)
        if not batch:
            return []
        plan = await self._plan_batch(batch)
        tasks = []
        for delivery in batch:
            task = asyncio.create_task(self._handle_safely(delivery, plan))
            self._held[delivery.entry_id] = task
            task.add_done_callback(functools.partial(self._done, delivery.entry_id))
            tasks.append(task)
        return tasks

    def _done(self, entry_id: str, task: asyncio.Task[None]) -> None:
        """Free a delivery's slot when its task ends."""
        if self._held.get(entry_id) is task:
            del self._held[entry_id]

    @asynccontextmanager
    async def _leases_renewed(self) -> AsyncIterator[None]:
        """Renew the leases of the deliveries this worker holds, every third of a lease, while inside."""
        renewer = asyncio.create_task(self._renew_leases())
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew_leases(self) -> None:
        """Keep this worker's leases alive; stop sending a delivery whose lease another worker took."""
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                lost = await self.state.renew_leases(self.consumer, list(self._held), self.lease_ms)
            except Exception as exc:  # Redis unreachable: the next round tries again
                log.warning("delivery worker %s: cannot renew leases (%s)", self.consumer, exc)
                continue
            for entry_id in lost:
                task = self._held.get(entry_id)
                if task is not None and not task.done():
                    log.warning("delivery %s was taken over by another worker; stopping here", entry_id)
                    task.cancel()

    async def _listing(self, day: str) -> Listing | None:
        """A day's listing, read from Redis once per worker rather than once per chat."""
        if day not in self._listings:
            listing = await self.state.day_listing(day)
            if listing is None:
                return None
            if len(self._listings) >= LISTINGS_KEPT:
                oldest = next(iter(self._listings))
                self._listings.pop(oldest)
                self._prepared.pop(oldest, None)
            self._listings[day] = listing
            self._prepared[day] = PreparedPapers(listing.papers)
        return self._listings[day]

    async def _plan_batch(self, batch: list[QueuedDelivery]) -> BatchPlan:
        """Every delivery's papers to send: one pass over each day's listing, then the whole batch ranked at once.

        A chat's papers are those its filters match minus those it was already sent (cross-lists come back).
        """
        filters_by_day: dict[str, dict[str, tuple[Filter, ...]]] = {}
        current: dict[str, ChatRef] = {}  # queued chat key -> the chat now (a group may have migrated)
        for delivery in batch:
            chat = current[delivery.chat.key] = await self.state.current_chat(delivery.chat)
            sub = await self.store.get_subscriber(chat)
            if sub is not None:
                filters_by_day.setdefault(delivery.day, {})[delivery.chat.key] = sub.filters
        plan = BatchPlan()
        for day, filters in filters_by_day.items():
            listing = await self._listing(day)
            if listing is None:
                continue
            matches = await asyncio.to_thread(_matched_positions, filters, self._prepared[day])
            chats = [current[key] for key in matches]
            seen = await asyncio.gather(*(self._seen.of(chat) for chat in chats))
            unseen = [await self._unseen(rows, day, ids) for rows, ids in zip(matches.values(), seen, strict=True)]
            arranged = await self.service.ranking.arrange_batch(chats, listing, unseen)
            plan.arranged.update(((key, day), chat) for key, chat in zip(matches, arranged, strict=True))
        return plan

    async def _unseen(self, rows: Positions, day: str, seen: set[str]) -> Positions:
        """The matched positions in the day's listing whose papers the chat was not sent already."""
        sent = await self._seen.positions(day, seen) if seen else []
        return rows[~np.isin(rows, sent)] if sent else rows

    async def _handle_safely(self, delivery: QueuedDelivery, plan: BatchPlan) -> None:
        """Handle one delivery; an unexpected error leaves it pending, to be retried and eventually moved aside."""
        try:
            await self.handle(delivery, plan)
        except Exception:
            log.exception("%s day=%s: delivery failed (attempt %d)", delivery.chat.key, delivery.day, delivery.attempts)
        finally:  # a no-op once acknowledged; an unfinished delivery is retried after the claim idle time
            with contextlib.suppress(Exception):  # Redis unreachable: the lease simply expires
                await self.state.release_lease(self.consumer, delivery.entry_id)

    async def handle(self, delivery: QueuedDelivery, plan: BatchPlan) -> None:
        """Send one chat its digest for one day, exactly once (to its new id if the group migrated meanwhile)."""
        chat, day = await self.state.current_chat(delivery.chat), delivery.day
        if delivery.attempts > self.max_attempts:
            log.error("%s day=%s: moved aside after %d attempts", chat.key, day, delivery.attempts - 1)
            await self.state.bury(delivery, f"failed {delivery.attempts - 1} times")
            await self._count("dead")
            return
        sub = await self.store.get_subscriber(chat)
        if sub is None or await self.state.is_delivered(chat, day):
            await self.state.ack(delivery)
            return
        planned = (delivery.chat.key, day)
        digest = await self._digest_for(day, plan.arranged.get(planned))
        if digest is None or not digest.items:
            await self.state.finish(delivery, [])
            return
        await self._send(delivery, chat, sub, digest)

    async def _digest_for(self, day: str, arranged: Arranged | None) -> Digest | None:
        """The chat's digest for the day, as planned for its batch (None: nothing matched, or the listing is gone).

        Only the papers shown are read from the translation cache, not every paper the filters matched.
        """
        listing = await self._listing(day)
        if listing is None or arranged is None:
            return None
        items = await self.service.cached_items(arranged.papers)
        digest = Digest(tuple(items), day=date.fromisoformat(day), categories=listing.categories)
        return arranged_digest(digest, arranged)

    async def _send(self, delivery: QueuedDelivery, chat: ChatRef, sub: Subscriber, digest: Digest) -> None:
        """Push the digest through the chat's platform and record the outcome."""
        day = delivery.day
        sender = self.senders.get(chat.platform)
        if sender is None:
            log.warning(
                "%s day=%s: no %s adapter in this process; leaving it for another", chat.key, day, chat.platform
            )
            return
        header = digest_header(day, len(digest.items), delivery.skipped, self.service.translations_on)

        async def on_sent(count: int) -> None:
            if not await self.state.set_progress(chat, day, count):
                raise ChatUnsubscribed(chat.key)

        skip = await self.state.progress(chat, day)
        try:
            result = await sender.deliver(chat, digest, sub.lang, header, skip=skip, on_sent=on_sent)
        except ChatUnsubscribed:
            log.info("%s day=%s: unsubscribed during its delivery; the rest is not sent", chat.key, day)
            await self.state.ack(delivery)
            return
        if result is SendResult.SENT:
            positions = await self._seen.positions(day, (item.paper.arxiv_id for item in digest.items))
            await self.state.finish(delivery, positions)
            log.info("%s day=%s: digest sent (%d papers)", chat.key, day, len(digest.items))
            await self._count("sent")
        elif result is SendResult.GONE:
            await self.state.ack(delivery)
            await self._count("gone")
        else:
            log.warning("%s day=%s: send failed; will retry", chat.key, day)
            await self._count("failed")

    async def _count(self, outcome: str) -> None:
        """Add a delivery's outcome to the shared counters."""
        if self.stats is None:
            return
        if outcome == "sent":
            await self.stats.record_sent(self.clock().date())
        else:
            await self.stats.record_failure(outcome)
