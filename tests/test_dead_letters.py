"""`arxiv-digest dead-letters [--requeue]`: an administrator lists the deliveries moved aside and re-queues them."""

from __future__ import annotations

from pathlib import Path

from bot.filters import parse_filter
from bot.redis_server import RedisServer
from bot.store import Store
from bot.store.keys import SUBSCRIBERS_KEY, subscriber_key
from bot.subscribers import ChatRef, Subscriber
from tests.cli_runner import base_env, run_cli

GONE = ChatRef("discord", "55")
FLAKY = ChatRef("telegram", "7")


async def _bury(store: Store, chat: ChatRef, day: str, reason: str) -> None:
    """Subscribe the chat, queue a delivery, take it as a worker would and move it aside after its last attempt."""
    state = store.delivery
    await state.ensure_group()
    await store.save_subscriber(Subscriber(chat, (parse_filter("cs.LG"),)))
    assert await state.enqueue(chat, day, 0)
    [delivery] = await state.read("w", 1, 0, lease_ms=60_000)
    await state.bury(delivery, reason)


async def test_dead_letters_are_listed_and_requeued(tmp_path: Path, store: Store, redis_server: RedisServer) -> None:
    """The command prints one line per dead letter; --requeue puts them back on the queue and says how many."""
    state = store.delivery
    env = base_env(tmp_path, REDIS_URL=redis_server.url)
    empty = await run_cli(["dead-letters"], env, tmp_path)
    assert empty.code == 0 and empty.out == "" and "no dead letters" in empty.err
    await _bury(store, GONE, "2024-03-25", "failed 5 times")
    await _bury(store, FLAKY, "2024-03-26", "failed 5 times")

    listed = await run_cli(["dead-letters"], env, tmp_path)
    assert listed.code == 0, listed.err
    assert listed.out.splitlines() == [
        "discord:55\t2024-03-25\tfailed 5 times",
        "telegram:7\t2024-03-26\tfailed 5 times",
    ]

    requeued = await run_cli(["dead-letters", "--requeue"], env, tmp_path)
    assert requeued.code == 0 and "requeued 2 dead letters" in requeued.err
    assert await state.dead_letters() == []
    again = await state.read("w", 10, 0, lease_ms=60_000)
    assert [(d.chat, d.day, d.attempts) for d in again] == [(GONE, "2024-03-25", 1), (FLAKY, "2024-03-26", 1)]


async def test_unreadable_subscriptions_are_named(tmp_path: Path, store: Store, redis_server: RedisServer) -> None:
    """A subscription the bot found unreadable is named by the command, with the reason."""
    chat = ChatRef("telegram", "9")
    await store.redis_for_tests.hset(subscriber_key(chat), mapping={"filters": "[not json"})
    await store.redis_for_tests.sadd(SUBSCRIBERS_KEY, chat.key)
    assert await store.all_subscribers() == []
    listed = await run_cli(["dead-letters"], base_env(tmp_path, REDIS_URL=redis_server.url), tmp_path)
    assert listed.code == 0, listed.err
    [line] = listed.out.splitlines()
    assert line.startswith("telegram:9\t-\tunreadable subscription: JSONDecodeError")
