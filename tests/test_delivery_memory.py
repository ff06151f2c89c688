"""What a chat received, kept compactly: re-announced papers, the /limit cut, the old layout, memory per chat.

Every delivery goes through the real DeliveryWorker and its FINISH script, over the session's redis-server.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import httpx

from bot.config import settings_from_mapping
from bot.delivery import DeliveryWorker
from bot.delivery.seen import SeenPapers
from bot.filters import parse_filter
from bot.models import Listing, Paper
from bot.service import DigestService
from bot.store import Store, translation_key
from bot.store.keys import SEEN_DAYS, legacy_seen_key, records_key, sent_key
from bot.subscribers import ChatRef, Lang, Subscriber
from bot.translate import Translator
from tests.fakes.llm_server import FakeLLM
from tests.test_delivery import RecordingSender

ALICE = ChatRef("telegram", "501")
BOB = ChatRef("telegram", "502")
MONDAY = date(2024, 3, 25)


def paper(n: int) -> Paper:
    """A short cs.LG paper numbered n."""
    url = f"https://arxiv.org/abs/2403.{10_000 + n}"
    return Paper(f"2403.{10_000 + n}", f"Paper {n}", "An abstract.", url, version=1, categories=("cs.LG",))


def listing(day: date, numbers: list[int]) -> Listing:
    """A day's listing of the numbered papers, in that order."""
    return Listing(tuple(paper(n) for n in numbers), day=day, categories=("cs.LG",))


async def subscribe(store: Store, chat: ChatRef, limit: str = "") -> None:
    """Subscribe a chat to cs.LG, optionally with a /limit."""
    await store.save_subscriber(Subscriber(chat, (parse_filter("cs.LG"),), time(9), "Asia/Shanghai", Lang.EN))
    if limit:
        await store.ratings.set_field(chat, "limit", limit)


async def deliver(store: Store, worker: DeliveryWorker, day_listing: Listing, chats: list[ChatRef]) -> None:
    """Make the day ready, queue it for the chats and let the worker send every delivery."""
    assert day_listing.day is not None
    await store.delivery.save_day(day_listing.day, day_listing)
    for chat in chats:
        assert await store.delivery.enqueue(chat, day_listing.day.isoformat(), 0)
    while await worker.work_once():
        pass


def worker_of(store: Store, service: DigestService, sender: RecordingSender) -> DeliveryWorker:
    """A delivery worker sending to the recording sender."""
    return DeliveryWorker(store, store.delivery, service, {"telegram": sender}, "w1", claim_idle_ms=0)


def received(sender: RecordingSender, chat: ChatRef, day: date) -> list[str]:
    """The ids of the papers a chat was sent for one day."""
    return [i.paper.arxiv_id for c, d, _ in sender.sent if c == chat and d.day == day for i in d.items]


async def test_a_paper_announced_again_goes_only_to_chats_that_did_not_receive_it(
    store: Store, service: DigestService
) -> None:
    """A paper cross-listed on a later day, at another position, is left out for a chat that got it, sent to others."""
    sender = RecordingSender()
    worker = worker_of(store, service, sender)
    await store.delivery.ensure_group()
    await subscribe(store, ALICE)
    await deliver(store, worker, listing(MONDAY, [1, 2, 3]), [ALICE])
    await subscribe(store, BOB)
    tuesday = MONDAY + timedelta(1)
    await deliver(store, worker, listing(tuesday, [7, 8, 2, 9]), [ALICE, BOB])
    assert received(sender, ALICE, MONDAY) == [paper(n).arxiv_id for n in (1, 2, 3)]
    assert received(sender, ALICE, tuesday) == [paper(n).arxiv_id for n in (7, 8, 9)]
    assert received(sender, BOB, tuesday) == [paper(n).arxiv_id for n in (7, 8, 2, 9)]


async def test_papers_beyond_the_limit_are_not_counted_as_received(store: Store, service: DigestService) -> None:
    """With /limit 3 a day of 5 sends 3; when all 5 are announced again, exactly the 2 left out arrive."""
    sender = RecordingSender()
    worker = worker_of(store, service, sender)
    await store.delivery.ensure_group()
    await subscribe(store, ALICE, limit="3")
    await deliver(store, worker, listing(MONDAY, [1, 2, 3, 4, 5]), [ALICE])
    first = received(sender, ALICE, MONDAY)
    assert len(first) == 3
    tuesday = MONDAY + timedelta(1)
    await deliver(store, worker, listing(tuesday, [5, 4, 3, 2, 1]), [ALICE])
    again = received(sender, ALICE, tuesday)
    assert sorted(again) == sorted({paper(n).arxiv_id for n in range(1, 6)} - set(first))


async def test_papers_seen_in_the_old_layout_are_still_left_out_and_converted(
    store: Store, service: DigestService
) -> None:
    """A chat whose received papers are an old sorted set of ids is not sent them again, and the set is converted."""
    sender = RecordingSender()
    worker = worker_of(store, service, sender)
    state = store.delivery
    await state.ensure_group()
    await subscribe(store, ALICE)
    await state.save_day(MONDAY, listing(MONDAY, [1, 2, 3]))
    old = store.redis_for_tests
    await old.zadd(legacy_seen_key(ALICE), {paper(n).arxiv_id: MONDAY.toordinal() for n in (1, 3)})
    await old.hset(f"axd:sub:{ALICE.key}", "last_day", MONDAY.isoformat())
    tuesday = MONDAY + timedelta(1)
    await deliver(store, worker, listing(tuesday, [3, 4, 2, 1]), [ALICE])
    assert received(sender, ALICE, tuesday) == [paper(n).arxiv_id for n in (4, 2)]
    assert not await old.exists(legacy_seen_key(ALICE))
    assert await SeenPapers(state).of(ALICE) == {paper(n).arxiv_id for n in (1, 2, 3, 4)}


async def test_memory_per_chat_stays_flat_over_many_days(store: Store, service: DigestService) -> None:
    """Thirty weekdays of 20-paper digests leave each chat at most SEEN_DAYS days of positions and a few records."""
    sender = RecordingSender()
    worker = worker_of(store, service, sender)
    await store.delivery.ensure_group()
    chats = [ChatRef("telegram", str(600 + n)) for n in range(3)]
    for chat in chats:
        await subscribe(store, chat)
    redis = store.redis_for_tests
    day, sizes = MONDAY, []
    for n in range(30):
        await deliver(store, worker, listing(day, list(range(n * 60, n * 60 + 60))), chats)
        usage = [sum([await redis.memory_usage(k) or 0 for k in (sent_key(c), records_key(c))]) for c in chats]
        sizes.append(max(usage))
        day += timedelta(3 if day.weekday() == 4 else 1)
    assert len(sender.sent) == 90 and all(len(d.items) == 20 for _, d, _ in sender.sent)
    for chat in chats:
        assert len(await redis.hkeys(sent_key(chat))) <= SEEN_DAYS
        assert len(await redis.hkeys(records_key(chat))) <= 2
    assert max(sizes) < 1024, sizes
    assert sizes[-1] <= sizes[14], f"still growing after {SEEN_DAYS} days: {sizes}"


async def test_translations_expire_after_the_configured_days(store: Store, fake_llm: FakeLLM) -> None:
    """TRANSLATION_TTL_DAYS sets how long the translator caches a translation; 0 keeps it for good."""
    async with httpx.AsyncClient(trust_env=False) as http:
        for days, expected in (("7", 7 * 86400), ("0", -1)):
            env = {"LLM_BASE_URL": fake_llm.url, "LLM_MODEL": "m", "TRANSLATION_TTL_DAYS": days}
            llm = settings_from_mapping(env).llm
            assert llm is not None
            translated = paper(int(days))
            await Translator(http, llm, store).translate(translated)
            ttl = await store.redis_for_tests.ttl(translation_key("m", translated.versioned_id))
            assert abs(ttl - expected) <= 1
