"""Each chat's ratings (paper id -> like or dislike), interest text, rank on/off, limit and learned profile."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from redis.exceptions import WatchError

from bot.ranking.arrange import DEFAULT_LIMIT, Preferences
from bot.ranking.model import DISLIKE, EMPTY, LIKE, Profile, interest_terms, update
from bot.store.connection import Client
from bot.store.keys import profile_key, ranking_key, ranking_keys, ratings_key
from bot.subscribers import ChatRef

MAX_RATINGS = 100  # the oldest rating beyond this is forgotten (its mark on the profile stays)
INTEREST = "interest"
INTEREST_TERMS = "interest_terms"  # the interest's terms, packed when it is set: ranking reads, not re-tokenises


def rating_score(rating: int, at: datetime) -> int:
    """A rating as a sorted-set score: its minute orders the set, the lowest bit says like (1) or dislike (0).

    Minutes rather than seconds keep the score within 32 bits, which Redis stores in 4 bytes instead of 8.
    """
    return 2 * (int(at.timestamp()) // 60) + (1 if rating == LIKE else 0)


def rating_of(score: float) -> int:
    """The like or dislike a score stands for."""
    return LIKE if int(score) % 2 else DISLIKE


def preferences_from(fields: Mapping[Any, Any], profile: str | None = None) -> Preferences:
    """Rebuild a chat's preferences from its hash and packed profile (defaults for what is missing)."""
    limit = fields.get("limit", str(DEFAULT_LIMIT))
    return Preferences(
        rank=fields.get("rank", "on") != "off",
        limit=None if limit == "all" else int(limit),
        interest=fields.get(INTEREST, ""),
        profile=Profile.unpack(profile) if profile else EMPTY,
        likes=int(fields.get("likes", 0)),
        dislikes=int(fields.get("dislikes", 0)),
        interest_terms=Profile.unpack(terms) if (terms := fields.get(INTEREST_TERMS)) else None,
    )


def interest_fields(interest: str) -> dict[Any, Any]:
    """The ranking hash's fields for an interest: its text and its packed terms."""
    return {INTEREST: interest, INTEREST_TERMS: interest_terms(interest).pack()}


class RatingStore:
    """Typed access to the ranking keys of every chat."""

    def __init__(self, client: Client) -> None:
        self._redis = client

    async def preferences(self, chat: ChatRef) -> Preferences:
        """A chat's preferences (the defaults when it never set any)."""
        return (await self.preferences_of([chat]))[0]

    async def preferences_of(self, chats: Sequence[ChatRef]) -> list[Preferences]:
        """Several chats' preferences, in their order, in one round trip."""
        if not chats:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for chat in chats:
                pipe.hgetall(ranking_key(chat))
                pipe.get(profile_key(chat))
            replies = await pipe.execute()
        return [preferences_from(fields, profile) for fields, profile in zip(replies[::2], replies[1::2], strict=True)]

    async def rate(self, chat: ChatRef, paper_id: str, vector: Mapping[int, float], rating: int, now: datetime) -> int:
        """Record a like or dislike (replacing an earlier one) and learn from it; returns the earlier rating or 0."""
        rkey, hkey, pkey = ratings_key(chat), ranking_key(chat), profile_key(chat)
        while True:
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(rkey, hkey, pkey)
                    score = await pipe.zscore(rkey, paper_id)
                    old = 0 if score is None else rating_of(score)
                    prefs = preferences_from(await pipe.hgetall(hkey), str(await pipe.get(pkey) or ""))
                    oldest: Any = await pipe.zrange(rkey, 0, 0, withscores=True)
                    count = await pipe.zcard(rkey)
                    likes, dislikes = _counted(prefs.likes, prefs.dislikes, old, rating)
                    drop = count >= MAX_RATINGS and old == 0 and bool(oldest)
                    if drop:
                        likes, dislikes = _counted(likes, dislikes, rating_of(oldest[0][1]), 0)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if drop:
                        pipe.zrem(rkey, oldest[0][0])
                    pipe.zadd(rkey, {paper_id: rating_score(rating, now)})
                    profile = update(prefs.profile, vector, old, rating)
                    pipe.hset(hkey, mapping={"likes": likes, "dislikes": dislikes})
                    pipe.set(pkey, profile.pack())
                    await pipe.execute()
                    return old
                except WatchError:
                    continue

    async def set_field(self, chat: ChatRef, name: str, value: str | None) -> None:
        """Set one setting (rank, limit, interest), or remove it (back to its default) when value is None.

        An interest is stored with its terms, so that ranking does not turn the text into terms every day.
        """
        names = [name, INTEREST_TERMS] if name == INTEREST else [name]
        if value is None:
            await self._redis.hdel(ranking_key(chat), *names)
            return
        mapping = interest_fields(value) if name == INTEREST else {name: value}
        await self._redis.hset(ranking_key(chat), mapping=mapping)

    async def export(self, chat: ChatRef) -> dict[str, Any]:
        """A chat's ranking keys as JSON-ready data: settings, profile and ratings (id -> [+1/-1, epoch minute])."""
        fields = await self._redis.hgetall(ranking_key(chat))
        profile = await self._redis.get(profile_key(chat))
        rated: Any = await self._redis.zrange(ratings_key(chat), 0, -1, withscores=True)
        ratings = {str(pid): [rating_of(s), int(s) // 2] for pid, s in rated}
        return {"settings": dict(fields), "profile": profile or "", "ratings": ratings}

    async def restore(self, chat: ChatRef, data: Mapping[str, Any]) -> None:
        """Replace a chat's ranking keys with exported data."""
        settings: dict[Any, Any] = {str(k): str(v) for k, v in dict(data.get("settings", {})).items()}
        rated = {
            str(pid): 2 * int(at) + (1 if int(r) == LIKE else 0)
            for pid, (r, at) in dict(data.get("ratings", {})).items()
        }
        profile = str(data.get("profile", ""))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(ranking_key(chat), ratings_key(chat), profile_key(chat))
            if profile:
                pipe.set(profile_key(chat), profile)
            if settings:
                pipe.hset(ranking_key(chat), mapping=settings)
            if rated:
                pipe.zadd(ratings_key(chat), rated)
            await pipe.execute()

    async def delete(self, chat: ChatRef) -> bool:
        """Remove a chat's ranking keys; True if it had any."""
        return bool(await self._redis.delete(*ranking_keys(chat)))

    async def move(self, old: ChatRef, new: ChatRef) -> None:
        """Give a chat's ratings, settings and profile to its new id (a migrated group), copied across slots."""
        data = await self.export(old)
        if any(data.values()):
            await self.restore(new, data)
            await self.delete(old)


def _counted(likes: int, dislikes: int, old: int, new: int) -> tuple[int, int]:
    """The like and dislike counts after one rating changed from `old` to `new` (0 for none)."""
    likes += (new == LIKE) - (old == LIKE)
    dislikes += (new == DISLIKE) - (old == DISLIKE)
    return likes, dislikes
