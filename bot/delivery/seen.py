"""Which papers a chat already received, derived from the positions it stores and the shared day listings.

A chat stores, per listing day, only the positions of the papers it was sent (`sent:{chat}`, a few dozen bytes
a day); the ids behind those positions are read from the day listings every chat shares, once per worker and
day. A chat still holding the old sorted set of ids is converted the first time it is read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

from bot.store.delivery import DeliveryState
from bot.store.keys import SEEN_DAYS
from bot.subscribers import ChatRef

log = logging.getLogger(__name__)
DAYS_KEPT = SEEN_DAYS + 2  # listing days whose ids a worker keeps: the window, and a day of slack each side


class SeenPapers:
    """One worker's view of what chats were sent, with each day listing's ids read once and kept a while."""

    def __init__(self, state: DeliveryState) -> None:
        self._state = state
        self._ids: dict[str, tuple[str, ...]] = {}  # listing day -> its paper ids in listing order
        self._positions: dict[str, dict[str, int]] = {}  # listing day -> paper id -> position (days sent from)

    async def of(self, chat: ChatRef) -> set[str]:
        """The ids of the papers this chat was sent in the last SEEN_DAYS (converting the old layout first)."""
        record = await self._state.sent_record(chat)
        positions = record.positions
        if record.legacy:
            positions = await self._converted(chat, positions, record.legacy)
        seen: set[str] = set()
        for day, found in positions.items():
            ids = await self._day_ids(day)
            seen.update(ids[p] for p in found if p < len(ids))
        return seen

    async def positions(self, day: str, paper_ids: Iterable[str]) -> list[int]:
        """The positions of these papers in the day's stored listing (papers not in it are left out)."""
        if day not in self._positions:
            ids = await self._day_ids(day)
            # An id listed twice maps to its first position, the one the matcher keeps.
            self._positions = {day: dict(zip(reversed(ids), range(len(ids) - 1, -1, -1), strict=True))}
        where = self._positions[day]
        return [where[paper] for paper in paper_ids if paper in where]

    async def _day_ids(self, day: str) -> tuple[str, ...]:
        """The paper ids of a day's listing, read once per worker (empty when the listing is gone)."""
        ids = self._ids.get(day)
        if ids is None:
            ids = await self._state.day_paper_ids(day)
            if ids is None:
                return ()
            self._ids[day] = ids
            newest = max(date.fromisoformat(d).toordinal() for d in self._ids)
            for old in [d for d in self._ids if date.fromisoformat(d).toordinal() <= newest - DAYS_KEPT]:
                del self._ids[old]
        return ids

    async def _converted(
        self, chat: ChatRef, positions: dict[str, list[int]], legacy: dict[str, str]
    ) -> dict[str, list[int]]:
        """Store the old layout's papers as positions (merged with those already there); the merged positions."""
        merged = {day: list(found) for day, found in positions.items()}
        by_day: dict[str, list[str]] = {}
        for paper, day in legacy.items():
            by_day.setdefault(day, []).append(paper)
        lost = 0
        for day, papers in by_day.items():
            ids = await self._day_ids(day)
            where = {paper: n for n, paper in enumerate(ids)}
            found = [where[paper] for paper in papers if paper in where]
            lost += len(papers) - len(found)
            if found:
                merged[day] = sorted(set(merged.get(day, [])) | set(found))
        if await self._state.convert_legacy_seen(chat, merged):
            log.info("%s: papers seen converted to listing positions (%d no longer in a listing)", chat.key, lost)
        return merged
