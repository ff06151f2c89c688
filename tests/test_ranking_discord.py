"""Ranking on Discord: 👍/👎 under a paper's abstract answer the presser, /digest file is an attachment."""

from __future__ import annotations

from typing import Any

from bot.service import DigestService
from handlers.discord_bot import DiscordAdapter
from tests.fakes.discord_server import EPHEMERAL, MANAGE_CHANNELS, FakeDiscord, fixture_fake_discord  # noqa: F401
from tests.test_discord_bot import (  # noqa: F401  (the `adapter` and `discord_api` fixtures)
    CHANNEL,
    DM,
    GUILD,
    MEMBER,
    MODERATOR,
    USER,
    _buttons,
    _texts,
    feed,
    fixture_adapter,
    fixture_discord_api,
)


async def _slash(
    adapter: DiscordAdapter, api: FakeDiscord, name: str, options: dict[str, str] | None = None, **where: int
) -> dict[str, Any]:
    """Run a slash command and return its first answer."""
    payload = api.slash(name, options, **where)
    feed(adapter, payload)
    [answer] = await api.wait_for_answers(payload["token"], 1)
    return answer


async def _press(
    adapter: DiscordAdapter, api: FakeDiscord, message: dict[str, Any], custom_id: str, user_id: int, **kwargs: int
) -> str:
    """Press a button and return the text of its immediate answer."""
    press = api.press(int(message["id"]), custom_id, user_id=user_id, **kwargs)
    feed(adapter, press)
    [answer] = await api.wait_for_answers(press["token"], 1)
    assert api.callback_of(press["token"])["type"] == 4, "answered in the button's own response"
    assert api.callback_of(press["token"])["flags"] == EPHEMERAL
    return _texts(answer)


async def test_thumbs_under_an_abstract_rate_the_paper_for_the_presser(
    adapter: DiscordAdapter, discord_api: FakeDiscord, service: DigestService
) -> None:
    """/paper's answer carries 👍 and 👎; pressing them rates the paper and tells only the presser."""
    paper = await _slash(adapter, discord_api, "paper", {"id": "2402.03478"}, channel_id=DM, user_id=USER)
    buttons = _buttons(paper)
    assert [(b["label"], b["custom_id"]) for b in buttons] == [("👍", "like:2402.03478"), ("👎", "dislike:2402.03478")]
    assert "liked 2402.03478" in await _press(adapter, discord_api, paper, "like:2402.03478", USER)
    assert "disliked 2402.03478" in await _press(adapter, discord_api, paper, "dislike:2402.03478", USER)
    listing = await _slash(adapter, discord_api, "list", channel_id=DM, user_id=USER)
    assert "👍 0 · 👎 1" in _texts(listing)


async def test_in_a_server_only_managers_rate_with_the_buttons(
    adapter: DiscordAdapter, discord_api: FakeDiscord
) -> None:
    """In a server channel a member's 👍 is refused; a member who may manage the channel rates."""
    discord_api.server_channel(CHANNEL, GUILD)
    paper = await _slash(
        adapter, discord_api, "paper", {"id": "2402.03478"}, channel_id=CHANNEL, user_id=MEMBER, guild_id=GUILD
    )
    assert "administrators" in await _press(adapter, discord_api, paper, "like:2402.03478", MEMBER)
    answer = await _press(adapter, discord_api, paper, "like:2402.03478", MODERATOR, permissions=MANAGE_CHANNELS)
    assert "liked 2402.03478" in answer


async def test_digest_file_and_limit_as_slash_commands(adapter: DiscordAdapter, discord_api: FakeDiscord) -> None:
    """/limit, /digest and /digest what:file work as slash commands; the file arrives as an attachment."""
    await _slash(adapter, discord_api, "subscribe", {"filter": "cs.LG stat.ML"}, channel_id=DM, user_id=USER)
    limit = await _slash(adapter, discord_api, "limit", {"papers": "2"}, channel_id=DM, user_id=USER)
    assert "up to 2 papers" in _texts(limit)
    limited = await _slash(adapter, discord_api, "digest", channel_id=DM, user_id=USER)
    assert [e["footer"]["text"] for e in limited["embeds"]][-1].startswith("还有 1 篇")
    answer = await _slash(adapter, discord_api, "digest", {"what": "file"}, channel_id=DM, user_id=USER)
    [attachment] = discord_api.attachments
    assert attachment["filename"].startswith("arxiv-digest-") and attachment["filename"].endswith(".md")
    assert attachment["data"].decode().startswith("# 摘要\n\n| Ref | Title | Summary |")
    assert "3 papers" in str(answer["content"]) and answer["attachments"]
