"""The daily work as functions of `now`: fetch each announcement once, queue each chat's digest at its own time.

APScheduler runs fetch_tick and enqueue_tick concurrently (and a new scheduler may take over while an old
one still fetches), so no decision here relies on the other tick not running: a chat that starts waiting
for the day just as the fetch finishes is released by the next enqueue tick. Reading and matching every
subscriber takes seconds of CPU at 100k subscribers, so it runs away from the event loop that answers users
(bot/delivery/matching.py); every due chat is queued in one tick, a batch of chats per Redis round trip.
"""

from __future__ import annotations

import logging
from collections import Counter
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic

from bot.calendar import ArxivCalendar, next_local_time
from bot.delivery.matching import PROCESS_ABOVE, DaySubscribers, day_subscribers
from bot.errors import SourceUnavailable
from bot.models import Listing, Paper
from bot.service import DigestService
from bot.store import Store
from bot.store.delivery import DayStatus, DeliveryState, DuePlan, OfferMode
from bot.subscribers import ChatRef

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
ENQUEUE_BATCH = 1000  # chats per round trip of the enqueue tick: 100k due in one minute take about 100
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
            started = monotonic()
            try:
                listing = await self.service.listing(feeds, fresh=True)
            except SourceUnavailable as exc:
                wait = min(RETRY_EVERY * 2**status.attempts, MAX_RETRY_WAIT)
                log.warning("day=%s arXiv unavailable (%s); retrying in %d min", day, exc, wait.seconds // 60)
                await self.state.set_day_pending(day, status.attempts + 1, (now + wait).timestamp())
                return None
            if self.service.stats is not None:
                await self.service.stats.record_fetch(day, monotonic() - started)
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
        """Schedule new or changed chats and queue the digest of every chat whose delivery time has come.

        Every due chat is handled in this tick, ENQUEUE_BATCH chats per step (their settings read by one script,
        then one script queues and reschedules the whole batch).
        """
        async for chats in self.state.pop_unscheduled_all(ENQUEUE_BATCH):
            plan = await self._plan(chats, now - JUST_CHANGED, offer=False)
            await self.state.offer_due("schedule", None, plan)
        queued = await self._release_waiting(now)
        async for chats in self.state.due_batches(now.timestamp(), ENQUEUE_BATCH):
            mode, newest = await self._offer_mode(now)
            queued += await self.state.offer_due(mode, newest, await self._plan(chats, now, offer=True))
        return queued

    async def _plan(self, chats: list[ChatRef], now: datetime, *, offer: bool, keep_due: bool = False) -> list[DuePlan]:
        """Each chat's next due time after `now` (cleared without a readable subscription) and whether to offer it.

        Only chats of the running platforms are offered the day, and only with `offer`; `keep_due` leaves due times.
        """
        schedules = await self.store.schedules(chats)
        due_at: dict[tuple[time, str], str] = {}  # chats share a handful of (time, timezone) pairs
        plan: list[DuePlan] = []
        for chat, schedule in zip(chats, schedules, strict=True):
            if schedule is None:
                plan.append((chat, "=" if keep_due else "", False))
                continue
            if schedule not in due_at:
                due_at[schedule] = repr(next_local_time(now, *schedule).timestamp())
            plan.append((chat, "=" if keep_due else due_at[schedule], offer and chat.platform in self.platforms))
        return plan

    async def _offer_mode(self, now: datetime) -> tuple[OfferMode, str | None]:
        """What offering a chat its digest means now: wait for a late day, queue the newest day, or nothing."""
        if not await self._expected_day_final(now):
            return "wait", None
        newest = await self.state.newest_day()  # read after the status: a final day is already among them
        return ("schedule", None) if newest is None else ("offer", newest)

    async def _expected_day_final(self, now: datetime) -> bool:
        """True unless the newest announcement at `now` is still being fetched (or retried)."""
        expected = self.calendar.latest_listing_day(now)
        return expected is None or (await self.state.day_status(expected)).final

    async def _release_waiting(self, now: datetime) -> int:
        """Queue the chats that were due while the day was late, once it is ready (or known not to come)."""
        if not await self._expected_day_final(now):
            return 0
        waiting = await self.state.waiting_chats()
        queued = 0
        for start in range(0, len(waiting), ENQUEUE_BATCH):
            chats = waiting[start : start + ENQUEUE_BATCH]
            mode, newest = await self._offer_mode(now)
            queued += await self.state.offer_due(mode, newest, await self._plan(chats, now, offer=True, keep_due=True))
            await self.state.stop_waiting_all(chats)
        return queued
