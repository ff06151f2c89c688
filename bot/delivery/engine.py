"""The daily work as functions of `now`: fetch each announcement once, queue each chat's digest at its own time.

APScheduler runs fetch_tick and enqueue_tick concurrently (and a new scheduler may take over while an old
one still fetches), so no decision here relies on the other tick not running: a chat that starts waiting
for the day just as the fetch finishes is released by the next enqueue tick. Reading and matching every
subscriber takes tens of seconds of CPU at 100k subscribers, so it runs away from the event loop that answers
users (bot/delivery/matching.py).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.calendar import ArxivCalendar, next_local_time
from bot.delivery.matching import PROCESS_ABOVE, DaySubscribers, day_subscribers
from bot.errors import SourceUnavailable
from bot.models import Listing, Paper
from bot.service import DigestService
from bot.store import Store
from bot.store.delivery import DayStatus, DeliveryState
from bot.subscribers import ChatRef, Subscriber

log = logging.getLogger(__name__)
FETCH_MARGIN = timedelta(minutes=30)  # arXiv's feed takes a while to show a new announcement
RETRY_EVERY = timedelta(minutes=10)
MAX_RETRY_WAIT = timedelta(minutes=30)
GIVE_UP_AFTER = timedelta(hours=8)  # a day still missing from the feed by then was not announced
# A time set (by /time) for less than a tick ahead may have passed before the next tick schedules it: it still
# counts for today. A chat that already has today's digest is not sent it twice (the newest-day check).
JUST_CHANGED = timedelta(minutes=1)
# A batch's cache look-ups start together: half the Redis pool (64 connections) at most, so users' commands never
# queue behind them; still well above LLM_CONCURRENCY, so the LLM is rarely idle between batches.
TRANSLATE_BATCH = 32
CHAT_PLATFORMS = frozenset({"telegram", "discord"})  # never the terminal `chat` console


@dataclass
class DailyEngine:
    """Decides, from the clock and Redis, what to fetch and whom to queue; safe to run in several processes.

    Only chats of `platforms` (the chat platforms this deployment runs) are fetched for and queued.
    """

    service: DigestService
    store: Store
    state: DeliveryState
    calendar: ArxivCalendar
    platforms: frozenset[str] = CHAT_PLATFORMS
    process_above: int = PROCESS_ABOVE  # subscribers; above this they are read and matched by another process

    async def fetch_tick(self, now: datetime) -> date | None:
        """Fetch and translate the newest announcement if it is due and not done yet; returns the day made ready."""
        day = self.calendar.latest_listing_day(now)
        if day is None:
            return None
        status = await self.state.day_status(day)
        due = self.calendar.announcement_time(day) + FETCH_MARGIN
        if status.final or now.timestamp() < status.next_try or now < due:
            return None
        found = await self._fetch_and_match(day, now, status)
        if found is None:
            return None
        listing, wanted = found
        await self._translate(listing, wanted)
        await self.state.save_day(day, listing)
        log.info("day=%s ready: %d papers announced", day, len(listing.papers))
        await self._release_waiting(now)
        return day

    async def _fetch_and_match(self, day: date, now: datetime, status: DayStatus) -> tuple[Listing, list[Paper]] | None:
        """The day's listing and the papers some subscriber wants, or None if it is not there (yet)."""
        async with self._day_subscribers() as subscribers:
            feeds = await subscribers.feeds()
            if not feeds:
                return None  # nobody has a topic yet: nothing to fetch
            started = time.monotonic()
            try:
                listing = await self.service.listing(feeds, fresh=True)
            except SourceUnavailable as exc:
                wait = min(RETRY_EVERY * 2**status.attempts, MAX_RETRY_WAIT)
                log.warning("day=%s arXiv unavailable (%s); retrying in %d min", day, exc, wait.seconds // 60)
                await self.state.set_day_pending(day, status.attempts + 1, (now + wait).timestamp())
                return None
            if self.service.stats is not None:
                await self.service.stats.record_fetch(day, time.monotonic() - started)
            if listing.day is not None and listing.day < day:
                await self._not_there_yet(day, now, self.calendar.announcement_time(day), status.attempts)
                return None
            return listing, await subscribers.wanted(listing.papers)

    def _day_subscribers(self) -> AbstractAsyncContextManager[DaySubscribers]:
        """Every subscriber of the running platforms, read and matched off the event loop."""
        return day_subscribers(self.store, self.platforms, self.process_above)

    async def _not_there_yet(self, day: date, now: datetime, announced: datetime, attempts: int) -> None:
        """The feed still shows an older day: try again soon, or conclude there was no announcement."""
        if now >= announced + GIVE_UP_AFTER:
            log.info("day=%s never appeared in the feed: no announcement (a holiday?); nothing will be sent", day)
            await self.state.mark_day_none(day)
            await self._release_waiting(now)
        else:
            await self.state.set_day_pending(day, attempts + 1, (now + RETRY_EVERY).timestamp())

    async def _translate(self, listing: Listing, wanted: list[Paper]) -> None:
        """Translate every paper some subscriber will receive, once each, TRANSLATE_BATCH at a time."""
        reasons: Counter[str] = Counter()
        for start in range(0, len(wanted), TRANSLATE_BATCH):
            results = await self.service.translate(wanted[start : start + TRANSLATE_BATCH])
            reasons.update(str(r) for r in (results or {}).values() if isinstance(r, Exception))
        if reasons:
            reason, count = reasons.most_common(1)[0]
            log.warning(
                "day=%s translated %d papers; %d failed (%d: %s)",
                listing.day,
                len(wanted),
                reasons.total(),
                count,
                reason,
            )
        else:
            log.info("day=%s translated %d papers", listing.day, len(wanted))

    async def enqueue_tick(self, now: datetime) -> int:
        """Schedule new or changed chats and queue the digest of every chat whose delivery time has come."""
        for chat in await self.state.pop_unscheduled():
            sub = await self.store.get_subscriber(chat)
            if sub is not None:
                await self.state.set_due(chat, self._next_due(sub, now - JUST_CHANGED))
        queued = await self._release_waiting(now)
        for chat in await self.state.due_chats(now.timestamp()):
            sub = await self.store.get_subscriber(chat)
            if sub is None:  # unsubscribed, or its record is unreadable: do not let it block the chats behind
                await self.state.unschedule(chat)
                continue
            if chat.platform in self.platforms:
                queued += await self._offer(chat, now)
            await self.state.set_due(chat, self._next_due(sub, now))
        return queued

    @staticmethod
    def _next_due(sub: Subscriber, now: datetime) -> float:
        """When this subscriber is next due, as epoch seconds."""
        return next_local_time(now, sub.delivery_time, sub.timezone).timestamp()

    async def _expected_day_final(self, now: datetime) -> bool:
        """True unless the newest announcement at `now` is still being fetched (or retried)."""
        expected = self.calendar.latest_listing_day(now)
        return expected is None or (await self.state.day_status(expected)).final

    async def _offer(self, chat: ChatRef, now: datetime) -> int:
        """Queue the newest day this chat has not received; wait instead if the expected day is still late."""
        if not await self._expected_day_final(now):
            await self.state.add_waiting(chat)
            return 0
        newest = await self.state.newest_day()  # read after the status: a final day is already among them
        last = await self.state.last_day(chat)
        if newest is None or (last is not None and last >= newest):
            return 0
        skipped = await self.state.ready_days_between(last, newest)
        return int(await self.state.enqueue(chat, newest, skipped))

    async def _release_waiting(self, now: datetime) -> int:
        """Queue the chats that were due while the day was late, once it is ready (or known not to come)."""
        if not await self._expected_day_final(now):
            return 0
        queued = 0
        for chat in await self.state.waiting_chats():
            if chat.platform in self.platforms and await self.store.get_subscriber(chat) is not None:
                queued += await self._offer(chat, now)
            await self.state.stop_waiting(chat)
        return queued
