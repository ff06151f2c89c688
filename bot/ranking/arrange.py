"""Order and limit the papers a chat's filters matched, by its preferences: one pure function for every digest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import repeat
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from bot.models import Digest, Paper
from bot.ranking.explain import reasons, why_line
from bot.ranking.index import DayIndex
from bot.ranking.model import EMPTY, Profile, with_interest

DEFAULT_LIMIT = 20
TIE_BREAK = 1e-9
_TIES = np.arange(4096) * TIE_BREAK  # each later paper's sliver, ready for a day of up to 4,096 matches
_ARXIV_ID = attrgetter("arxiv_id")
MAX_LIMIT = 1000
MAX_INTEREST = 500
Rows = Sequence[int] | npt.NDArray[np.int64]  # papers' rows in the day index, in the papers' order


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


def rank(
    papers: Sequence[Paper], index: DayIndex, prefs: Preferences, limit: int | None = None, rows: Rows | None = None
) -> tuple[list[Paper], str]:
    """The `limit` best papers, best first (ties keep announcement order), and the line explaining the first.

    `rows` are the papers' rows in the index when the caller knows them (the matcher does); else they are looked up.
    """
    profile = with_interest(prefs.profile, prefs.interest)
    scores = index.score(profile)
    if rows is None:
        looked_up = np.fromiter(map(index.rows.get, map(_ARXIV_ID, papers), repeat(-1)), np.int64, len(papers))
        if (looked_up < 0).any():  # papers the index does not hold score 0: one more row, always 0
            scores = np.append(scores, 0.0)
            looked_up[looked_up < 0] = len(scores) - 1
        rows = looked_up
    elif not isinstance(rows, np.ndarray):
        rows = np.fromiter(rows, np.int64, len(rows))
    ordered, top = _sorted(papers, rows, scores, limit)
    if top < 0 or top >= index.size or scores[top] <= 0:
        return ordered, ""
    return ordered, why_line(ordered[0], reasons(ordered[0], index.raising_terms(profile, top)))


def _sorted(
    papers: Sequence[Paper], rows: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], limit: int | None
) -> tuple[list[Paper], int]:
    """The `limit` best of the matched papers (all when None), by their scores, best first; and the first's row."""
    # Ties keep announcement order: each later paper loses a sliver far below any real score difference.
    ties = _TIES[: len(papers)] if len(papers) <= len(_TIES) else np.arange(len(papers)) * TIE_BREAK
    keys = ties - scores[rows]  # ascending: best first
    count = len(papers) if limit is None else min(limit, len(papers))
    top = keys.argpartition(count - 1)[:count] if 0 < count < len(papers) else np.arange(len(papers))
    best = top[keys[top].argsort()].tolist()
    return [papers[i] for i in best], int(rows[best[0]]) if best else -1


def arrange(
    papers: Sequence[Paper],
    index: DayIndex | None,
    prefs: Preferences,
    *,
    show_all: bool = False,
    rows: Rows | None = None,
) -> Arranged:
    """Rank the matched papers when the chat ranks (and `index` is given), then keep the chat's limit."""
    limit = None if show_all else prefs.limit
    if prefs.ranks and index is not None:
        shown, why = rank(papers, index, prefs, limit, rows)
    else:
        shown, why = list(papers[:limit]), ""
    return Arranged(tuple(shown), len(papers), why)


def arranged_digest(digest: Digest, arranged: Arranged) -> Digest:
    """The digest's items in the arranged order and number, with the why-line and the how-many-more line."""
    by_id = {item.paper.arxiv_id: item for item in digest.items}
    items = tuple(by_id[p.arxiv_id] for p in arranged.papers)
    return replace(digest, items=items, lead=arranged.why, footer=more_line(arranged.more) if arranged.more else "")


def more_line(more: int) -> str:
    """The line after a limited digest: how many more matched and how to get them."""
    return (
        f"还有 {more} 篇匹配的论文：/digest all 查看全部，/digest file 获取完整文件。 · "
        f"{more} more matched: /digest all shows them all, /digest file sends the whole day as a file."
    )
