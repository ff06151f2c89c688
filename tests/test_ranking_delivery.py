"""The pushed digest is ranked and limited per chat by the same call as /digest."""

from __future__ import annotations

from datetime import date, time

from bot.calendar import ArxivCalendar
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
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
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
    await bot.subscribe(SHANGHAI, time(9), "Asia/Shanghai")
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
        await bot.subscribe(chat, time(9), "Asia/Shanghai")
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
