"""The pushed digest is ranked and limited per chat by the same call as /digest."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import date
from datetime import time as clock_time

from bot.calendar import ArxivCalendar
from bot.chat_ranking import ChatRanking
from bot.models import Listing, Paper
from bot.ranking.arrange import arrange_many
from bot.service import DigestService
from bot.store import Store
from bot.subscribers import ChatRef
from handlers.commands import Commands, Incoming
from tests.fakes.arxiv_server import FakeArxiv
from tests.test_delivery import BERLIN, SHANGHAI, make_bot, utc


async def test_pushed_digest_shows_the_best_papers_then_how_many_more(
    service: DigestService, store: Store, arxiv: FakeArxiv
) -> None:
    """With /limit 1 and an interest, the morning digest carries the paper of interest and a line on the 2 others."""
    bot = make_bot(service, store, arxiv, ArxivCalendar())
    await bot.subscribe(SHANGHAI, clock_time(9), "Asia/Shanghai")
    commands = Commands(service, store)
    for text in ("/limit 1", "/interest kernel two-sample tests for functional data"):
        await commands.handle(Incoming(SHANGHAI, "u1", text))
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 1, 0))
    [(_, digest, _)] = bot.sender.sent
    assert [item.paper.title.split()[0] for item in digest.items] == ["Kernel"]
    assert "2 more matched" in digest.footer and "/digest file" in digest.footer
    assert "is first" in digest.lead


async def test_pushed_digest_without_preferences_is_unchanged(
    service: DigestService, store: Store, arxiv: FakeArxiv
) -> None:
    """A chat that never rated or limited gets every matching paper in announcement order, with no extra lines."""
    bot = make_bot(service, store, arxiv, ArxivCalendar())
    await bot.subscribe(SHANGHAI, clock_time(9), "Asia/Shanghai")
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 1, 0))
    [(_, digest, _)] = bot.sender.sent
    assert [item.paper.title.split()[0] for item in digest.items] == ["Sparse", "Gradient-based", "Kernel"]
    assert digest.footer == "" and digest.lead == ""


async def test_chats_delivered_in_one_batch_each_get_their_own_ranking(
    service: DigestService, store: Store, arxiv: FakeArxiv
) -> None:
    """Chats due in the same minute, scored together by the worker, each get the order their own interest gives."""
    bot = make_bot(service, store, arxiv, ArxivCalendar())
    plain = ChatRef("telegram", "3")
    commands = Commands(service, store)
    for chat, interest in ((SHANGHAI, "kernel two-sample tests"), (BERLIN, "sparse"), (plain, "")):
        await bot.subscribe(chat, clock_time(9), "Asia/Shanghai")
        if interest:
            await commands.handle(Incoming(chat, "u1", f"/interest {interest}"))
    await bot.at(utc(25, 0, 40), feed_day=date(2024, 3, 25))
    await bot.at(utc(25, 1, 0))
    firsts = {chat: [item.paper.title.split()[0] for item in digest.items] for chat, digest, _ in bot.sender.sent}
    assert firsts == {
        SHANGHAI: ["Kernel", "Sparse", "Gradient-based"],
        BERLIN: ["Sparse", "Gradient-based", "Kernel"],
        plain: ["Sparse", "Gradient-based", "Kernel"],
    }


async def test_ranking_a_batch_leaves_the_event_loop_free(store: Store) -> None:
    """While a worker ranks a large batch of chats, the event loop never stalls for more than a sliver of that time."""
    vocabulary = [f"topic{n}" for n in range(3000)]
    pick = random.Random(5).sample
    papers = tuple(Paper(f"2403.{10000 + n}", f"paper {n}", " ".join(pick(vocabulary, 80)), "") for n in range(2000))
    listing = Listing(papers, day=date(2024, 3, 25), categories=("cs.LG",))
    chats = [ChatRef("telegram", str(n)) for n in range(600)]
    for n, chat in enumerate(chats):
        await store.ratings.set_field(chat, "interest", f"{vocabulary[n]} {vocabulary[n * 4]}")
    ranking = ChatRanking(store.ratings)
    matched = [range(len(papers))] * len(chats)
    prefs, index = await store.ratings.preferences_of(chats), await ranking.index(listing)
    started = time.perf_counter()
    arrange_many(papers, index, prefs, matched)  # the same work on the loop, for scale
    on_the_loop = time.perf_counter() - started
    longest_stall = 0.0

    async def watch() -> None:
        nonlocal longest_stall
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0)
            now = time.perf_counter()
            longest_stall, last = max(longest_stall, now - last), now

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # the interpreter hands over often, as it would over a longer ranking
    watcher = asyncio.create_task(watch())
    try:
        await asyncio.sleep(0)
        arranged = await ranking.arrange_batch(chats, listing, matched)
        await asyncio.sleep(0)  # the watcher's turn right after: a stall until now counts too
    finally:
        watcher.cancel()
        sys.setswitchinterval(switch_interval)
    assert all(a.why and len(a.papers) == 20 for a in arranged)
    assert longest_stall < on_the_loop / 4, (longest_stall, on_the_loop)
