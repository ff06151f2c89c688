"""Ranking for chats: rate papers, and order and limit any digest (on demand or pushed) by the chat's preferences."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.clock import Clock, utc_now
from bot.models import Digest, Listing, Paper
from bot.ranking.arrange import Arranged, Preferences, arrange, arrange_many, arranged_digest
from bot.ranking.features import paper_vector
from bot.ranking.index import DayIndex, build_index
from bot.ranking.order import Rows
from bot.store.ratings import RatingStore
from bot.subscribers import ChatRef

INDEXES_KEPT = 3  # the days whose index a process keeps in memory


@dataclass
class ChatRanking:
    """Each chat's ratings and preferences applied to its digests; one day index per listing, built off the loop."""

    ratings: RatingStore
    clock: Clock = utc_now
    _indexes: dict[tuple[object, ...], DayIndex] = field(default_factory=dict)
    _building: dict[tuple[object, ...], asyncio.Task[DayIndex]] = field(default_factory=dict)

    async def rate(self, chat: ChatRef, paper: Paper, rating: int) -> int:
        """Like (+1) or dislike (-1) a paper for a chat, replacing an earlier rating; returns that rating or 0."""
        return await self.ratings.rate(chat, paper.arxiv_id, paper_vector(paper), rating, self.clock())

    async def preferences(self, chat: ChatRef) -> Preferences:
        """The chat's ranking preferences."""
        return await self.ratings.preferences(chat)

    async def index(self, listing: Listing) -> DayIndex:
        """The day index of a listing, built once in a thread (concurrent callers share the build)."""
        key = (listing.day, listing.categories, len(listing.papers))
        if key in self._indexes:
            return self._indexes[key]
        if key not in self._building:
            self._building[key] = asyncio.ensure_future(asyncio.to_thread(build_index, listing.papers))
        try:
            index = await asyncio.shield(self._building[key])
        finally:
            self._building.pop(key, None)
        if len(self._indexes) >= INDEXES_KEPT:
            self._indexes.pop(next(iter(self._indexes)))
        self._indexes[key] = index
        return index

    async def arrange_batch(
        self, chats: Sequence[ChatRef], listing: Listing, matched: Sequence[Rows]
    ) -> list[Arranged]:
        """Several chats' matched papers (positions in `listing.papers`) ranked and cut, in a thread.

        One Redis round trip; the arithmetic runs off the event loop, which keeps serving chats and sends meanwhile.
        """
        prefs = await self.ratings.preferences_of(chats)
        index = await self.index(listing) if any(p.ranks for p in prefs) else None
        return await asyncio.to_thread(arrange_many, listing.papers, index, prefs, matched)

    async def arrange(
        self, chat: ChatRef, listing: Listing, papers: Sequence[Paper], *, show_all: bool = False
    ) -> Arranged:
        """The chat's papers ranked (when it ranks) and cut to its limit (unless `show_all`)."""
        prefs = await self.ratings.preferences(chat)
        index = await self.index(listing) if prefs.ranks else None
        return arrange(papers, index, prefs, show_all=show_all)

    async def arrange_digest(
        self, chat: ChatRef, digest: Digest, listing: Listing, *, show_all: bool = False
    ) -> Digest:
        """The digest re-ordered and limited for the chat, with the why-line and the how-many-more line."""
        arranged = await self.arrange(chat, listing, [item.paper for item in digest.items], show_all=show_all)
        return arranged_digest(digest, arranged)
