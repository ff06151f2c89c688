"""The daily delivery engine: arXiv's calendar, each chat's own time, exactly-once queueing, failures.

Time is a parameter: each test moves `now` by hand and runs the engine's ticks, no sleeping.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import pytest

from bot.calendar import ArxivCalendar
from bot.delivery import DailyEngine, DeliveryWorker, OnSent, SendResult
from bot.delivery.seen import SeenPapers
from bot.models import Digest, TranslationStatus
from bot.service import DigestService
from bot.store import Store
from bot.store.delivery import DeliveryState
from bot.store.keys import DUE_KEY, sent_key
from bot.subscribers import ChatRef, Lang, Subscriber
from handlers.commands import Commands, Incoming
from tests.fakes.arxiv_server import Canned, FakeArxiv, fixture_bytes
from tests.fakes.llm_server import Behaviour, FakeLLM
from tests.redis_cluster import ON_BOTH_BACKENDS
from tests.worker_processes import traces_of

pytestmark = ON_BOTH_BACKENDS

SHANGHAI = ChatRef("telegram", "1")
BERLIN = ChatRef("telegram", "2")
FEED = "cs.LG+stat.ML"
PAPERS_A_DAY = 3


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """An instant in March 2024, UTC (arXiv's 20:00 EDT is 00:00 UTC the next day from March 10)."""
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def feed_for(day: date) -> bytes:
    """The fixture feed relabelled as `day`'s listing, with paper ids of that day so every day brings new papers."""
    xml = fixture_bytes("rss_cs.LG+stat.ML.xml").decode()
    label = day.strftime("%a, %d %b %Y")
    xml = re.sub(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} 2024", label, xml)
    return xml.replace("2403.15", f"2403.{day.day:02d}").encode()


@dataclass
class RecordingSender:
    """A platform stand-in that records each digest it is asked to deliver (real adapters are tested elsewhere)."""

    results: list[SendResult] = field(default_factory=list)
    sent: list[tuple[ChatRef, Digest, str]] = field(default_factory=list)
    texts: list[tuple[ChatRef, str]] = field(default_factory=list)

    async def deliver(
        self, chat: ChatRef, digest: Digest, lang: Lang, header: str, *, skip: int, on_sent: OnSent
    ) -> SendResult:
        """Record the digest, or answer with the next scripted result."""
        result = self.results.pop(0) if self.results else SendResult.SENT
        if result is SendResult.SENT:
            self.sent.append((chat, digest, header))
            await on_sent(1)
        return result

    async def send_text(self, chat: ChatRef, text: str) -> SendResult:
        """Record a plain text."""
        self.texts.append((chat, text))
        return SendResult.SENT

    def connected(self) -> bool:
        """Always connected."""
        return True

    def days_of(self, chat: ChatRef) -> list[str]:
        """The listing days delivered to one chat."""
        return [f"{d.day}" for c, d, _ in self.sent if c == chat]


@dataclass
class Bot:
    """The engine, a worker and the fakes, with helpers to move time along."""

    engine: DailyEngine
    worker: DeliveryWorker
    sender: RecordingSender
    arxiv: FakeArxiv
    state: DeliveryState
    store: Store

    async def subscribe(self, chat: ChatRef, at: time, tz: str, text: str = "cs.LG stat.ML") -> None:
        """Subscribe a chat with one filter and a delivery time."""
        from bot.filters import parse_filter

        await self.store.save_subscriber(Subscriber(chat, (parse_filter(text),), at, tz, Lang.BOTH))

    async def at(self, now: datetime, feed_day: date | None = None) -> int:
        """Run the ticks at `now` (with the feed showing `feed_day`) and let the worker drain the queue."""
        if feed_day is not None:
            self.arxiv.rss_feeds[FEED] = feed_for(feed_day)
        await self.engine.fetch_tick(now)
        queued = await self.engine.enqueue_tick(now)
        while await self.worker.work_once():
            pass
        return queued


@pytest.fixture(name="bot")
async def fixture_bot(service: DigestService, store: Store, arxiv: FakeArxiv) -> Bot:
    """The engine over the real service and Redis, fed by the fake arXiv, delivering to a recording sender."""
    return make_bot(service, store, arxiv, ArxivCalendar())


def make_bot(service: DigestService, store: Store, arxiv: FakeArxiv, calendar: ArxivCalendar) -> Bot:
    """Assemble a Bot around one calendar."""
    state = store.delivery
    sender = RecordingSender()
    worker = DeliveryWorker(store, state, service, {"telegram": sender}, "w1", claim_idle_ms=0, max_attempts=3)
    return Bot(DailyEngine(service, store, state, calendar), worker, sender, arxiv, state, store)


async def test_monday_delivery_carries_the_sunday_evening_announcement(bot: Bot, fake_llm: FakeLLM) -> None:
    """A Shanghai reader at 09:00 Monday gets Sunday evening's announcement, translated once, nothing before."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    bot.arxiv.rss_feeds[FEED] = fixture_bytes("rss_weekend_empty.xml")
    await bot.at(utc(24, 12))  # Sunday noon: arXiv's feed is empty on weekends
    assert bot.sender.sent == []
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))  # 20:40 EDT Sunday: the new listing is fetched
    assert bot.sender.sent == [] and fake_llm.count == PAPERS_A_DAY
    await bot.at(utc(25, 1, 0))  # 09:00 in Shanghai
    [(chat, digest, header)] = bot.sender.sent
    assert chat == SHANGHAI and digest.day == date(2024, 3, 25) and "2024-03-25" in header
    assert len(digest.items) == PAPERS_A_DAY and all(i.status is TranslationStatus.OK for i in digest.items)
    assert fake_llm.count == PAPERS_A_DAY


async def test_friday_and_saturday_send_nothing(bot: Bot) -> None:
    """After Friday's digest, the Saturday and Sunday mornings bring no digest at all (no empty ones)."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    await bot.at(utc(29, 0, 40), feed_day=date(2024, 3, 29))  # Thursday 20:40 EDT: Friday's listing
    await bot.at(utc(29, 1))
    assert bot.sender.days_of(SHANGHAI) == ["2024-03-29"]
    for day in (30, 31):  # Saturday and Sunday 09:00 in Shanghai; the feed is empty on weekends
        bot.arxiv.rss_feeds[FEED] = fixture_bytes("rss_weekend_empty.xml")
        await bot.at(utc(day, 0, 40))
        await bot.at(utc(day, 1))
    assert bot.sender.days_of(SHANGHAI) == ["2024-03-29"]


async def test_a_holiday_sends_nothing(service: DigestService, store: Store, arxiv: FakeArxiv) -> None:
    """On a listed arXiv holiday nothing is fetched and nothing is sent; the next day proceeds normally."""
    bot = make_bot(service, store, arxiv, ArxivCalendar(holidays=frozenset({date(2024, 3, 27)})))
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    await bot.at(utc(26, 0, 40), feed_day=date(2024, 3, 26))
    await bot.at(utc(26, 1))
    fetches = arxiv.count("rss")
    await bot.at(utc(27, 0, 40))
    await bot.at(utc(27, 1))
    assert arxiv.count("rss") == fetches, "a holiday is not fetched"
    await bot.at(utc(28, 0, 40), feed_day=date(2024, 3, 28))
    await bot.at(utc(28, 1))
    assert bot.sender.days_of(SHANGHAI) == ["2024-03-26", "2024-03-28"]


async def test_two_timezones_each_get_theirs_at_their_own_local_time(bot: Bot) -> None:
    """Shanghai at 09:00 and Berlin at 08:00 each receive the day's digest at their own local time."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    await bot.subscribe(BERLIN, time(8), "Europe/Berlin")
    await bot.at(utc(25, 0, 30), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 1))  # 09:00 Shanghai, 02:00 Berlin
    assert [c for c, _, _ in bot.sender.sent] == [SHANGHAI]
    await bot.at(utc(25, 6, 59))
    assert [c for c, _, _ in bot.sender.sent] == [SHANGHAI]
    await bot.at(utc(25, 7))  # 08:00 Berlin (CET)
    assert [c for c, _, _ in bot.sender.sent] == [SHANGHAI, BERLIN]


async def test_after_an_outage_only_the_newest_missed_digest_arrives(bot: Bot) -> None:
    """A reader whose deliveries were missed for days gets just the newest digest, told how many were skipped."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 1))
    for day in (26, 27, 28):  # fetched by another process, but this chat's delivery time never came round
        bot.arxiv.rss_feeds[FEED] = feed_for(date(2024, 3, day))
        await bot.engine.fetch_tick(utc(day, 0, 40))
    await bot.at(utc(28, 10))
    assert bot.sender.days_of(SHANGHAI) == ["2024-03-25", "2024-03-28"]
    assert "skipped 2" in bot.sender.sent[-1][2]


async def test_no_paper_twice_even_when_announced_again(bot: Bot) -> None:
    """A paper already delivered is left out of later digests; a day with nothing new sends nothing."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 1))
    repeat = feed_for(date(2024, 3, 25)).replace(b"Mon, 25 Mar 2024", b"Tue, 26 Mar 2024")
    bot.arxiv.rss_feeds[FEED] = repeat  # the same papers announced again on Tuesday
    await bot.at(utc(26, 0, 40))
    await bot.at(utc(26, 1))
    assert bot.sender.days_of(SHANGHAI) == ["2024-03-25"]
    assert await bot.state.last_day(SHANGHAI) == "2024-03-26"


async def test_a_late_feed_is_waited_for_and_delivered_late(bot: Bot) -> None:
    """When arXiv's feed is late, due readers wait and get the digest as soon as it appears, not a day later."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 22))  # still Friday's listing at 20:40 EDT
    await bot.at(utc(25, 1))  # due, but the day is not there
    assert bot.sender.sent == []
    await bot.at(utc(25, 1, 30), feed_day=date(2024, 3, 25))
    assert bot.sender.days_of(SHANGHAI) == ["2024-03-25"]


async def test_arxiv_down_is_retried_and_the_digest_goes_out_late(bot: Bot) -> None:
    """When arXiv fails, the fetch is retried with growing waits and the digest goes out once it answers."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    bot.arxiv.always_rss(Canned(status=404, body=b"down"))
    await bot.at(utc(25, 0, 40))
    await bot.at(utc(25, 0, 45))  # before the retry time: no new request
    assert bot.arxiv.count("rss") == 1
    await bot.at(utc(25, 1))
    assert bot.sender.sent == []
    bot.arxiv.always_rss(None)
    await bot.at(utc(25, 1, 10), feed_day=date(2024, 3, 25))  # the second wait (20 min) is not over yet
    assert bot.sender.sent == []
    await bot.at(utc(25, 1, 20))
    assert bot.sender.days_of(SHANGHAI) == ["2024-03-25"]


async def test_llm_down_sends_english_and_paper_fills_in_later(
    bot: Bot, fake_llm: FakeLLM, service: DigestService
) -> None:
    """With the LLM failing the digest still goes out in English with markers; /paper translates it later."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    fake_llm.script(*[Behaviour(status=503)] * 3 * PAPERS_A_DAY)  # every attempt for every paper fails
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 1))
    [(_, digest, _)] = bot.sender.sent
    assert all(item.status is TranslationStatus.FAILED for item in digest.items)
    item = await service.paper(digest.items[0].paper.arxiv_id)
    assert item.status is TranslationStatus.OK


async def test_a_rejected_llm_key_is_one_warning_for_the_whole_day(
    bot: Bot, fake_llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """A 401 from the LLM for every paper of the day is logged once, plus one summary naming the reason."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    fake_llm.script(*[Behaviour(status=401)] * 3 * PAPERS_A_DAY)
    with caplog.at_level(logging.INFO):
        await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings
    assert f"{PAPERS_A_DAY} failed ({PAPERS_A_DAY}: " in warnings[-1] and "401" in warnings[-1]


async def test_a_poison_delivery_is_moved_aside_and_does_not_block_others(bot: Bot) -> None:
    """A chat whose sends always fail is moved to the dead letters after its attempts; the others get theirs."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    await bot.subscribe(ChatRef("telegram", "3"), time(9), "Asia/Shanghai")
    bot.sender.results = [SendResult.FAILED] * 4
    bot.worker.batch = 1
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 1))
    dead = await bot.state.dead_letters()
    assert [d["chat"] for d in dead] == ["telegram:1"]
    assert bot.sender.days_of(ChatRef("telegram", "3")) == ["2024-03-25"]
    assert await bot.state.queue_depth() == 0


async def test_a_blocked_chat_is_not_retried(bot: Bot) -> None:
    """A chat the platform reports gone is acknowledged and never tried again."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    bot.sender.results = [SendResult.GONE]
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 1))
    await bot.at(utc(25, 2))
    assert bot.sender.sent == [] and await bot.state.queue_depth() == 0


async def test_two_schedulers_enqueue_each_digest_once(
    service: DigestService, store: Store, arxiv: FakeArxiv, redis_url: Callable[[], str]
) -> None:
    """Two schedulers ticking at the same moment on separate connections queue each chat's digest exactly once."""
    first = make_bot(service, store, arxiv, ArxivCalendar())
    other_store = Store.from_url(redis_url())
    second = make_bot(service, other_store, arxiv, ArxivCalendar())
    try:
        for n in range(40):
            await first.subscribe(ChatRef("telegram", str(100 + n)), time(9), "Asia/Shanghai")
        arxiv.rss_feeds[FEED] = feed_for(date(2024, 3, 25))
        import asyncio

        await asyncio.gather(first.engine.fetch_tick(utc(25, 0, 40)), second.engine.fetch_tick(utc(25, 0, 40)))
        await asyncio.gather(first.engine.enqueue_tick(utc(24, 12)), second.engine.enqueue_tick(utc(24, 12)))
        counts = await asyncio.gather(first.engine.enqueue_tick(utc(25, 1)), second.engine.enqueue_tick(utc(25, 1)))
        assert sum(counts) == 40
        assert await first.state.queue_depth() == 40
        assert await first.state.hold_scheduler_lock("a", 60_000)
        assert not await second.state.hold_scheduler_lock("b", 60_000)
    finally:
        await other_store.close()


async def test_a_delivery_is_never_sent_twice(bot: Bot) -> None:
    """Queueing the same chat and day again is refused, and a duplicated queue entry is not sent twice."""
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 1))
    assert not await bot.state.enqueue(SHANGHAI, "2024-03-25", 0)
    await bot.store.redis_for_tests.xadd("axd:deliveries", {"chat": SHANGHAI.key, "day": "2024-03-25", "skipped": 0})
    while await bot.worker.work_once():
        pass
    assert bot.sender.days_of(SHANGHAI) == ["2024-03-25"]


async def test_a_migrated_group_keeps_its_delivery_history(
    service: DigestService, store: Store, arxiv: FakeArxiv
) -> None:
    """A group that gets a new id keeps its settings, its delivery time, the days it received and the papers it saw."""
    # No listing on the 26th: when the moved chat is next due (07:00 Berlin) its newest day is the one it received.
    bot = make_bot(service, store, arxiv, ArxivCalendar(holidays=frozenset({date(2024, 3, 26)})))
    await bot.subscribe(SHANGHAI, time(7), "Europe/Berlin")
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 6))
    new = ChatRef("telegram", "-100777")
    await bot.store.move_subscriber(SHANGHAI, new)
    moved = await bot.store.get_subscriber(new)
    assert moved is not None and moved.timezone == "Europe/Berlin"
    assert await bot.store.get_subscriber(SHANGHAI) is None
    assert await bot.state.last_day(new) == "2024-03-25"
    assert len(await SeenPapers(bot.state).of(new)) == PAPERS_A_DAY
    await bot.at(utc(26, 6))
    assert bot.sender.days_of(new) == [], "the day it already received is not sent again under its new id"
    await bot.at(utc(27, 6), feed_day=date(2024, 3, 27))
    assert bot.sender.days_of(new) == ["2024-03-27"], "it stays scheduled at its own time under the new id"


async def test_stop_after_deliveries_leaves_no_due_time_or_papers_seen(bot: Bot, service: DigestService) -> None:
    """/stop from a chat that has received a day and awaits the next forgets its due time and the papers it saw."""
    await bot.subscribe(SHANGHAI, time(7), "Europe/Berlin")
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 6))
    assert bot.sender.days_of(SHANGHAI) == ["2024-03-25"]
    traces = await traces_of(bot.store, SHANGHAI)
    assert f"{DUE_KEY} lists it" in traces and sent_key(SHANGHAI) in traces, traces
    await Commands(service, bot.store).handle(Incoming(SHANGHAI, SHANGHAI.chat_id, "/stop"))
    assert await traces_of(bot.store, SHANGHAI) == []


async def test_nothing_is_fetched_while_nobody_has_a_topic(bot: Bot) -> None:
    """With no subscriber filters the scheduler leaves arXiv alone."""
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    assert bot.arxiv.count("rss") == 0
