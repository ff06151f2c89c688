"""Redis storage: the only module that imports redis, and the one place every key name is defined."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from bot.errors import StoreUnavailable
from bot.models import Paper, Translation

PREFIX = "axd:"
TRANSLATION_KEY = PREFIX + "tr:{model}:{paper}"
PAPER_KEY = PREFIX + "paper:{paper}"
PAPER_TTL_SECONDS = 14 * 24 * 3600


def translation_key(model: str, versioned_id: str) -> str:
    """The key of one paper version's translation by one model."""
    return TRANSLATION_KEY.format(model=model, paper=versioned_id)


def paper_key(arxiv_id: str) -> str:
    """The key of a paper's cached metadata (latest version seen)."""
    return PAPER_KEY.format(paper=arxiv_id)


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
