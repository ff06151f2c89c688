"""The Store: connection, translation and paper caches, and subscriptions."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redis.exceptions import RedisClusterException, RedisError, WatchError

from bot.errors import DigestError, StoreUnavailable
from bot.filters import Filter, read_stored_filter
from bot.models import Listing, Paper, Translation
from bot.store.availability import describe_outage, is_outage
from bot.store.batch_scripts import READ_FIELDS, SCAN_MEMBERS
from bot.store.budget import TranslationBudget
from bot.store.codec import (
    listing_from_json,
    listing_to_json,
    paper_from_dict,
    paper_to_dict,
    subscriber_fields,
    subscriber_from_fields,
)
from bot.store.connection import SOCKET_TIMEOUT_SECONDS, Client, connect, get_many, location
from bot.store.delivery import DeliveryState
from bot.store.delivery_scripts import MOVE_CHAT
from bot.store.keys import (
    BROKEN_SUBSCRIBERS_KEY,
    DUE_KEY,
    LISTING_TTL_SECONDS,
    MOVED_TTL_SECONDS,
    PAPER_TTL_SECONDS,
    SUBSCRIBERS_KEY,
    UNSCHEDULED_KEY,
    WAITING_KEY,
    chat_keys,
    commands_hash_key,
    history_keys,
    listing_key,
    moved_key,
    paper_key,
    subscriber_key,
    translation_failure_key,
    translation_key,
)
from bot.store.lease import Lease, poller_lease
from bot.store.legacy import rename_legacy_keys
from bot.store.limiter import SharedLimiter
from bot.store.ratings import RatingStore
from bot.store.stats import Stats
from bot.store.updates import UpdateLog
from bot.subscribers import DEFAULT_TIMEZONE, ChatRef, Lang, Subscriber, parse_time

log = logging.getLogger(__name__)
UNREADABLE = (DigestError, ValueError, TypeError, AttributeError)  # what a damaged subscriber hash raises


class Store:
    """Typed access to everything the bot keeps in Redis."""

    def __init__(self, client: Client, url: str | None = None) -> None:
        self._redis = client
        self._move_chat = client.register_script(MOVE_CHAT)
        self._read_fields = client.register_script(READ_FIELDS)  # some fields of many hashes, in one reply
        self._scan_members = client.register_script(SCAN_MEMBERS)  # a page of a set's members, as one JSON reply
        # Built once per Store (one per process), so each family's Lua scripts are registered once.
        self.stats = Stats(client)
        self.delivery = DeliveryState(client)
        self.ratings = RatingStore(client)
        self.location = location(client)
        self.url = url  # for another process of ours to connect to the same server (None if unknown)

    @classmethod
    def from_url(cls, url: str, cluster: bool = False) -> Store:
        """Connect lazily to Redis at `url` (a Redis Cluster when `cluster` or a redis+cluster:// URL says so).

        A command fails within seconds when Redis does not answer.
        """
        client, full_url = connect(url, cluster)
        return cls(client, full_url)

    @property
    def redis_for_tests(self) -> Client:
        """The raw client, only for tests and benchmarks to inspect or reset keys (tests/test_boundaries.py)."""
        return self._redis

    def limiter(self, bot: str, rate: float, **options: Any) -> SharedLimiter:
        """The send-rate limiter of one bot (see `bot_key`), shared through Redis by every process using it."""
        return SharedLimiter(self._redis, bot, rate, **options)

    def budget(self, per_hour: int, per_day: int) -> TranslationBudget:
        """The budget of new /paper translations per user and chat."""
        return TranslationBudget(self._redis, per_hour, per_day)

    def updates(self, bot: str) -> UpdateLog:
        """The updates of one bot (see `bot_key`) already taken by some process, so each is handled once."""
        return UpdateLog(self._redis, bot)

    def poller_lease(self, token: str, owner: str, ttl_ms: int) -> Lease:
        """The lease that lets one process poll a Telegram token."""
        return poller_lease(self._redis, token, owner, ttl_ms)

    def unavailable(self, exc: BaseException) -> StoreUnavailable:
        """The StoreUnavailable for an outage error, its message naming the cause and the server."""
        return StoreUnavailable(describe_outage(exc, self.location, SOCKET_TIMEOUT_SECONDS))

    async def ping(self) -> None:
        """Check the server answers; raise StoreUnavailable with a one-line reason (cause and server) if not."""
        try:
            await self._redis.ping()
        except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
            if is_outage(exc):
                raise self.unavailable(exc) from None
            raise StoreUnavailable(f"Redis at {self.location} answered PING with an error: {exc}") from None

    async def rename_legacy_keys(self) -> int:
        """Rename keys an older version named without hash tags (once per server); how many were renamed."""
        return await rename_legacy_keys(self._redis)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

    async def get_translation(self, model: str, versioned_id: str) -> Translation | None:
        """Return the cached translation of this paper version by this model, if any."""
        return _translation_from(await self._redis.get(translation_key(model, versioned_id)))

    async def get_translations(self, model: str, versioned_ids: Sequence[str]) -> list[Translation | None]:
        """The cached translations of these paper versions, in one round trip (None where there is none)."""
        if not versioned_ids:
            return []
        raws = await get_many(self._redis, [translation_key(model, vid) for vid in versioned_ids])
        return [_translation_from(raw) for raw in raws]

    async def put_translation(
        self, model: str, versioned_id: str, translation: Translation, ttl: int | None = None
    ) -> None:
        """Cache a translation for `ttl` seconds (None: for good; a paper version's text never changes)."""
        text = json.dumps(asdict(translation), ensure_ascii=False)
        await self._redis.set(translation_key(model, versioned_id), text, ex=ttl)

    async def get_translation_failure(self, model: str, versioned_id: str) -> str | None:
        """Why this paper version's translation failed lately, or None if it did not (or long ago)."""
        raw = await self._redis.get(translation_failure_key(model, versioned_id))
        return None if raw is None else str(raw)

    async def put_translation_failure(self, model: str, versioned_id: str, reason: str, ttl: int) -> None:
        """Remember for `ttl` seconds that a translation failed, so asking again soon costs no LLM call."""
        await self._redis.set(translation_failure_key(model, versioned_id), reason[:500], ex=max(1, ttl))

    async def synced_commands_hash(self, platform: str, app: str, scope: str) -> str | None:
        """The hash of the command list last synced for this application and scope (`global` or a server)."""
        raw = await self._redis.get(commands_hash_key(platform, app, scope))
        return None if raw is None else str(raw)

    async def put_synced_commands_hash(self, platform: str, app: str, scope: str, digest: str) -> None:
        """Remember the hash of the command list just synced for this application and scope."""
        await self._redis.set(commands_hash_key(platform, app, scope), digest)

    async def get_paper(self, arxiv_id: str) -> Paper | None:
        """Return a paper's cached metadata, if it was seen recently."""
        raw = await self._redis.get(paper_key(arxiv_id))
        if raw is None:
            return None
        try:
            return paper_from_dict(json.loads(raw))
        except (TypeError, ValueError):
            return None

    async def put_papers(self, papers: list[Paper] | tuple[Paper, ...]) -> None:
        """Cache papers' metadata so /paper lookups of recent papers need no arXiv request."""
        if not papers:
            return
        encoded = await asyncio.to_thread(_encode_papers, papers)  # a day's worth is too much for the event loop
        async with self._redis.pipeline(transaction=False) as pipe:
            for arxiv_id, text in encoded:
                pipe.set(paper_key(arxiv_id), text, ex=PAPER_TTL_SECONDS)
            await pipe.execute()

    async def get_listing(self, categories: tuple[str, ...] | list[str]) -> Listing | None:
        """A listing for these categories fetched in the last half hour, if any."""
        raw = await self._redis.get(listing_key(categories))
        return None if raw is None else listing_from_json(str(raw))

    async def put_listing(self, listing: Listing) -> None:
        """Remember a fetched listing briefly, so on-demand digests do not refetch arXiv for every reader."""
        text = await asyncio.to_thread(listing_to_json, listing)
        await self._redis.set(listing_key(listing.categories), text, ex=LISTING_TTL_SECONDS)

    async def get_subscriber(self, chat: ChatRef) -> Subscriber | None:
        """A chat's subscription, or None when it has none."""
        fields = await self._redis.hgetall(subscriber_key(chat))
        if not fields:
            return None
        sub = read_subscriber(chat, fields)
        if isinstance(sub, str):
            await self._note_unreadable(chat, sub)
            return None
        return sub

    async def save_subscriber(self, sub: Subscriber) -> None:
        """Store a chat's whole subscription and list the chat among the subscribers."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(subscriber_key(sub.chat), mapping=subscriber_fields(sub))
            pipe.sadd(SUBSCRIBERS_KEY, sub.chat.key)
            pipe.sadd(UNSCHEDULED_KEY, sub.chat.key)
            await pipe.execute()

    async def update_subscriber(self, chat: ChatRef, change: Callable[[Subscriber], Subscriber]) -> Subscriber:
        """Apply `change` to a chat's subscription atomically (retrying if another command changed it meanwhile)."""
        key = subscriber_key(chat)
        while True:
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    fields = await pipe.hgetall(key)
                    current = subscriber_from_fields(chat, fields) if fields else Subscriber(chat)
                    updated = change(current)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(key, mapping=subscriber_fields(updated))
                    pipe.sadd(SUBSCRIBERS_KEY, chat.key)
                    pipe.sadd(UNSCHEDULED_KEY, chat.key)
                    await pipe.execute()
                    return updated
                except WatchError:
                    continue

    async def delete_subscriber(self, chat: ChatRef) -> bool:
        """Forget everything stored about a chat (every key named after it); True if there was something."""
        ranked = await self.ratings.delete(chat)  # its own slot in a cluster, so a step of its own
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.exists(subscriber_key(chat))
            pipe.delete(*chat_keys(chat))
            pipe.srem(SUBSCRIBERS_KEY, chat.key)
            pipe.zrem(DUE_KEY, chat.key)
            pipe.srem(UNSCHEDULED_KEY, chat.key)
            pipe.srem(WAITING_KEY, chat.key)
            existed, *_ = await pipe.execute()
        return bool(existed) or ranked

    async def move_subscriber(self, old: ChatRef, new: ChatRef) -> None:
        """Keep a subscription when its chat gets a new id (a Telegram group migrated to a supergroup).

        Settings, the days received, the per-day records and the papers sent move to the new id in one step, and
        a forwarding record sends the old id's delivery in flight (its progress and its finish) to the new one.
        """
        keys = [
            *history_keys(old),
            *history_keys(new),
            SUBSCRIBERS_KEY,
            DUE_KEY,
            WAITING_KEY,
            UNSCHEDULED_KEY,
            moved_key(old),
        ]
        await self._move_chat(keys=keys, args=[old.key, new.key, MOVED_TTL_SECONDS])
        await self.ratings.move(old, new)  # the ratings and interest go along with the chat

    async def all_subscribers(self, batch: int = 500) -> list[Subscriber]:
        """Every readable subscription, read in pipelined batches and parsed in a thread (off the event loop)."""
        chats = await self.subscriber_chats()
        subscribers: list[Subscriber] = []
        for start in range(0, len(chats), batch):
            part = chats[start : start + batch]
            async with self._redis.pipeline(transaction=False) as pipe:
                for chat in part:
                    pipe.hgetall(subscriber_key(chat))
                rows = await pipe.execute()
            for chat, sub in await asyncio.to_thread(_read_rows, part, rows):
                if isinstance(sub, str):
                    await self._note_unreadable(chat, sub)
                else:
                    subscribers.append(sub)
        return subscribers

    async def audience_filters(self, platforms: frozenset[str], batch: int = 2000) -> list[Filter]:
        """Every distinct filter of the readable subscriptions of these platforms, each stored text parsed once.

        Subscribers share most of their filters, so this costs one parse per distinct filter text, not per
        subscriber; the chats are scanned page by page and read with one script reply per page, and no
        Subscriber is built. An unreadable subscription is skipped and noted, as `all_subscribers` does.
        """
        reader = _AudienceReader()
        parsing: asyncio.Future[list[tuple[ChatRef, str]]] | None = None  # the page before, parsed in a thread
        async for chats, rows in self._audience_pages(platforms, batch):  # Redis reads a page while one is parsed
            if parsing is not None:
                await self._note_all_unreadable(await parsing)
            parsing = asyncio.ensure_future(asyncio.to_thread(reader.add_page, chats, rows))  # CPU: off the loop
        if parsing is not None:
            await self._note_all_unreadable(await parsing)
        return reader.filters()

    async def _audience_pages(
        self, platforms: frozenset[str], batch: int
    ) -> AsyncIterator[tuple[list[ChatRef], list[list[Any]]]]:
        """The subscribers of these platforms, a scanned page at a time, with their audience fields."""
        cursor = 0
        while True:
            next_cursor, members = json.loads(await self._scan_members(keys=[SUBSCRIBERS_KEY], args=[cursor, batch]))
            cursor = int(next_cursor)
            chats = [chat for chat in map(ChatRef.from_key, members) if chat.platform in platforms]
            if chats:
                yield chats, await self._subscription_fields(chats, _AUDIENCE_FIELDS)
            if cursor == 0:
                return

    async def _note_all_unreadable(self, unreadable: Sequence[tuple[ChatRef, str]]) -> None:
        """Note each unreadable subscription with why."""
        for chat, reason in unreadable:
            await self._note_unreadable(chat, reason)

    async def _subscription_fields(self, chats: Sequence[ChatRef], fields: Sequence[str]) -> list[list[Any]]:
        """These fields of each chat's subscription hash (False where missing), in one round trip."""
        if not chats:
            return []
        reply = await self._read_fields(keys=[subscriber_key(chat) for chat in chats], args=list(fields))
        rows: list[list[Any]] = json.loads(reply)
        return rows

    async def schedules(self, chats: Sequence[ChatRef]) -> list[tuple[time, str] | None]:
        """Each chat's delivery time and timezone, in one round trip; None where there is no readable subscription.

        The filters are checked for being a JSON list of texts, not parsed (a text that no longer parses is found
        by the daily read of every filter, `audience_filters`, and noted then); a chat noted as unreadable is read
        in full, so a repaired one is scheduled again.
        """
        if not chats:
            return []
        noted = {str(key) for key in await self._redis.hkeys(BROKEN_SUBSCRIBERS_KEY)}
        rows = await self._subscription_fields(chats, ("filters", "time", "tz", "lang"))
        checks: dict[tuple[str, str, str], tuple[time, str] | str] = {}
        found: list[tuple[time, str] | None] = []
        for chat, (raw_filters, raw_time, tz, lang) in zip(chats, rows, strict=True):
            if not (raw_filters or raw_time or tz or lang):
                found.append(None)
                continue
            if chat.key in noted:
                sub = await self.get_subscriber(chat)
                found.append(None if sub is None else (sub.delivery_time, sub.timezone))
                continue
            key = (raw_time or "09:00", tz or DEFAULT_TIMEZONE, lang or "both")
            if key not in checks:
                checks[key] = _schedule_of(*key)
            schedule = _readable_schedule(checks[key], raw_filters if isinstance(raw_filters, str) else None)
            if isinstance(schedule, str):
                await self._note_unreadable(chat, schedule)
                found.append(None)
            else:
                found.append(schedule)
        return found

    async def _note_unreadable(self, chat: ChatRef, reason: str) -> None:
        """Note an unreadable subscription for the operator, logging it the first time only."""
        if await self._redis.hsetnx(BROKEN_SUBSCRIBERS_KEY, chat.key, reason):
            log.error(
                "%s: stored subscription is unreadable (%s); skipped until repaired or removed"
                " (listed by `arxiv-digest dead-letters`)",
                chat.key,
                reason,
            )

    async def broken_subscribers(self) -> dict[str, str]:
        """Chats whose stored subscription was found unreadable and still is, with the reason."""
        broken = {}
        for key, reason in sorted((await self._redis.hgetall(BROKEN_SUBSCRIBERS_KEY)).items()):
            chat = ChatRef.from_key(str(key))
            fields = await self._redis.hgetall(subscriber_key(chat))
            if fields and isinstance(read_subscriber(chat, fields), str):
                broken[chat.key] = str(reason)
            else:
                await self._redis.hdel(BROKEN_SUBSCRIBERS_KEY, chat.key)  # repaired or removed since
        return broken

    async def subscriber_count(self) -> int:
        """How many chats have a subscription."""
        return int(await self._redis.scard(SUBSCRIBERS_KEY))

    async def subscriber_chats(self) -> list[ChatRef]:
        """Every chat that has a subscription."""
        keys = await self._redis.smembers(SUBSCRIBERS_KEY)
        return [ChatRef.from_key(str(k)) for k in sorted(keys)]


def read_subscriber(chat: ChatRef, fields: Mapping[Any, Any]) -> Subscriber | str:
    """The subscription stored in these hash fields, or why they cannot be read."""
    try:
        sub = subscriber_from_fields(chat, fields)
        ZoneInfo(sub.timezone)  # a timezone this system does not know cannot be scheduled
    except (*UNREADABLE, ZoneInfoNotFoundError) as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return sub


_AUDIENCE_FIELDS = ("filters", "time", "lang")  # what makes a stored subscription readable (see subscriber_from_fields)


class _AudienceReader:
    """Collects the distinct filters of many stored subscriptions, parsing each distinct text once."""

    def __init__(self) -> None:
        self._parsed: dict[str, Filter | str] = {}  # stored filter text -> its Filter, or why it is unreadable
        self._checked: dict[tuple[str, str], str | None] = {}  # (time, lang) -> why unreadable, or None
        self._filters: dict[Filter, None] = {}  # an ordered set

    def add_page(self, chats: Sequence[ChatRef], rows: Sequence[Sequence[Any]]) -> list[tuple[ChatRef, str]]:
        """Take a page of subscriptions' fields; returns the unreadable ones, with why."""
        unreadable = [(chat, self.add(row)) for chat, row in zip(chats, rows, strict=True)]
        return [(chat, reason) for chat, reason in unreadable if reason is not None]

    def add(self, row: Sequence[Any]) -> str | None:
        """Take one subscription's (filters, time, lang) fields; returns why it is unreadable, or None."""
        raw_filters, raw_time, raw_lang = row
        if not (raw_filters or raw_time or raw_lang):
            return None  # gone meanwhile, or a hash holding no subscription fields: nothing to read
        settings = (str(raw_time or "09:00"), str(raw_lang or "both"))
        if settings not in self._checked:
            self._checked[settings] = _unreadable_settings(*settings)
        reason = self._checked[settings]
        if reason is not None:
            return reason
        try:
            texts = json.loads(raw_filters if isinstance(raw_filters, str) else "[]")
            found = [self._parse(text) for text in texts]
        except UNREADABLE as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        filters: list[Filter] = []
        for parsed in found:
            if isinstance(parsed, str):
                return parsed
            filters.append(parsed)
        self._filters.update(dict.fromkeys(filters))
        return None

    def _parse(self, text: Any) -> Filter | str:
        """One stored filter text's Filter (parsed the first time it is met), or why it cannot be read."""
        parsed = self._parsed.get(text)
        if parsed is None:
            try:
                parsed = read_stored_filter(text)
            except UNREADABLE as exc:
                parsed = f"{type(exc).__name__}: {exc}"[:300]
            self._parsed[text] = parsed
        return parsed

    def filters(self) -> list[Filter]:
        """The distinct filters read so far, in the order first met."""
        return list(self._filters)


def _schedule_of(raw_time: str, tz: str, raw_lang: str) -> tuple[time, str] | str:
    """A stored delivery time and timezone, or why they (or the stored language) cannot be read."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return _unreadable_settings(raw_time, raw_lang) or (parse_time(raw_time), tz)


def _filters_unreadable(raw: str | None) -> str | None:
    """Why stored filters are not a JSON list of texts, or None when they are."""
    try:
        texts = json.loads(raw or "[]")
    except (TypeError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        return "TypeError: the stored filters are not a list of texts"
    return None


def _readable_schedule(checked: tuple[time, str] | str, raw_filters: str | None) -> tuple[time, str] | str:
    """The checked schedule, unless the settings (already checked) or the filters cannot be read: then why."""
    if isinstance(checked, str):
        return checked
    return _filters_unreadable(raw_filters) or checked


def _unreadable_settings(raw_time: str, raw_lang: str) -> str | None:
    """Why a stored delivery time or language cannot be read, or None when both can."""
    try:
        parse_time(raw_time)
        Lang(raw_lang)
    except UNREADABLE as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def _read_rows(chats: list[ChatRef], rows: list[Any]) -> list[tuple[ChatRef, Subscriber | str]]:
    """Read a batch of subscriber hashes (CPU-bound at scale: run it in a thread); empty ones are left out."""
    return [(chat, read_subscriber(chat, row)) for chat, row in zip(chats, rows, strict=True) if row]


def _encode_papers(papers: list[Paper] | tuple[Paper, ...]) -> list[tuple[str, str]]:
    """Each paper's id and stored JSON form."""
    return [(paper.arxiv_id, json.dumps(paper_to_dict(paper), ensure_ascii=False)) for paper in papers]


def _translation_from(raw: bytes | str | None) -> Translation | None:
    """A cached translation read back, or None when absent or unreadable."""
    if raw is None:
        return None
    try:
        return Translation(**json.loads(raw))
    except (TypeError, ValueError):
        return None
