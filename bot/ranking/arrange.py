"""Order and limit the papers a chat's filters matched, by its preferences: one pure function for every digest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

from bot.models import Paper
from bot.ranking.explain import reasons, why_line
from bot.ranking.index import DayIndex
from bot.ranking.model import EMPTY, Profile, with_interest

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
MAX_INTEREST = 500


@dataclass(frozen=True)
class Preferences:
    """What a chat chose and taught: ranking on or off, its daily limit (None: all), interest, learned profile."""

    rank: bool = True
    limit: int | None = DEFAULT_LIMIT
    interest: str = ""
    profile: Profile = field(default=EMPTY)
    likes: int = 0
    dislikes: int = 0

    @property
    def ranks(self) -> bool:
        """True when ranking is on and there is something to rank by (a rating or an interest)."""
        return self.rank and bool(self.likes or self.dislikes or self.interest)


@dataclass(frozen=True)
class Arranged:
    """The papers to show, best first when ranked, and what the digest says about the rest."""

    papers: tuple[Paper, ...]
    matched: int
    why: str = ""

    @property
    def more(self) -> int:
        """How many matched papers the limit left out."""
        return self.matched - len(self.papers)


def rank(papers: Sequence[Paper], index: DayIndex, prefs: Preferences, limit: int | None = None
         ) -> tuple[list[Paper], str]:
    """The `limit` best papers, best first (ties keep announcement order), and the line explaining the first."""
    weights = with_interest(prefs.profile, prefs.interest)
    scores = np.append(index.scores(weights), 0.0)  # the extra last score is for papers the index lacks
    ids = [p.arxiv_id for p in papers]
    rows = np.fromiter(map(index.rows.get, ids, repeat(-1)), dtype=np.int64, count=len(papers))
    chosen = scores[rows]
    order = np.argsort(-chosen, kind="stable")[:limit]
    ordered = [papers[i] for i in order]
    if not ordered or chosen[order[0]] <= 0:
        return ordered, ""
    return ordered, why_line(ordered[0], reasons(ordered[0], weights, index.idf))


def arrange(
    papers: Sequence[Paper], index: DayIndex | None, prefs: Preferences, *, show_all: bool = False
) -> Arranged:
    """Rank the matched papers when the chat ranks (and `index` is given), then keep the chat's limit."""
    limit = None if show_all else prefs.limit
    if prefs.ranks and index is not None:
        shown, why = rank(papers, index, prefs, limit)
    else:
        shown, why = list(papers[:limit]), ""
    return Arranged(tuple(shown), len(papers), why)


def more_line(more: int) -> str:
    """The line after a limited digest: how many more matched and how to get them."""
    return (
        f"还有 {more} 篇匹配的论文：/digest all 查看全部，/digest file 获取完整文件。 · "
        f"{more} more matched: /digest all shows them all, /digest file sends the whole day as a file."
    )
