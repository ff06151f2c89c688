"""Redis storage: the only module that imports redis, and the one place every key name is defined."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from datetime import date
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError, WatchError

from bot.errors import StoreUnavailable
from bot.filters import parse_filter
from bot.models import Listing, Paper, Translation
from bot.subscribers import ChatRef, Lang, Subscriber, parse_time

PREFIX = "axd:"
TRANSLATION_KEY = PREFIX + "tr:{model}:{paper}"
PAPER_KEY = PREFIX + "paper:{paper}"
PAPER_TTL_SECONDS = 14 * 24 * 3600
SUBSCRIBER_KEY = PREFIX + "sub:{chat}"
SUBSCRIBERS_KEY = PREFIX + "subscribers"
LISTING_KEY = PREFIX + "listing:{categories}"
LISTING_TTL_SECONDS = 30 * 60


def translation_key(model: str, versioned_id: str) -> str:
    """The key of one paper version's translation by one model."""
    return TRANSLATION_KEY.format(model=model, paper=versioned_id)


def paper_key(arxiv_id: str) -> str:
    """The key of a paper's cached metadata (latest version seen)."""
    return PAPER_KEY.format(paper=arxiv_id)


def subscriber_key(chat: ChatRef) -> str:
    """The hash holding one chat's subscription."""
    return SUBSCRIBER_KEY.format(chat=chat.key)


def listing_key(categories: tuple[str, ...] | list[str]) -> str:
    """The key of a recently fetched listing for this set of categories."""
    return LISTING_KEY.format(categories="+".join(sorted(categories)))


def _subscriber_fields(sub: Subscriber) -> Mapping[Any, str]:
    """A subscription as the fields of its Redis hash."""
    return {
        "filters": json.dumps([f.canonical() for f in sub.filters], ensure_ascii=False),
        "time": sub.delivery_time.strftime("%H:%M"),
        "tz": sub.timezone,
        "lang": sub.lang.value,
    }


def _subscriber_from_fields(chat: ChatRef, fields: Mapping[Any, Any]) -> Subscriber:
    """Rebuild a subscription from its Redis hash."""
    return Subscriber(
        chat=chat,
        filters=tuple(parse_filter(text) for text in json.loads(fields.get("filters", "[]"))),
        delivery_time=parse_time(fields.get("time", "09:00")),
        timezone=fields.get("tz", "Asia/Shanghai"),
        lang=Lang(fields.get("lang", "both")),
    )


def _paper_from_dict(data: dict[str, Any]) -> Paper:
    """Rebuild a Paper from its stored JSON object."""
    data = dict(data)
    data["authors"] = tuple(data.get("authors", ()))
    data["categories"] = tuple(data.get("categories", ()))
    return Paper(**data)


class Store:
    """Typed access to everything the bot keeps in Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    @classmethod
    def from_url(cls, url: str) -> Store:
        """Connect lazily to the Redis server at `url`."""
        return cls(redis.Redis.from_url(url, decode_responses=True))

    @property
    def redis(self) -> redis.Redis:
        """The underlying client, for the modules that own other key families."""
        return self._redis

    async def ping(self) -> None:
        """Check the server answers; raise StoreUnavailable with a one-line reason if not."""
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"cannot reach Redis: {type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

    async def get_translation(self, model: str, versioned_id: str) -> Translation | None:
        """Return the cached translation of this paper version by this model, if any."""
        raw = await self._redis.get(translation_key(model, versioned_id))
        if raw is None:
            return None
        try:
            return Translation(**json.loads(raw))
        except (TypeError, ValueError):
            return None

    async def put_translation(self, model: str, versioned_id: str, translation: Translation) -> None:
        """Cache a translation; it never expires (a paper version's text never changes)."""
        await self._redis.set(
            translation_key(model, versioned_id), json.dumps(asdict(translation), ensure_ascii=False)
        )

    async def get_paper(self, arxiv_id: str) -> Paper | None:
        """Return a paper's cached metadata, if it was seen recently."""
        raw = await self._redis.get(paper_key(arxiv_id))
        if raw is None:
            return None
        try:
            return _paper_from_dict(json.loads(raw))
        except (TypeError, ValueError):
            return None

    async def put_papers(self, papers: list[Paper] | tuple[Paper, ...]) -> None:
        """Cache papers' metadata so /paper lookups of recent papers need no arXiv request."""
        if not papers:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for paper in papers:
                pipe.set(
                    paper_key(paper.arxiv_id),
                    json.dumps(asdict(paper), ensure_ascii=False),
                    ex=PAPER_TTL_SECONDS,
                )
            await pipe.execute()

    async def get_listing(self, categories: tuple[str, ...] | list[str]) -> Listing | None:
        """A listing for these categories fetched in the last half hour, if any."""
        raw = await self._redis.get(listing_key(categories))
        if raw is None:
            return None
        data = json.loads(raw)
        papers = tuple(_paper_from_dict(p) for p in data["papers"])
        day = date.fromisoformat(data["day"]) if data.get("day") else None
        return Listing(papers=papers, day=day, categories=tuple(data["categories"]))

    async def put_listing(self, listing: Listing) -> None:
        """Remember a fetched listing briefly, so on-demand digests do not refetch arXiv for every reader."""
        data = {
            "day": listing.day.isoformat() if listing.day else None,
            "categories": list(listing.categories),
            "papers": [asdict(p) for p in listing.papers],
        }
        await self._redis.set(listing_key(listing.categories), json.dumps(data, ensure_ascii=False),
                              ex=LISTING_TTL_SECONDS)

    async def get_subscriber(self, chat: ChatRef) -> Subscriber | None:
        """A chat's subscription, or None when it has none."""
        fields = await self._redis.hgetall(subscriber_key(chat))
        return _subscriber_from_fields(chat, fields) if fields else None

    async def save_subscriber(self, sub: Subscriber) -> None:
        """Store a chat's whole subscription and list the chat among the subscribers."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(subscriber_key(sub.chat), mapping=_subscriber_fields(sub))
            pipe.sadd(SUBSCRIBERS_KEY, sub.chat.key)
            await pipe.execute()

    async def update_subscriber(self, chat: ChatRef, change: Callable[[Subscriber], Subscriber]) -> Subscriber:
        """Apply `change` to a chat's subscription atomically (retrying if another command changed it meanwhile)."""
        key = subscriber_key(chat)
        while True:
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    fields = await pipe.hgetall(key)
                    current = _subscriber_from_fields(chat, fields) if fields else Subscriber(chat)
                    updated = change(current)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(key, mapping=_subscriber_fields(updated))
                    pipe.sadd(SUBSCRIBERS_KEY, chat.key)
                    await pipe.execute()
                    return updated
                except WatchError:
                    continue

    async def delete_subscriber(self, chat: ChatRef) -> bool:
        """Forget everything stored about a chat; True if there was something."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(subscriber_key(chat))
            pipe.srem(SUBSCRIBERS_KEY, chat.key)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def move_subscriber(self, old: ChatRef, new: ChatRef) -> None:
        """Keep a subscription when its chat gets a new id (a Telegram group migrated to a supergroup)."""
        sub = await self.get_subscriber(old)
        if sub is None:
            return
        await self.save_subscriber(replace(sub, chat=new))
        await self.delete_subscriber(old)

    async def subscriber_chats(self) -> list[ChatRef]:
        """Every chat that has a subscription."""
        keys = await self._redis.smembers(SUBSCRIBERS_KEY)
        return [ChatRef.from_key(str(k)) for k in sorted(keys)]
