"""The Telegram adapter end to end: real python-telegram-bot polling a fake Bot API, real Redis, fake arXiv and LLM."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from telegram.ext import CommandHandler

from bot.config import Secret
from bot.delivery import SendResult
from bot.models import Digest, DigestItem, Paper, Translation, TranslationStatus
from bot.service import DigestService
from bot.store import Store
from bot.subscribers import ChatRef, Lang
from handlers.commands import Commands
from handlers.replies import DigestReply, TextReply
from handlers.telegram_bot import BOT_COMMANDS, TelegramAdapter, build_application, render_reply
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, fixture_fake_telegram  # noqa: F401
from tests.telegram_adapter import running_adapter

USER = 4242
GROUP = -4001


@pytest.fixture(name="adapter")
async def fixture_adapter(
    fake_telegram: FakeTelegram, service: DigestService, store: Store
) -> AsyncIterator[TelegramAdapter]:
    """The real adapter polling the fake Bot API, with a short pacing interval so tests stay quick."""
    async with running_adapter(fake_telegram, service, store) as adapter:
        yield adapter


def _paper(n: int, title: str | None = None) -> Paper:
    """A paper numbered n."""
    return Paper(
        arxiv_id=f"2403.{10000 + n}",
        version=1,
        title=title or f"Paper number {n} " + "word " * 30,
        abstract="Abstract. " * 50,
        url=f"https://arxiv.org/abs/2403.{10000 + n}",
    )


def _item(paper: Paper, title_zh: str = "中文标题") -> DigestItem:
    """A translated digest item."""
    tr = Translation(title_zh=title_zh, tldr_zh="一句话总结，" * 20, abstract_zh="摘要" * 100, tldr_en="In short.")
    return DigestItem(paper, tr, TranslationStatus.OK)


async def test_a_user_subscribes_reads_presses_and_blocks(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter, store: Store
) -> None:
    """A scripted user subscribes, asks for a paper, gets a digest, presses its button, then blocks the bot."""
    fake_telegram.user_sends(USER, "/subscribe cs.LG stat.ML")
    [reply] = await fake_telegram.wait_for_sent_to(USER, 1)
    assert "cs.LG stat.ML" in reply["text"]
    assert await store.get_subscriber(ChatRef("telegram", str(USER))) is not None

    fake_telegram.user_sends(USER, "/paper 2402.03478")
    sent = await fake_telegram.wait_for_sent_to(USER, 2)
    assert sent[1]["text"].startswith("中文：") and sent[1]["parse_mode"] == "HTML"
    assert (USER, "typing") in fake_telegram.chat_actions, "the user sees the bot working while it translates"

    fake_telegram.user_sends(USER, "/digest")
    sent = await fake_telegram.wait_for_sent_to(USER, 3)
    digest = sent[2]
    assert "1. 中文：Sparse Mixture-of-Experts" in digest["text"]
    buttons = [b for row in digest["reply_markup"]["inline_keyboard"] for b in row]  # type: ignore[index]
    assert [b["text"] for b in buttons] == ["1", "2", "3"]

    fake_telegram.user_presses(USER, digest["message_id"], buttons[1]["callback_data"])
    sent = await fake_telegram.wait_for_sent_to(USER, 4)
    assert "中文：Gradient-based Saliency Maps" in sent[3]["text"]
    assert len(fake_telegram.callback_answers) == 1

    fake_telegram.block(USER)
    fake_telegram.user_sends(USER, "/list")
    await _wait_until_unsubscribed(store, ChatRef("telegram", str(USER)))


async def _wait_until_unsubscribed(store: Store, chat: ChatRef) -> None:
    """Wait (briefly) until the chat's subscription is gone."""
    import asyncio

    for _ in range(100):
        if await store.get_subscriber(chat) is None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{chat.key} is still subscribed")


async def test_commands_are_announced(fake_telegram: FakeTelegram, adapter: TelegramAdapter) -> None:
    """At start the bot registers its command list so Telegram's menu shows it."""
    names = [c["command"] for c in fake_telegram.my_commands()]
    assert {"subscribe", "paper", "digest", "stop", "help"} <= set(names)


async def test_only_group_admins_change_the_subscription(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter, store: Store
) -> None:
    """In a group a member's /subscribe is refused, an administrator's works, and anyone may use /paper."""
    fake_telegram.set_member_status(GROUP, 11, "member")
    fake_telegram.set_member_status(GROUP, 12, "administrator")
    fake_telegram.user_sends(GROUP, "/subscribe cs.LG", user_id=11, chat_type="group", title="Reading group")
    [refused] = await fake_telegram.wait_for_sent_to(GROUP, 1)
    assert "administrators" in refused["text"]
    fake_telegram.user_sends(GROUP, "/subscribe@arxiv_digest_test_bot cs.LG", user_id=12, chat_type="group")
    sent = await fake_telegram.wait_for_sent_to(GROUP, 2)
    assert "subscribed" in sent[1]["text"]
    fake_telegram.user_sends(GROUP, "/paper 2402.03478", user_id=11, chat_type="group")
    sent = await fake_telegram.wait_for_sent_to(GROUP, 3)
    assert "中文：" in sent[2]["text"]


async def test_hostile_titles_arrive_intact(fake_telegram: FakeTelegram, adapter: TelegramAdapter) -> None:
    """Titles with <, &, _, * and LaTeX are escaped so Telegram parses them and shows them verbatim."""
    title = "On <b>bold</b> & $L_1$ *norms* [x](y) __init__"
    digest = Digest((_item(_paper(1, title), title_zh="关于 <i> & $\\alpha_2$ 的研究"),))
    result = await adapter.send(USER, [DigestReply(digest, Lang.BOTH, "arXiv <today> & co")])
    assert result is SendResult.SENT
    [message] = fake_telegram.sent_to(USER)
    assert title in message["text"]
    assert "关于 <i> & $\\alpha_2$ 的研究" in message["text"]
    assert "arXiv <today> & co" in message["text"]


async def test_long_digest_is_split_without_cutting_a_paper(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    """A 60-paper digest arrives in few messages, each within 4096 characters, every paper whole and buttoned once."""
    digest = Digest(tuple(_item(_paper(n)) for n in range(1, 61)))
    assert await adapter.send(USER, [DigestReply(digest, Lang.BOTH, "header")]) is SendResult.SENT
    messages = fake_telegram.sent_to(USER)
    assert 2 <= len(messages) <= 8
    assert all(len(m["text"]) <= 4096 for m in messages)
    numbers = [b["text"] for m in messages for row in m["reply_markup"]["inline_keyboard"] for b in row]  # type: ignore[index]
    assert numbers == [str(n) for n in range(1, 61)]
    for n in range(1, 61):
        holders = [m for m in messages if f"Paper number {n} " in m["text"]]
        assert len(holders) == 1 and "In short." in holders[0]["text"].split(f"Paper number {n} ", 1)[1]


async def test_a_digest_full_of_links_and_hashtags_arrives_whole(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    """Summaries with links, hashtags and /commands (entities Telegram finds itself) never push a message past 100."""
    tldr = "Code at https://github.com/lab/repo, see #LLM and /paper. "
    tr = Translation(title_zh="中文标题", tldr_zh="代码 https://example.org/x #模型", abstract_zh="摘要", tldr_en=tldr)
    digest = Digest(tuple(DigestItem(_paper(n, f"Paper number {n}"), tr, TranslationStatus.OK) for n in range(1, 61)))
    assert await adapter.send(USER, [DigestReply(digest, Lang.BOTH, "header")]) is SendResult.SENT
    messages = fake_telegram.sent_to(USER)
    assert all(len(m["entities"]) <= 100 for m in messages)
    numbers = [b["text"] for m in messages for row in m["reply_markup"]["inline_keyboard"] for b in row]  # type: ignore[index]
    assert numbers == [str(n) for n in range(1, 61)]


async def test_messages_to_one_chat_are_paced(fake_telegram: FakeTelegram, adapter: TelegramAdapter) -> None:
    """Consecutive messages to one chat are spaced by the per-chat interval (Telegram's ~1 message/s rule)."""
    digest = Digest(tuple(_item(_paper(n)) for n in range(1, 61)))
    await adapter.send(USER, [DigestReply(digest, Lang.BOTH, "header")])
    times = [m["sent_at"] for m in fake_telegram.sent_to(USER)]
    assert len(times) >= 2
    assert (times[-1] - times[0]) / (len(times) - 1) >= 0.19, "sends start 0.2 s apart on average"
    assert all(later - earlier >= 0.1 for earlier, later in itertools.pairwise(times)), "arrival jitter only"


async def test_retry_after_pauses_every_send_of_the_bot(fake_telegram: FakeTelegram, adapter: TelegramAdapter) -> None:
    """A 429 with retry_after 2 holds the retried message and another chat's message for 2 s; each arrives once."""
    fake_telegram.retry_after(2, times=1)
    asked = fake_telegram.clock()
    first = asyncio.create_task(adapter.send(USER, [TextReply("first")]))
    for _ in range(100):
        if fake_telegram.calls("sendMessage"):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # the 429 has been answered: the adapter now pauses the bot's shared limiter
    other = await adapter.send(USER + 1, [TextReply("second")])
    assert await first is SendResult.SENT and other is SendResult.SENT
    [retried] = fake_telegram.sent_to(USER)
    [queued] = fake_telegram.sent_to(USER + 1)
    assert retried["sent_at"] - asked >= 1.9, "the retried message waited out retry_after"
    assert queued["sent_at"] - asked >= 1.9, "another chat's message waited too: the pause holds the whole bot"


async def test_migrated_group_keeps_its_subscription(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter, store: Store
) -> None:
    """When a group becomes a supergroup, the message goes to the new id and the subscription moves with it."""
    await store.update_subscriber(ChatRef("telegram", str(GROUP)), lambda s: s)
    fake_telegram.migrate(GROUP, -1009999)
    result = await adapter.send(GROUP, [DigestReply(Digest((_item(_paper(1)),)), Lang.ZH, "h")], is_group=True)
    assert result is SendResult.SENT
    assert len(fake_telegram.sent_to(-1009999)) == 1
    assert await store.get_subscriber(ChatRef("telegram", str(GROUP))) is None
    assert await store.get_subscriber(ChatRef("telegram", "-1009999")) is not None


async def test_unknown_commands_and_long_input_get_replies(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    """An unknown command and a 4000-character argument each get a clear reply, not silence."""
    fake_telegram.user_sends(USER, "/frobnicate")
    fake_telegram.user_sends(USER, "/subscribe " + "a" * 4000)
    sent = await fake_telegram.wait_for_sent_to(USER, 2)
    texts = sorted(m["text"] for m in sent)
    assert any("/help" in t for t in texts)
    assert any("too long" in t for t in texts)


async def test_a_resumed_delivery_sends_only_the_missing_messages(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    """A digest resumed after a crash skips the messages already sent and reports each new one's number."""
    digest = Digest(tuple(_item(_paper(n)) for n in range(1, 61)))
    recorded: list[int] = []

    async def on_sent(count: int) -> None:
        recorded.append(count)

    full = [m.html for m in render_reply(DigestReply(digest, Lang.BOTH, "h"))]
    result = await adapter.deliver(ChatRef("telegram", str(USER)), digest, Lang.BOTH, "h", skip=1, on_sent=on_sent)
    assert result is SendResult.SENT
    assert len(fake_telegram.sent_to(USER)) == len(full) - 1
    assert recorded == list(range(2, len(full) + 1))
    assert "Paper number 1 " not in fake_telegram.sent_to(USER)[0]["text"]


async def test_many_chats_at_once_stay_under_telegrams_overall_limit(store: Store, service: DigestService) -> None:
    """Sending to 90 chats at once, 30 a second at most: Telegram's overall limit is never broken, no 429s."""
    async with FakeTelegram(enforce_limits=True) as telegram:
        adapter = TelegramAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN), telegram.base_url)
        await adapter.start(polling=False)
        try:
            digest = Digest((_item(_paper(1)),))
            results = await asyncio.gather(
                *(adapter.send(1000 + n, [DigestReply(digest, Lang.ZH, "h")]) for n in range(90))
            )
        finally:
            await adapter.stop()
    assert set(results) == {SendResult.SENT}
    assert len(telegram.sent) == 90
    assert telegram.limit_violations == []


async def test_commands_for_another_bot_and_bang_commands_are_not_answered(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter, store: Store
) -> None:
    """`/stop@otherbot` in a group is left alone, and `!paper` is no command on Telegram (only on Discord)."""
    fake_telegram.set_member_status(GROUP, 12, "administrator")
    fake_telegram.user_sends(GROUP, "/subscribe cs.LG", user_id=12, chat_type="group")
    await fake_telegram.wait_for_sent_to(GROUP, 1)
    fake_telegram.user_sends(GROUP, "/stop@otherbot", user_id=12, chat_type="group")
    fake_telegram.user_sends(USER, "!paper 2402.03478")
    [reply] = await fake_telegram.wait_for_sent_to(USER, 1)
    assert "中文：" not in reply["text"] and "/paper 2402.03478" in reply["text"]
    assert len(fake_telegram.sent_to(GROUP)) == 1
    assert await store.get_subscriber(ChatRef("telegram", str(GROUP))) is not None


async def test_a_button_the_bot_did_not_make_is_answered(fake_telegram: FakeTelegram, adapter: TelegramAdapter) -> None:
    """Pressing a button whose data the bot does not know stops its spinner with a short note."""
    fake_telegram.user_sends(USER, "/help")
    [help_message] = await fake_telegram.wait_for_sent_to(USER, 1)
    fake_telegram.user_presses(USER, help_message["message_id"], "vote:42")
    for _ in range(100):
        if fake_telegram.callback_answers:
            break
        await asyncio.sleep(0.05)
    [answer] = fake_telegram.callback_answers
    assert "no longer works" in str(answer.get("text"))


async def test_a_command_is_answered_at_once_while_digests_fill_the_schedule(
    store: Store, service: DigestService
) -> None:
    """With 4 s of digests queued, a /paper shows "typing…" and is answered within half a second, not after them."""
    await service.paper("2402.03478")  # cached, as most /paper answers are
    async with FakeTelegram(enforce_limits=True) as telegram:
        adapter = TelegramAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN), telegram.base_url)
        await adapter.start()
        try:
            digests = asyncio.gather(*(adapter.send(1000 + n, [TextReply(f"digest {n}")]) for n in range(110)))
            await telegram.wait_for_sent(15)
            asked = telegram.clock()
            telegram.user_sends(USER, "/paper 2402.03478")
            [answer] = await telegram.wait_for_sent_to(USER, 1)
            assert len(telegram.sent) < 80, "the answer came before most queued digests"
            await digests
        finally:
            await adapter.stop()
    assert answer["sent_at"] - asked < 0.5
    assert (USER, "typing") in telegram.chat_actions
    assert telegram.limit_violations == []


def test_every_menu_entry_is_a_registered_command() -> None:
    """Each command in Telegram's menu has its own CommandHandler, so no menu entry answers "unknown command"."""
    app = build_application(
        DEFAULT_TOKEN, "http://127.0.0.1:9/bot", lambda status: None, lambda name: _ignore, _ignore, _ignore, _ignore
    )
    registered = {c for handler in app.handlers[0] if isinstance(handler, CommandHandler) for c in handler.commands}
    assert {name for name, _ in BOT_COMMANDS} <= registered
    assert registered == set(Commands.names())


async def _ignore(update: object, context: object) -> None:
    """A callback that does nothing."""
