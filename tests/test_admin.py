"""Administrator commands: /stats and /broadcast for ADMIN_IDS only."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime

from arxiv_digest.app import broadcaster
from bot.service import DigestService
from bot.store import Store
from bot.subscribers import ChatRef
from handlers.commands import Commands, Incoming
from handlers.replies import TextReply
from tests.test_delivery import RecordingSender

ADMIN = Incoming(ChatRef("telegram", "500"), "500", "")
STRANGER = Incoming(ChatRef("telegram", "600"), "600", "")


def _say(msg: Incoming, text: str) -> Incoming:
    """The same sender, another text."""
    return Incoming(msg.chat, msg.user_id, text)


def _text(replies: Sequence[object]) -> str:
    """The text of a single text reply."""
    [reply] = replies
    assert isinstance(reply, TextReply)
    return reply.text


async def test_admin_commands_are_refused_to_everyone_else(service: DigestService, store: Store) -> None:
    """Someone not in ADMIN_IDS gets "not allowed" for /stats and /broadcast, and nothing is broadcast."""
    sent: list[str] = []

    async def record(text: str) -> int:
        sent.append(text)
        return 1

    commands = Commands(service, store, admin_ids=frozenset({"telegram:500"}), broadcaster=record)
    for text in ("/stats", "/broadcast hello everyone"):
        assert "Not allowed" in _text(await commands.handle(_say(STRANGER, text)))
    assert sent == []
    discord_namesake = Incoming(ChatRef("discord", "9"), "500", "/stats")
    assert "Not allowed" in _text(await commands.handle(discord_namesake)), "platform:id admits one platform"


async def test_stats_shows_subscribers_sent_and_llm_use(service: DigestService, store: Store) -> None:
    """/stats reports subscribers per platform, digests sent today and this month's LLM calls and tokens."""
    commands = Commands(service, store, admin_ids=frozenset({"500"}))
    await commands.handle(_say(ADMIN, "/subscribe cs.LG"))
    await commands.handle(Incoming(ChatRef("discord", "7"), "7", "/subscribe stat.ML"))
    stats = store.stats
    today = service.clock().date()
    await stats.record_sent(today)
    await stats.record_sent(today)
    await stats.record_sent(date(2020, 1, 1))
    await commands.handle(_say(ADMIN, "/paper 2402.03478"))  # one LLM call, 150 tokens at the fake
    text = _text(await commands.handle(_say(ADMIN, "/stats")))
    assert "discord 1, telegram 1" in text
    assert "digests sent today: 2" in text
    assert "1 calls, 150 tokens" in text


async def test_broadcast_reaches_every_subscribed_chat(service: DigestService, store: Store) -> None:
    """An admin's /broadcast sends the text to every subscribed chat, once each."""
    sender = RecordingSender()
    texts = sender.texts
    commands = Commands(service, store, admin_ids=frozenset({"500"}))
    commands.broadcaster = broadcaster(store, {"telegram": sender})
    for n in range(3):
        await commands.handle(Incoming(ChatRef("telegram", str(n)), str(n), "/subscribe cs.LG"))
    reply = _text(await commands.handle(_say(ADMIN, "/broadcast Maintenance tonight")))
    assert "3 chats" in reply
    for _ in range(50):
        if len(texts) == 3:
            break
        await asyncio.sleep(0.02)
    assert sorted(c.chat_id for c, _ in texts) == ["0", "1", "2"]
    assert {t for _, t in texts} == {"Maintenance tonight"}


async def test_stats_counts_the_day_of_the_injected_clock(service: DigestService, store: Store) -> None:
    """/stats counts the digests sent on the service clock's day (UTC), not the machine's day."""
    service.clock = lambda: datetime(2024, 3, 25, 23, 30, tzinfo=UTC)
    commands = Commands(service, store, admin_ids=frozenset({"500"}))
    stats = store.stats
    for day in (date(2024, 3, 25), date(2024, 3, 25), date(2024, 3, 26), datetime.now(UTC).date()):
        await stats.record_sent(day)
    assert "digests sent today: 2" in _text(await commands.handle(_say(ADMIN, "/stats")))
