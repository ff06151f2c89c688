"""Order and limit the papers a chat's filters matched, by its preferences: one pure function for every digest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import repeat
from operator import attrgetter
from typing import overload

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


class Picked(Sequence[Paper]):
    """A listing's papers at some of its positions (its rows in the day index), read in place, not copied per chat."""

    __slots__ = ("_papers", "rows")

    def __init__(self, papers: Sequence[Paper], rows: Sequence[int]) -> None:
        self._papers = papers
        self.rows = rows

    def __len__(self) -> int:
        """How many papers were picked."""
        return len(self.rows)

    @overload
    def __getitem__(self, at: int) -> Paper: ...

    @overload
    def __getitem__(self, at: slice) -> Sequence[Paper]: ...

    def __getitem__(self, at: int | slice) -> Paper | Sequence[Paper]:
        """The picked paper at `at`, or a list of those in a slice."""
        if isinstance(at, slice):
            return [self._papers[row] for row in self.rows[at]]
        return self._papers[self.rows[at]]

    def pick(self, positions: Sequence[int]) -> list[Paper]:
        """The picked papers at these positions (faster than indexing one by one)."""
        papers, rows = self._papers, self.rows
        return [papers[rows[i]] for i in positions]


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

    @cached_property
    def scoring(self) -> Profile:
        """The profile papers are scored against: the learned one plus the interest text."""
        return with_interest(self.profile, self.interest)


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


def score_batch(index: DayIndex, prefs: Sequence[Preferences]) -> list[npt.NDArray[np.float64] | None]:
    """Each chat's scores of every paper in the index (None for a chat that does not rank), worked out all at once."""
    rows = iter(index.score_many([p.scoring for p in prefs if p.ranks]))
    return [next(rows) if p.ranks else None for p in prefs]


def rank(
    papers: Sequence[Paper],
    index: DayIndex,
    prefs: Preferences,
    limit: int | None = None,
    scores: npt.NDArray[np.float64] | None = None,
) -> tuple[list[Paper], str]:
    """The `limit` best papers, best first (ties keep announcement order), and the line explaining the first.

    Papers `Picked` from the indexed listing bring their rows in the index (the matcher has them); others are looked up.
    `scores` are every indexed paper's scores for this chat when already worked out (a worker scores a batch at once).
    """
    if scores is None:
        scores = index.score(prefs.scoring)
    if isinstance(papers, Picked):
        rows = np.fromiter(papers.rows, np.int64, len(papers))
    else:
        rows = np.fromiter(map(index.rows.get, map(_ARXIV_ID, papers), repeat(-1)), np.int64, len(papers))
        if (rows < 0).any():  # papers the index does not hold score 0: one more row, always 0
            scores = np.append(scores, 0.0)
            rows[rows < 0] = len(scores) - 1
    ordered, top = _sorted(papers, rows, scores, limit)
    if top < 0 or top >= index.size or scores[top] <= 0:
        return ordered, ""
    return ordered, why_line(ordered[0], reasons(ordered[0], index.raising_terms(prefs.scoring, top)))


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
    shown = papers.pick(best) if isinstance(papers, Picked) else [papers[i] for i in best]
    return shown, int(rows[best[0]]) if best else -1


def arrange(
    papers: Sequence[Paper],
    index: DayIndex | None,
    prefs: Preferences,
    *,
    show_all: bool = False,
    scores: npt.NDArray[np.float64] | None = None,
) -> Arranged:
    """Rank the matched papers when the chat ranks (and `index` is given), then keep the chat's limit.

    `scores`, when given, are the chat's scores of every paper in `index` (see `DayIndex.score_many`).
    """
    limit = None if show_all else prefs.limit
    if prefs.ranks and index is not None:
        shown, why = rank(papers, index, prefs, limit, scores)
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
