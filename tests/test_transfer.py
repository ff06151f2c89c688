"""Moving subscriptions between servers: export and import, in process and through the CLI."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

import pytest

from bot.errors import InvalidTransferFile
from bot.filters import parse_filter
from bot.redis_server import RedisServer
from bot.store import Store
from bot.subscribers import ChatRef, Lang, Subscriber
from bot.transfer import export_subscribers, import_subscribers
from tests.cli_runner import base_env, run_cli

SUBS = [
    Subscriber(
        ChatRef("telegram", "1"),
        (parse_filter('cs.CV "diffusion model" -survey'),),
        time(7, 30),
        "Europe/Berlin",
        Lang.EN,
    ),
    Subscriber(ChatRef("discord", "42"), (parse_filter("author:Hinton"), parse_filter("stat.ML"))),
]


async def test_export_then_import_restores_every_subscription(store: Store) -> None:
    """An export imported into an empty Redis gives back the same subscriptions."""
    for sub in SUBS:
        await store.save_subscriber(sub)
    exported = await export_subscribers(store)
    await store.redis_for_tests.flushdb()
    assert await import_subscribers(store, exported) == 2
    restored = {s.chat: s for s in await store.all_subscribers()}
    assert restored == {s.chat: s for s in SUBS}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("nope", "not valid JSON"),
        ('{"subscribers": []}', "not a subscribers export"),
        ('{"format": "arxiv-digest/subscribers", "version": 1, "subscribers": [{"filters": []}]}', "chat"),
        (
            '{"format": "arxiv-digest/subscribers", "version": 1, "subscribers": [{"chat": "telegram:1", '
            '"filters": ["cs.XX"]}]}',
            "subscribers[0]",
        ),
        ('{"format": "arxiv-digest/subscribers", "version": 9, "subscribers": []}', "version"),
    ],
)
async def test_a_bad_import_is_refused_and_writes_nothing(store: Store, text: str, needle: str) -> None:
    """A malformed import file is refused with a message naming the problem, and nothing is written."""
    with pytest.raises(InvalidTransferFile, match=needle.replace("[", r"\[").replace("]", r"\]")):
        await import_subscribers(store, text)
    assert await store.subscriber_chats() == []


async def test_cli_export_and_import(tmp_path: Path, redis_server: RedisServer, store: Store) -> None:
    """`arxiv-digest export > subs.json` and `arxiv-digest import subs.json` move subscriptions; bad files fail."""
    for sub in SUBS:
        await store.save_subscriber(sub)
    env = base_env(tmp_path, REDIS_URL=redis_server.url)
    exported = await run_cli(["export"], env, tmp_path)
    assert exported.code == 0, exported.err
    assert {s["chat"] for s in json.loads(exported.out)["subscribers"]} == {"telegram:1", "discord:42"}
    (tmp_path / "subs.json").write_text(exported.out, encoding="utf-8")
    await store.redis_for_tests.flushdb()
    imported = await run_cli(["import", "subs.json"], env, tmp_path)
    assert imported.code == 0 and "imported 2" in imported.err
    assert len(await store.subscriber_chats()) == 2
    (tmp_path / "bad.json").write_text("[]", encoding="utf-8")
    bad = await run_cli(["import", "bad.json"], env, tmp_path)
    assert bad.code == 1 and "not a subscribers export" in bad.err and "Traceback" not in bad.err
    missing = await run_cli(["import", "nowhere.json"], env, tmp_path)
    assert missing.code == 1 and "cannot read" in missing.err
