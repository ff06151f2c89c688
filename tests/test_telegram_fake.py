"""The fake Telegram Bot API speaks the protocol the real python-telegram-bot 22.8 expects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, parse_html

KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:2401.00001")]])


@pytest.fixture(name="tg")
async def fixture_tg() -> AsyncIterator[FakeTelegram]:
    """A running fake Telegram server with the default token."""
    async with FakeTelegram(token=DEFAULT_TOKEN) as fake:
        yield fake


@pytest.fixture(name="bot")
async def fixture_bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    """A real, initialised telegram.Bot pointed at the fake."""
    async with Bot(DEFAULT_TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
        yield bot


def build_app(tg: FakeTelegram) -> Application:  # type: ignore[type-arg]
    """A real Application pointed at the fake."""
    return ApplicationBuilder().token(DEFAULT_TOKEN).base_url(tg.base_url).base_file_url(tg.base_file_url).build()


async def test_get_me_and_send_html_message_with_keyboard(tg: FakeTelegram, bot: Bot) -> None:
    """The bot user comes back from getMe, and an HTML message with a keyboard round-trips as parsed text."""
    me = await bot.get_me()
    assert me.is_bot and me.username == "arxiv_digest_test_bot"

    message = await bot.send_message(
        42,
        "<b>Attention</b> &amp; <a href='https://arxiv.org/abs/1'>x &lt; y</a>",
        parse_mode="HTML",
        reply_markup=KEYBOARD,
    )

    assert message.text == "Attention & x < y"
    assert message.chat.id == 42 and message.message_id == 1
    assert message.entities == (
        MessageEntity(MessageEntity.BOLD, 0, 9),
        MessageEntity(MessageEntity.TEXT_LINK, 12, 5, url="https://arxiv.org/abs/1"),
    )
    assert message.reply_markup == KEYBOARD
    [sent] = tg.sent_to(42)
    assert sent["raw_text"].startswith("<b>Attention</b>")
    assert sent["parse_mode"] == "HTML"
    assert sent["reply_markup"] == KEYBOARD.to_dict()
    params = tg.calls("sendMessage")[0]
    assert params["chat_id"] == 42 and params["reply_markup"]["inline_keyboard"][0][0]["text"] == "More"


async def test_invalid_html_and_length_give_bad_request(bot: Bot) -> None:
    """Unbalanced tags, unknown tags, bare "<" or "&", empty and over-long texts raise telegram.error.BadRequest."""
    for text in ("<b>open", "<b><i>x</b></i>", "<div>x</div>", "a < b", "Tom & Jerry", "x</b>"):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(42, text, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(42, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(42, "<i>" + "x" * 4097 + "</i>", parse_mode="HTML")
    ok = await bot.send_message(42, "<i>" + "x" * 4096 + "</i>", parse_mode="HTML")
    assert len(ok.text or "") == 4096


async def test_length_counts_utf16_units_after_entity_parsing(bot: Bot) -> None:
    """4096 plain characters pass however long their tags, but 2049 emoji (4098 UTF-16 units) are too long."""
    ok = await bot.send_message(42, "<b>" + "x" * 4000 + "</b>" + "&amp;" * 96, parse_mode="HTML")
    assert len(ok.text or "") == 4096
    await bot.send_message(42, "😀" * 2048)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(42, "😀" * 2049)


async def test_entity_and_keyboard_limits_give_bad_request(bot: Bot) -> None:
    """100 entities and 100 buttons pass; a 101st entity or button, or 65 bytes of button data, are refused."""
    await bot.send_message(42, "<b>x</b> " * 100, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)entities"):
        await bot.send_message(42, "<b>x</b> " * 101, parse_mode="HTML")

    def keyboard(count: int, data: str = "p") -> InlineKeyboardMarkup:
        """`count` buttons in rows of 8."""
        buttons = [InlineKeyboardButton(str(n), callback_data=data) for n in range(count)]
        return InlineKeyboardMarkup([buttons[i : i + 8] for i in range(0, count, 8)])

    await bot.send_message(42, "ok", reply_markup=keyboard(100))
    with pytest.raises(BadRequest, match=r"(?i)reply_markup_too_long"):
        await bot.send_message(42, "ok", reply_markup=keyboard(101))
    await bot.send_message(42, "ok", reply_markup=keyboard(1, "é" * 32))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(42, "ok", reply_markup=keyboard(1, "é" * 32 + "x"))


async def test_links_mentions_tags_and_commands_become_entities_and_count(bot: Bot) -> None:
    """Telegram finds links, mentions, hashtags and commands in plain text itself; they count toward the 100."""
    message = await bot.send_message(
        42,
        '😀 see https://arxiv.org/abs/1 or <a href="https://x.org">x</a> #ml @arxiv_bot /list <code>/not</code>',
        parse_mode="HTML",
    )
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("url", 7, 23),
        ("text_link", 34, 1),
        ("hashtag", 36, 3),
        ("mention", 40, 10),
        ("bot_command", 51, 5),
        ("code", 57, 4),
    ]
    await bot.send_message(42, "<b>x</b> #tag " * 50, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)entities"):
        await bot.send_message(42, "<b>x</b> #tag " * 50 + "/help", parse_mode="HTML")


def test_parse_html_entities_use_utf16_offsets() -> None:
    """Entity offsets count UTF-16 code units, and pre with a language-class code becomes one pre entity."""
    text, entities = parse_html('😀 <tg-spoiler>s</tg-spoiler> <pre><code class="language-py">p</code></pre>')
    assert text == "😀 s p"
    assert entities == [
        {"type": "spoiler", "offset": 3, "length": 1},
        {"type": "pre", "offset": 5, "length": 1, "language": "py"},
    ]


async def test_scripted_failures_map_to_telegram_errors(tg: FakeTelegram, bot: Bot) -> None:
    """Blocked chats raise Forbidden, migrated groups ChatMigrated with the new id, retry_after RetryAfter."""
    tg.block(7)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(7, "hi")

    tg.migrate(-100, -1001234567890)
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-100, "hi")
    assert migrated.value.new_chat_id == -1001234567890
    assert (await bot.send_message(-1001234567890, "hi")).chat.type == "supergroup"

    tg.retry_after(3, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter, match="Retry in 3 seconds"):
            await bot.send_message(8, "hi")
    assert (await bot.send_message(8, "hi")).text == "hi"
    assert [m["chat_id"] for m in tg.sent] == [-1001234567890, 8]


async def test_wrong_token_and_unknown_method(tg: FakeTelegram) -> None:
    """A wrong token gets 401 and an unimplemented method 404, both InvalidToken in python-telegram-bot."""
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("999:wrong", base_url=tg.base_url):
            pass
    async with Bot(DEFAULT_TOKEN, base_url=tg.base_url) as bot:
        with pytest.raises(InvalidToken):
            await bot.send_dice(42)
    assert ("sendDice", {"chat_id": 42}) in tg.requests


async def test_member_status_commands_and_edits(tg: FakeTelegram, bot: Bot) -> None:
    """Member status follows set_member_status, commands are recorded, and a no-op edit is a BadRequest."""
    tg.set_member_status(-5, 11, "administrator")
    tg.set_member_status(-5, 12, "creator")
    assert (await bot.get_chat_member(-5, 11)).status == ChatMemberStatus.ADMINISTRATOR
    assert (await bot.get_chat_member(-5, 12)).status == ChatMemberStatus.OWNER
    assert (await bot.get_chat_member(-5, 13)).status == ChatMemberStatus.MEMBER
    assert {m.user.id for m in await bot.get_chat_administrators(-5)} == {11, 12}
    assert (await bot.get_chat(-5)).type == "group"

    assert await bot.set_my_commands([("start", "Subscribe"), ("help", "Help")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]

    message = await bot.send_message(42, "<b>v1</b>", parse_mode="HTML")
    edited = await bot.edit_message_text("<b>v2</b>", chat_id=42, message_id=message.message_id, parse_mode="HTML")
    assert isinstance(edited, type(message)) and edited.text == "v2"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("<b>v2</b>", chat_id=42, message_id=message.message_id, parse_mode="HTML")
    assert await bot.send_chat_action(42, "typing")
    assert await bot.delete_message(42, message.message_id)


async def test_rate_limits_counted_and_enforced() -> None:
    """Two quick messages to one private chat count a violation, and with enforce_limits the second gets 429."""
    async with FakeTelegram() as tg, Bot(DEFAULT_TOKEN, base_url=tg.base_url) as bot:
        await bot.send_message(42, "one")
        await bot.send_message(42, "two")
        assert [v.kind for v in tg.limit_violations] == ["private_chat_per_second"]
    async with FakeTelegram(enforce_limits=True) as tg, Bot(DEFAULT_TOKEN, base_url=tg.base_url) as bot:
        await bot.send_message(42, "one")
        await bot.send_message(43, "other chat is fine")
        with pytest.raises(RetryAfter):
            await bot.send_message(42, "two")
        assert len(tg.sent) == 2 and len(tg.limit_violations) == 1


async def test_application_polls_command_and_callback(tg: FakeTelegram) -> None:
    """A real polling Application receives a scripted /start and a button press, and its answers reach the fake."""
    pressed: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Reply to /start with a button."""
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>Welcome</b> to arXiv digest", reply_markup=KEYBOARD)

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a button press."""
        assert update.callback_query is not None and update.callback_query.data is not None
        pressed.append(update.callback_query.data)
        await update.callback_query.answer("Loading…")

    app = build_app(tg)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(button))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            tg.user_sends(42, "/start", username="ada")
            [reply] = await tg.wait_for_sent_to(42, 1, timeout=5)
            assert reply["text"] == "Welcome to arXiv digest"
            assert reply["reply_markup"] == KEYBOARD.to_dict()

            tg.user_presses(42, reply["message_id"], "more:2401.00001")
            for _ in range(100):
                if tg.callback_answers:
                    break
                await asyncio.sleep(0.02)
            assert pressed == ["more:2401.00001"]
            assert tg.callback_answers[0]["text"] == "Loading…"
        finally:
            await app.updater.stop()
            await app.stop()
    methods = [name for name, _ in tg.requests]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]


async def test_wait_for_sent_times_out_with_listing(tg: FakeTelegram) -> None:
    """wait_for_sent raises an AssertionError naming what was sent when too few messages arrive."""
    async with Bot(DEFAULT_TOKEN, base_url=tg.base_url) as bot:
        await bot.send_message(42, "only one")
    with pytest.raises(AssertionError, match="only one"):
        await tg.wait_for_sent(2, timeout=0.2)
