"""Keys named as before they carried Redis Cluster hash tags, renamed once to today's names at start-up.

Only a single server can hold such keys (the bot never ran on a cluster with them), so a cluster skips this.
Every process may run it at once: a key another process renamed meanwhile is simply no longer there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster

from bot.store.connection import Client
from bot.store.keys import (
    DAY_LISTING_KEY,
    DAY_STATUS_KEY,
    DAYS_KEY,
    DEAD_KEY,
    DUE_KEY,
    LEASE_KEY,
    LEGACY_SEEN_KEY,
    MOVED_KEY,
    PREFIX,
    PROFILE_KEY,
    QUEUE_KEY,
    RANKING_KEY,
    RATINGS_KEY,
    RECORDS_KEY,
    SUBSCRIBER_KEY,
    SUBSCRIBERS_KEY,
    UNSCHEDULED_KEY,
    WAITING_KEY,
)

log = logging.getLogger(__name__)
LAYOUT_KEY = PREFIX + "layout"  # "tagged" once this server's keys carry today's names
TAGGED = "tagged"
SCAN_COUNT = 1000
# (the name before hash tags, today's name) of every key whose name changed; `{field}` stands for any text.
RENAMED = (
    ("axd:sub:{chat}", SUBSCRIBER_KEY),
    ("axd:subscribers", SUBSCRIBERS_KEY),
    ("axd:days", DAYS_KEY),
    ("axd:day:{day}:listing", DAY_LISTING_KEY),
    ("axd:day:{day}:status", DAY_STATUS_KEY),
    ("axd:due", DUE_KEY),
    ("axd:unscheduled", UNSCHEDULED_KEY),
    ("axd:waiting", WAITING_KEY),
    ("axd:deliveries", QUEUE_KEY),
    ("axd:deliveries:dead", DEAD_KEY),
    ("axd:records:{chat}", RECORDS_KEY),
    ("axd:seen:{chat}", LEGACY_SEEN_KEY),
    ("axd:moved:{chat}", MOVED_KEY),
    ("axd:lease:{entry}", LEASE_KEY),
    ("axd:ratings:{chat}", RATINGS_KEY),
    ("axd:ranking:{chat}", RANKING_KEY),
    ("axd:profile:{chat}", PROFILE_KEY),
)


def _pattern(old: str) -> re.Pattern[str]:
    """A regex matching one old name, each `{field}` captured (never text with braces: today's tagged names)."""
    parts = re.split(r"\{(\w+)\}", old)
    return re.compile(
        "".join(re.escape(part) if n % 2 == 0 else f"(?P<{part}>[^{{}}]+)" for n, part in enumerate(parts)) + "$"
    )


PATTERNS = [(_pattern(old), new) for old, new in RENAMED]


def new_name(key: str) -> str | None:
    """Today's name of a key named the old way, or None when the key's name did not change."""
    for pattern, new in PATTERNS:
        found = pattern.match(key)
        if found:
            fields = found.groupdict()
            return new.format(**fields) if fields else new  # a name without fields is no template
    return None


async def rename_legacy_keys(client: Client) -> int:
    """Rename every key still named the old way (once per server; later calls return at once); how many."""
    if isinstance(client, RedisCluster) or await client.get(LAYOUT_KEY) == TAGGED:
        return 0
    renamed = kept = 0
    async for batch in _batches(client):
        async with client.pipeline(transaction=False) as pipe:
            for old, new in batch:
                pipe.renamenx(old, new)
            results = await pipe.execute(raise_on_error=False)
        renamed += sum(1 for result in results if result is True)
        kept += sum(1 for result in results if result is False)  # today's name is taken: both are kept
    await client.set(LAYOUT_KEY, TAGGED)
    if renamed:
        log.info("renamed %d Redis keys to this version's names (hash-tagged for Redis Cluster)", renamed)
    if kept:
        log.warning("%d Redis keys of an older version were left as they were: their new name is taken", kept)
    return renamed


async def _batches(client: redis.Redis) -> AsyncIterator[list[tuple[str, str]]]:
    """The old-named keys with their new names, a SCAN page at a time."""
    cursor = 0
    while True:
        cursor, keys = await client.scan(cursor, match=PREFIX + "*", count=SCAN_COUNT)
        batch = [(str(key), new) for key in keys if (new := new_name(str(key))) is not None]
        if batch:
            yield batch
        if cursor == 0:
            return
