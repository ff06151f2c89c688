"""Redis Cluster: keys used together share a slot, both URL forms reach a real cluster, and old key names move."""

from __future__ import annotations

import asyncio
import json
from datetime import date, time
from pathlib import Path

from redis.crc import key_slot

from bot.config import settings_from_mapping
from bot.filters import parse_filter
from bot.models import Listing, Paper, Translation
from bot.redis_server import RedisServer, free_port
from bot.runtime import redis_store
from bot.store import Store
from bot.store import keys as names
from bot.store.codec import listing_to_json, subscriber_fields
from bot.store.keys import (
    budget_key,
    chat_keys,
    day_listing_key,
    day_status_key,
    lease_key,
    ranking_keys,
    rate_chat_key,
    rate_slot_key,
    subscriber_key,
)
from bot.store.legacy import LAYOUT_KEY
from bot.store.limiter import bot_key
from bot.subscribers import ChatRef, Lang, Subscriber
from bot.transfer import export_subscribers
from tests.cli_runner import base_env, run_cli
from tests.redis_cluster import LocalCluster

CHATS = [ChatRef("telegram", "1"), ChatRef("telegram", "-1001"), ChatRef("discord", "42")]
DAY = "2024-03-25"
# Keys no script or transaction touches together with another key: they may land anywhere in a cluster.
USED_ALONE = {
    "TRANSLATION_KEY",
    "TRANSLATION_FAILURE_KEY",
    "PAPER_KEY",
    "BROKEN_SUBSCRIBERS_KEY",
    "LISTING_KEY",
    "COMMANDS_HASH_KEY",
    "SCHEDULER_LOCK_KEY",
    "POLLER_LEASE_KEY",
    "SENT_ON_KEY",
    "SENT_TOTAL_KEY",
    "FAILURES_KEY",
    "LLM_MONTH_KEY",
    "LLM_TOTAL_KEY",
    "FETCH_KEY",
}


def _slots(keys: list[str]) -> set[int]:
    """The cluster slots these keys map to."""
    return {key_slot(key.encode()) for key in keys}


def test_keys_used_together_share_one_slot() -> None:
    """The delivery engine's keys, a chat's ranking keys, a bot's limiter keys and a day's budgets each share a slot."""
    delivery = [
        names.SUBSCRIBERS_KEY,
        names.DUE_KEY,
        names.UNSCHEDULED_KEY,
        names.WAITING_KEY,
        names.QUEUE_KEY,
        names.DEAD_KEY,
        names.DAYS_KEY,
        day_listing_key(DAY),
        day_status_key(DAY),
        lease_key("1711357200000-0"),
        *(key for chat in CHATS for key in chat_keys(chat)),
    ]
    assert len(_slots(delivery)) == 1
    assert all(len(_slots(list(ranking_keys(chat)))) == 1 for chat in CHATS)
    bot = bot_key("telegram", "123:secret")
    assert len(_slots([rate_slot_key(bot), *(rate_chat_key(bot, chat.key) for chat in CHATS)])) == 1
    holders = ("user:telegram:1", "chat:telegram:-1001")
    assert len(_slots([budget_key(h, w, "20240325") for h in holders for w in ("h2024032509", "d20240325")])) == 1
    assert len(_slots([key for chat in CHATS for key in ranking_keys(chat)])) == len(CHATS), "chats spread"


def test_every_key_is_tagged_or_used_alone() -> None:
    """A key added to keys.py carries a hash tag, or is listed here as never touched together with another key."""
    constants = {name: value for name, value in vars(names).items() if name.endswith("_KEY") and isinstance(value, str)}
    untagged = {name for name, value in constants.items() if "{d}" not in value and "{{" not in value}
    assert untagged == USED_ALONE, "tag the key (see keys.py) or, if no script or MULTI uses it with another, list it"


async def test_both_url_forms_reach_the_cluster_from_real_processes(
    tmp_path: Path, redis_cluster: LocalCluster
) -> None:
    """`import` with REDIS_CLUSTER=true and a node's redis:// URL, then `export` with redis+cluster://: same data."""
    sub = Subscriber(CHATS[0], (parse_filter("cs.LG diffusion"),), time(8), "Europe/Berlin", Lang.EN)
    store = Store.from_url(redis_cluster.url)
    try:
        await store.redis_for_tests.flushdb()
        await store.save_subscriber(sub)
        exported = await export_subscribers(store)
        await store.redis_for_tests.flushdb()
    finally:
        await store.close()
    (tmp_path / "subs.json").write_text(exported, encoding="utf-8")
    env = base_env(tmp_path, REDIS_URL=redis_cluster.node_url, REDIS_CLUSTER="true")
    imported = await run_cli(["import", "subs.json"], env, tmp_path)
    assert imported.code == 0 and "imported 1" in imported.err, imported
    again = await run_cli(["export"], base_env(tmp_path, REDIS_URL=redis_cluster.url), tmp_path)
    assert again.code == 0, again
    assert json.loads(again.out)["subscribers"] == json.loads(exported)["subscribers"]


async def test_cluster_mistakes_are_one_line_without_the_password(tmp_path: Path, redis_cluster: LocalCluster) -> None:
    """A wrong cluster password, no node listening, REDIS_CLUSTER without REDIS_URL, a database number: one line."""
    wrong = redis_cluster.url.replace(redis_cluster.password, "not-the-password")
    nobody = f"redis+cluster://:{redis_cluster.password}@127.0.0.1:{free_port()}"
    cases = {
        "rejected the password": {"REDIS_URL": wrong},
        "connection refused": {"REDIS_URL": nobody},
        "needs REDIS_URL": {"REDIS_CLUSTER": "true"},
        "database other than 0": {"REDIS_URL": redis_cluster.node_url + "/2", "REDIS_CLUSTER": "true"},
    }
    for needle, values in cases.items():
        result = await run_cli(["export"], base_env(tmp_path, **values), tmp_path)
        assert result.code != 0 and needle in result.err, result
        assert len(result.err.strip().splitlines()) == 1, result.err
        assert redis_cluster.password not in result.err and "not-the-password" not in result.err


async def test_translations_spread_over_every_master(redis_cluster: LocalCluster) -> None:
    """60 cached translations land on all three masters, and are read back in one call."""
    store = Store.from_url(redis_cluster.url)
    try:
        client = store.redis_for_tests
        await client.flushdb()
        ids = [f"2403.{10_000 + n}v1" for n in range(60)]
        for n, versioned_id in enumerate(ids):
            await store.put_translation("m", versioned_id, Translation(f"标题{n}", "摘要", "全文", "tl;dr"))
        sizes = [await client.dbsize(target_nodes=node) for node in client.get_primaries()]  # type: ignore[union-attr]
        translations = await store.get_translations("m", ids)
    finally:
        await store.close()
    assert len(sizes) == 3 and all(size > 0 for size in sizes) and sum(sizes) == 60
    assert [t.title_zh if t else None for t in translations] == [f"标题{n}" for n in range(60)]


async def test_keys_named_before_hash_tags_are_renamed_once_at_start_up(redis_server: RedisServer) -> None:
    """A server holding keys of the untagged layout: the next start renames them, and the bot reads every one."""
    chat = CHATS[0]
    sub = Subscriber(chat, (parse_filter("cs.LG"),), time(9), "Asia/Shanghai", Lang.EN)
    paper = Paper("2403.20000", "A paper", "Abstract.", "https://arxiv.org/abs/2403.20000", 1, categories=("cs.LG",))
    listing = Listing((paper,), date.fromisoformat(DAY), ("cs.LG",))
    old = Store.from_url(redis_server.url)
    try:
        raw = old.redis_for_tests
        await raw.flushdb()
        await raw.hset(f"axd:sub:{chat.key}", mapping=dict(subscriber_fields(sub)))
        await raw.sadd("axd:subscribers", chat.key)
        await raw.hset(f"axd:records:{chat.key}", mapping={f"delivered:{DAY}": "1"})
        await raw.zadd("axd:days", {DAY: date.fromisoformat(DAY).toordinal()})
        await raw.set(f"axd:day:{DAY}:listing", listing_to_json(listing))
        await raw.hset(f"axd:day:{DAY}:status", mapping={"state": "ready"})
        await raw.hset(f"axd:ranking:{chat.key}", mapping={"limit": "5"})
        await raw.xgroup_create("axd:deliveries", names.QUEUE_GROUP, id="0", mkstream=True)
        await raw.xadd("axd:deliveries", {"chat": CHATS[1].key, "day": DAY, "skipped": 0})
        await raw.xreadgroup(names.QUEUE_GROUP, "old-worker", {"axd:deliveries": ">"})  # in flight when it stopped
    finally:
        await old.close()

    settings = settings_from_mapping({"REDIS_URL": redis_server.url})
    async with redis_store(settings) as store:
        assert await store.get_subscriber(chat) == sub
        assert await store.subscriber_chats() == [chat]
        assert await store.delivery.is_delivered(chat, DAY)
        assert await store.delivery.newest_day() == DAY
        assert await store.delivery.day_listing(DAY) == listing
        assert (await store.ratings.preferences(chat)).limit == 5
        [taken] = await store.delivery.claim_stale("new-worker", 0, 10, 1000)
        assert taken.chat == CHATS[1] and taken.attempts == 2, "the delivery in flight is taken over, not lost"
        assert await store.redis_for_tests.exists(f"axd:sub:{chat.key}", "axd:deliveries") == 0
        assert await store.redis_for_tests.get(LAYOUT_KEY) == "tagged"
        assert await store.rename_legacy_keys() == 0, "renamed once: later starts do not scan again"
        assert await store.redis_for_tests.exists(subscriber_key(chat)) == 1


async def test_a_burst_of_lookups_waits_for_connections(redis_cluster: LocalCluster) -> None:
    """2,000 translation lookups at once (a day's papers) all get an answer instead of running out of connections."""
    store = Store.from_url(redis_cluster.url)
    try:
        found = await asyncio.gather(*(store.get_translation("m", f"2403.{n:05d}v1") for n in range(2_000)))
    finally:
        await store.close()
    assert found == [None] * 2_000
