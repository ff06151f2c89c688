"""The Discord adapter end to end: real discord.py against a fake Discord API, real Redis, fake arXiv and LLM."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from functools import partial
from typing import Any, cast

import discord
import httpx
import pytest
import yarl

from arxiv_digest.app import start_senders
from bot.config import Secret, settings_from_mapping
from bot.delivery import SendResult
from bot.errors import ConfigError
from bot.models import Digest, DigestItem, Paper, Translation, TranslationStatus
from bot.runtime import Runtime
from bot.service import DigestService
from bot.store import Store
from bot.subscribers import ChatRef, Lang
from handlers.commands import Commands, Incoming, Notify
from handlers.discord_bot import DiscordAdapter, PaperButton
from handlers.replies import Reply
from tests.fakes.discord_server import (  # noqa: F401  (the `fake_discord` fixture)
    DEFAULT_TOKEN,
    EPHEMERAL,
    EVERYONE_PERMISSIONS,
    MANAGE_CHANNELS,
    MANAGE_GUILD,
    FakeDiscord,
    fixture_fake_discord,
    limit_problems,
)

USER = 3_000_000_000_000_001
MEMBER = 3_000_000_000_000_002
MODERATOR = 3_000_000_000_000_003
DM = 4_000_000_000_000_001
GUILD = 5_000_000_000_000_001
CHANNEL = 6_000_000_000_000_001
ALL_COMMANDS = {
    "paper",
    "subscribe",
    "unsubscribe",
    "list",
    "time",
    "lang",
    "digest",
    "stop",
    "help",
    "start",
    "stats",
    "broadcast",
    "like",
    "dislike",
    "interest",
    "rank",
    "limit",
}


@pytest.fixture(name="discord_api")
def fixture_discord_api(fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> FakeDiscord:
    """The fake Discord API with discord.py's REST base pointed at it (restored after the test)."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake_discord.api_base)
    return fake_discord


@pytest.fixture(name="adapter")
async def fixture_adapter(
    discord_api: FakeDiscord, service: DigestService, store: Store
) -> AsyncIterator[DiscordAdapter]:
    """The real adapter, logged in to the fake API with its slash commands synced (no gateway: see the README)."""
    adapter = DiscordAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN))
    await adapter.login(sync_commands=True)
    yield adapter
    await adapter.stop()


def feed(adapter: DiscordAdapter, payload: dict[str, Any]) -> None:
    """Hand an INTERACTION_CREATE payload to the client as its gateway connection would."""
    adapter.client._connection.parse_interaction_create(cast(Any, payload))


def _texts(message: dict[str, Any]) -> str:
    """All visible text of a recorded message: content, embed titles, descriptions and fields."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f["name"] + "\n" + f["value"] for f in embed.get("fields", [])]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons of a recorded message, row by row."""
    return [b for row in message.get("components", []) for b in row["components"]]


def _paper(n: int) -> Paper:
    """A paper numbered n with a long title."""
    return Paper(
        arxiv_id=f"2403.{10000 + n}",
        version=1,
        title=f"Paper number {n} " + "word " * 30,
        abstract="Abstract. " * 50,
        url=f"https://arxiv.org/abs/2403.{10000 + n}",
    )


def _item(paper: Paper) -> DigestItem:
    """A translated digest item with summaries of realistic length."""
    tr = Translation(
        title_zh="中文标题" * 5,
        tldr_zh="一句话总结，" * 20,
        abstract_zh="摘要" * 100,
        tldr_en="In short, " + "this paper does things. " * 8,
    )
    return DigestItem(paper, tr, TranslationStatus.OK)


async def test_slash_commands_are_synced_with_typed_options(adapter: DiscordAdapter, discord_api: FakeDiscord) -> None:
    """At login every command is registered globally once, with described, typed options and lang's choices."""
    assert discord_api.command_puts == ["global"]
    commands = {c["name"]: c for c in discord_api.commands["global"]}
    assert set(commands) == ALL_COMMANDS
    assert all(c["description"] for c in commands.values())
    options = {name: {o["name"]: o for o in c.get("options", [])} for name, c in commands.items()}
    assert options["paper"]["id"]["type"] == 3 and options["paper"]["id"]["required"] is True
    assert options["subscribe"]["filter"]["max_length"] == 1000
    assert set(options["unsubscribe"]) == {"which"}
    assert options["time"]["at"]["required"] is True and options["time"]["timezone"].get("required") is False
    assert [c["value"] for c in options["lang"]["lang"]["choices"]] == ["zh", "en", "both"]
    assert all(o["description"] for opts in options.values() for o in opts.values())
    assert options["list"] == {} and [c["value"] for c in options["digest"]["what"]["choices"]] == ["all", "file"]
    assert options["digest"]["what"].get("required") is False


async def test_commands_are_synced_again_only_when_they_changed(
    discord_api: FakeDiscord, service: DigestService, store: Store
) -> None:
    """A restart with the same commands syncs nothing; a changed command list, or another server, syncs again."""

    async def start(guild_id: int | None = None, extra: str | None = None) -> None:
        """Log in once as a gateway process would (with a new command when `extra` names one), then stop."""
        adapter = DiscordAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN), guild_id=guild_id)
        if extra is not None:
            adapter.client.tree.add_command(
                discord.app_commands.Command(name=extra, description="new", callback=_do_nothing)
            )
        await adapter.login(sync_commands=True)
        await adapter.stop()

    await start()
    await start()
    assert discord_api.command_puts == ["global"], "the second start found the same commands and left them"
    await start(extra="about")
    assert discord_api.command_puts == ["global", "global"]
    assert "about" in {c["name"] for c in discord_api.commands["global"]}
    await start(guild_id=GUILD)
    await start(guild_id=GUILD)
    assert discord_api.command_puts == ["global", "global", str(GUILD)]


async def _do_nothing(interaction: discord.Interaction) -> None:
    """A slash command callback that does nothing."""


async def test_guild_id_syncs_to_that_server_only(
    discord_api: FakeDiscord, service: DigestService, store: Store
) -> None:
    """With DISCORD_GUILD_ID the commands are copied to that server and synced there, not globally."""
    adapter = DiscordAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN), guild_id=GUILD)
    await adapter.login(sync_commands=True)
    try:
        assert discord_api.command_puts == [str(GUILD)]
        assert {c["name"] for c in discord_api.commands[str(GUILD)]} == ALL_COMMANDS
        payload = discord_api.slash(
            "subscribe",
            {"filter": "cs.LG"},
            channel_id=CHANNEL,
            user_id=MODERATOR,
            guild_id=GUILD,
            permissions=MANAGE_CHANNELS,
        )
        feed(adapter, payload)
        [answer] = await discord_api.wait_for_answers(payload["token"], 1)
        assert "subscribed" in answer["content"]
    finally:
        await adapter.stop()


async def test_a_user_subscribes_in_a_dm_and_reads_a_paper(
    adapter: DiscordAdapter, discord_api: FakeDiscord, store: Store
) -> None:
    """In a DM /subscribe is deferred then answered, the DM is subscribed, and /paper carries both languages."""
    payload = discord_api.slash("subscribe", {"filter": "cs.LG stat.ML"}, channel_id=DM, user_id=USER)
    feed(adapter, payload)
    [answer] = await discord_api.wait_for_answers(payload["token"], 1)
    assert "cs.LG stat.ML" in answer["content"]
    assert discord_api.callback_of(payload["token"]) == {"token": payload["token"], "type": 5, "flags": 0}
    assert await store.get_subscriber(ChatRef("discord", str(DM))) is not None

    payload = discord_api.slash("paper", {"id": "2402.03478"}, channel_id=DM, user_id=USER)
    feed(adapter, payload)
    [answer] = await discord_api.wait_for_answers(payload["token"], 1)
    text = _texts(answer)
    assert "中文：" in text and "Token-Level Uncertainty" in text
    assert answer["embeds"][0]["url"].startswith("https://arxiv.org/abs/2402.03478")
    assert answer["flags"] == 0 and limit_problems(answer) == []


async def test_only_channel_managers_change_a_channel_subscription(
    adapter: DiscordAdapter, discord_api: FakeDiscord, store: Store
) -> None:
    """In a server channel a plain member's /subscribe is refused, a Manage Channels member's works, anyone's /paper."""
    chat = ChatRef("discord", str(CHANNEL))
    refused = discord_api.slash("subscribe", {"filter": "cs.LG"}, channel_id=CHANNEL, user_id=MEMBER, guild_id=GUILD)
    feed(adapter, refused)
    [answer] = await discord_api.wait_for_answers(refused["token"], 1)
    assert "administrators" in answer["content"]
    assert await store.get_subscriber(chat) is None

    for user, permission in [(MODERATOR, MANAGE_CHANNELS), (MODERATOR + 1, MANAGE_GUILD)]:
        allowed = discord_api.slash(
            "subscribe",
            {"filter": f"cs.CV author:U{user % 10}"},
            channel_id=CHANNEL,
            user_id=user,
            guild_id=GUILD,
            permissions=permission,
        )
        feed(adapter, allowed)
        [answer] = await discord_api.wait_for_answers(allowed["token"], 1)
        assert "subscribed" in answer["content"]
    sub = await store.get_subscriber(chat)
    assert sub is not None and len(sub.filters) == 2

    lang = discord_api.slash("lang", {"lang": "en"}, channel_id=CHANNEL, user_id=MEMBER, guild_id=GUILD)
    feed(adapter, lang)
    [answer] = await discord_api.wait_for_answers(lang["token"], 1)
    assert "administrators" in answer["content"]

    paper = discord_api.slash("paper", {"id": "2402.03478"}, channel_id=CHANNEL, user_id=MEMBER, guild_id=GUILD)
    feed(adapter, paper)
    [answer] = await discord_api.wait_for_answers(paper["token"], 1)
    assert "中文：" in _texts(answer)


async def test_a_long_digest_is_split_within_every_limit(adapter: DiscordAdapter, discord_api: FakeDiscord) -> None:
    """A 60-paper digest arrives in few messages, each within Discord's limits, every paper whole, once, in order."""
    digest = Digest(tuple(_item(_paper(n)) for n in range(1, 61)))
    recorded: list[int] = []

    async def on_sent(number: int) -> None:
        recorded.append(number)

    result = await adapter.deliver(
        ChatRef("discord", str(CHANNEL)), digest, Lang.BOTH, "arXiv 2024-03-01 · 60", skip=0, on_sent=on_sent
    )
    assert result is SendResult.SENT and discord_api.refused == []
    messages = discord_api.sent_to(CHANNEL)
    assert 3 <= len(messages) <= 8 and recorded == list(range(1, len(messages) + 1))
    assert all(limit_problems(m) == [] for m in messages)
    assert messages[0]["content"].startswith("**arXiv 2024") and all(not m["content"] for m in messages[1:])
    fields = [f for m in messages for e in m["embeds"] for f in e["fields"]]
    assert [f["name"].split(".", 1)[0] for f in fields] == [str(n) for n in range(1, 61)]
    for n, field in enumerate(fields, 1):
        value = re.sub(r"\\(.)", r"\1", field["value"])
        assert f"Paper number {n} " in value and "this paper does things" in value
        assert f"2403.{10000 + n}v1" in field["value"]
    ids = [b["custom_id"] for m in messages for b in _buttons(m)]
    assert ids == [f"paper:2403.{10000 + n}v1" for n in range(1, 61)]
    assert all(m["allowed_mentions"] == {"parse": []} for m in messages)


async def test_a_pressed_button_answers_privately_in_a_channel(
    adapter: DiscordAdapter, discord_api: FakeDiscord, service: DigestService
) -> None:
    """A paper's button under a channel digest answers only the presser (ephemeral) with the bilingual abstract."""
    item = await service.paper("2402.03478")
    discord_api.server_channel(CHANNEL, GUILD)
    await adapter.deliver(ChatRef("discord", str(CHANNEL)), Digest((item,)), Lang.ZH, "h", skip=0, on_sent=_ignore)
    [message] = discord_api.sent_to(CHANNEL)
    [button] = _buttons(message)
    assert button["custom_id"] == f"paper:{item.paper.versioned_id}" and "Full abstract" in button["label"]

    press = discord_api.press(int(message["id"]), button["custom_id"], user_id=MEMBER)
    feed(adapter, press)
    [answer] = await discord_api.wait_for_answers(press["token"], 1)
    assert discord_api.callback_of(press["token"])["flags"] == EPHEMERAL
    assert answer["flags"] & EPHEMERAL
    assert "中文：" in _texts(answer) and "Token-Level Uncertainty" in _texts(answer)


async def test_a_pressed_button_in_a_dm_answers_in_the_dm(
    adapter: DiscordAdapter, discord_api: FakeDiscord, service: DigestService
) -> None:
    """In a DM the button's answer is an ordinary message, and it works with a client that never sent it."""
    item = await service.paper("2402.03478")
    await adapter.deliver(ChatRef("discord", str(DM)), Digest((item,)), Lang.BOTH, "h", skip=0, on_sent=_ignore)
    [message] = discord_api.sent_to(DM)
    adapter.client._connection._view_store = discord.ui.view.ViewStore(adapter.client._connection)  # a restart
    adapter.client.add_dynamic_items(PaperButton)
    press = discord_api.press(int(message["id"]), _buttons(message)[0]["custom_id"], user_id=USER)
    feed(adapter, press)
    [answer] = await discord_api.wait_for_answers(press["token"], 1)
    assert answer["flags"] == 0 and "中文：" in _texts(answer)


def _has_sent(fake: FakeDiscord, channel: int, count: int) -> bool:
    """Whether the bot has posted at least `count` messages to the channel."""
    return len(fake.sent_to(channel)) >= count


async def _ignore(number: int) -> None:
    """An on_sent callback that does nothing."""


@pytest.mark.parametrize(("status", "code"), [(404, 10003), (403, 50013), (403, 50007)])
async def test_a_channel_the_bot_cannot_post_to_is_unsubscribed(
    adapter: DiscordAdapter, discord_api: FakeDiscord, store: Store, status: int, code: int
) -> None:
    """A deleted channel, lost permissions or closed DMs end the subscription at once, without retrying."""
    chat = ChatRef("discord", str(CHANNEL))
    await store.update_subscriber(chat, lambda s: s)
    discord_api.fail_channel(CHANNEL, status, code)
    digest = Digest(tuple(_item(_paper(n)) for n in range(1, 61)))
    result = await adapter.deliver(chat, digest, Lang.BOTH, "h", skip=0, on_sent=_ignore)
    assert result is SendResult.GONE
    assert await store.get_subscriber(chat) is None
    posts = [r for r in discord_api.requests if r == ("POST", f"/api/v10/channels/{CHANNEL}/messages")]
    assert len(posts) == 1


async def test_a_rate_limit_is_waited_out(adapter: DiscordAdapter, discord_api: FakeDiscord) -> None:
    """A 429 with retry_after is waited out by discord.py and the message arrives once."""
    discord_api.rate_limit(CHANNEL, retry_after=0.2)
    digest = Digest((_item(_paper(1)),))
    result = await adapter.deliver(ChatRef("discord", str(CHANNEL)), digest, Lang.ZH, "h", skip=0, on_sent=_ignore)
    assert result is SendResult.SENT and len(discord_api.sent_to(CHANNEL)) == 1


async def test_a_refused_message_is_a_failure_to_retry(
    adapter: DiscordAdapter, discord_api: FakeDiscord, store: Store
) -> None:
    """Any other HTTP error fails the delivery (to be retried later) and keeps the subscription."""
    chat = ChatRef("discord", str(CHANNEL))
    await store.update_subscriber(chat, lambda s: s)
    discord_api.fail_channel(CHANNEL, 400, 50035)
    result = await adapter.deliver(chat, Digest((_item(_paper(1)),)), Lang.ZH, "h", skip=0, on_sent=_ignore)
    assert result is SendResult.FAILED and await store.get_subscriber(chat) is not None


async def test_a_resumed_delivery_sends_only_the_missing_messages(
    adapter: DiscordAdapter, discord_api: FakeDiscord
) -> None:
    """A digest resumed after a crash skips the messages already sent and reports each new one's number."""
    digest = Digest(tuple(_item(_paper(n)) for n in range(1, 61)))
    recorded: list[int] = []

    async def on_sent(number: int) -> None:
        recorded.append(number)

    result = await adapter.deliver(ChatRef("discord", str(DM)), digest, Lang.BOTH, "h", skip=1, on_sent=on_sent)
    assert result is SendResult.SENT
    sent = discord_api.sent_to(DM)
    assert recorded == list(range(2, len(sent) + 2))
    assert "Paper number 1 " not in _texts(sent[0]) and not sent[0]["content"]


async def test_bang_text_commands_work_in_dms_and_servers(adapter: DiscordAdapter, discord_api: FakeDiscord) -> None:
    """`!paper` answers in a DM and in a server channel; other server chatter is ignored."""
    for number, (channel, guild) in enumerate([(DM, None), (CHANNEL, GUILD)]):
        for text in ("good morning", "!paper 2402.03478"):
            data: dict[str, Any] = {
                "id": str(7_000_000_000_000_000_000 + number),
                "channel_id": str(channel),
                "author": discord_api.user(USER),
                "content": text,
                "timestamp": "2024-03-01T08:00:00+00:00",
                "edited_timestamp": None,
                "tts": False,
                "mention_everyone": False,
                "mentions": [],
                "mention_roles": [],
                "attachments": [],
                "embeds": [],
                "pinned": False,
                "type": 0,
                "flags": 0,
                "components": [],
            }
            if guild:
                data["guild_id"] = str(guild)
                data["member"] = {
                    "roles": [],
                    "joined_at": "2024-01-01T00:00:00+00:00",
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                }
            adapter.client._connection.parse_message_create(cast(Any, data))
        expected = 2 if guild is None else 1  # in a DM the chatter gets a hint; in a server it is ignored
        await discord_api.wait_for(partial(_has_sent, discord_api, channel, expected))
        await asyncio.sleep(0.2)
        sent = discord_api.sent_to(channel)
        assert len(sent) == expected and "中文：" in _texts(sent[-1])


async def test_the_token_is_never_logged(
    discord_api: FakeDiscord, service: DigestService, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Login, sync, interactions and delivery at DEBUG level leave no trace of the token in the logs."""
    caplog.set_level(logging.DEBUG)
    adapter = DiscordAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN))
    await adapter.login(sync_commands=True)
    try:
        payload = discord_api.slash("help", channel_id=DM, user_id=USER)
        feed(adapter, payload)
        await discord_api.wait_for_answers(payload["token"], 1)
        await adapter.deliver(
            ChatRef("discord", str(DM)), Digest((_item(_paper(1)),)), Lang.ZH, "h", skip=0, on_sent=_ignore
        )
    finally:
        await adapter.stop()
    assert caplog.records and DEFAULT_TOKEN not in caplog.text


async def test_run_starts_discord_when_its_token_is_set(
    discord_api: FakeDiscord, service: DigestService, store: Store
) -> None:
    """start_senders logs in to Discord when DISCORD_BOT_TOKEN is set; a worker syncs no commands yet can broadcast."""
    settings = settings_from_mapping({"DISCORD_BOT_TOKEN": DEFAULT_TOKEN})
    async with httpx.AsyncClient(trust_env=False) as http, AsyncExitStack() as stack:
        runtime = Runtime(settings, store, http, service)
        senders = await start_senders(runtime, stack, Commands(service, store), polling=False)
        assert list(senders) == ["discord"] and senders["discord"].connected()
        assert ("GET", "/api/v10/users/@me") in discord_api.requests and discord_api.command_puts == []
        result = await senders["discord"].send_text(ChatRef("discord", str(CHANNEL)), "Maintenance *tonight*")
        assert result is SendResult.SENT
        assert discord_api.sent_to(CHANNEL)[0]["content"] == "Maintenance \\*tonight\\*"
    assert not senders["discord"].connected()


async def test_start_with_the_gateway_syncs_and_stops_cleanly(
    discord_api: FakeDiscord, service: DigestService, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """start() logs in, syncs the commands and connects in the background (connected once ready); stop() ends it."""
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(discord_api.gateway_url))
    # IDENTIFY turns 0.2 s apart (5 s in production), so the first session does not wait a whole turn.
    adapter = DiscordAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN), identify_every=0.2)
    await adapter.start()
    assert discord_api.command_puts == ["global"]
    for _ in range(200):
        if adapter.connected():
            break
        await asyncio.sleep(0.05)
    assert adapter.connected()
    await adapter.stop()
    assert not adapter.connected() and adapter.client.is_closed()


@pytest.mark.parametrize("raw", ["abc", "-5", "0", "1.5"])
def test_a_malformed_guild_id_is_named(raw: str) -> None:
    """DISCORD_GUILD_ID must be a positive whole number; the error names the variable."""
    with pytest.raises(ConfigError, match="DISCORD_GUILD_ID"):
        settings_from_mapping({"DISCORD_GUILD_ID": raw})
    assert settings_from_mapping({"DISCORD_GUILD_ID": f" {GUILD} "}).discord_guild_id == GUILD
    assert settings_from_mapping({}).discord_guild_id is None


async def test_admin_commands_are_hidden_from_ordinary_members(
    adapter: DiscordAdapter, discord_api: FakeDiscord
) -> None:
    """/stats and /broadcast are registered for administrators only; every other command for everyone."""
    registered = {c["name"]: c.get("default_member_permissions") for c in discord_api.commands["global"]}
    assert registered.pop("stats") == registered.pop("broadcast") == discord.Permissions(administrator=True).value
    assert set(registered.values()) == {None}


async def test_refusals_in_a_server_are_seen_only_by_the_user(
    adapter: DiscordAdapter, discord_api: FakeDiscord
) -> None:
    """A member's refused /subscribe and a mistyped filter are ephemeral in a server; /paper stays public."""
    for options, needle in [({"filter": "cs.LG"}, "administrators"), ({"filter": "stats.ML"}, "stat.ML")]:
        permissions = MANAGE_CHANNELS if "stats" in options["filter"] else EVERYONE_PERMISSIONS
        payload = discord_api.slash(
            "subscribe", options, channel_id=CHANNEL, user_id=MEMBER, guild_id=GUILD, permissions=permissions
        )
        feed(adapter, payload)
        [answer] = await discord_api.wait_for_answers(payload["token"], 1)
        assert needle in answer["content"] and answer["flags"] & EPHEMERAL
    paper = discord_api.slash("paper", {"id": "2402.03478"}, channel_id=CHANNEL, user_id=MEMBER, guild_id=GUILD)
    feed(adapter, paper)
    [answer] = await discord_api.wait_for_answers(paper["token"], 1)
    assert answer["flags"] == 0


class _BrokenCommands(Commands):
    """Commands with a bug: every answer fails (as an unexpected error in rendering or sending would)."""

    async def handle(self, msg: Incoming, notify: Notify | None = None) -> list[Reply]:
        raise RuntimeError("a bug")


async def test_any_failure_after_deferring_ends_in_a_follow_up(
    discord_api: FakeDiscord, service: DigestService, store: Store
) -> None:
    """Whatever fails after "thinking…", the user gets an apology instead of a spinner that never ends."""
    adapter = DiscordAdapter(_BrokenCommands(service, store), store, Secret(DEFAULT_TOKEN))
    await adapter.login(sync_commands=True)
    try:
        payload = discord_api.slash("list", channel_id=DM, user_id=USER)
        feed(adapter, payload)
        [answer] = await discord_api.wait_for_answers(payload["token"], 1)
        assert "Something went wrong" in answer["content"]
    finally:
        await adapter.stop()


async def test_starting_the_client_prints_no_voice_warnings(
    service: DigestService, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot never uses voice, so a fresh process building its client logs nothing about PyNaCl or davey."""
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = True  # as in a new process without them
    with caplog.at_level(logging.WARNING, logger="discord"):
        DiscordAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN))
    assert [r.getMessage() for r in caplog.records if "voice" in r.getMessage()] == []
