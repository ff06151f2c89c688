"""Order and limit the papers a chat's filters matched, by its preferences: pure functions for every digest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import repeat
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from bot.models import Digest, Paper
from bot.ranking.explain import reasons, why_line
from bot.ranking.index import DayIndex
from bot.ranking.model import EMPTY, Profile, with_interest
from bot.ranking.order import Ranked, Rows, best_first

DEFAULT_LIMIT = 20
_ARXIV_ID = attrgetter("arxiv_id")
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
    interest_terms: Profile | None = None  # the interest's terms as stored with it (None: from the text)

    @property
    def ranks(self) -> bool:
        """True when ranking is on and there is something to rank by (a rating or an interest)."""
        return self.rank and bool(self.likes or self.dislikes or self.interest)

    @cached_property
    def scoring(self) -> Profile:
        """The profile papers are scored against: the learned one plus the interest text."""
        return with_interest(self.profile, self.interest, self.interest_terms)


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


def arrange(papers: Sequence[Paper], index: DayIndex | None, prefs: Preferences, *, show_all: bool = False) -> Arranged:
    """One chat's papers ranked when it ranks (and `index` is given), then cut to its limit (unless `show_all`).

    Papers the index does not hold (a listing fetched since it was built) score 0.
    """
    rows = None
    if prefs.ranks and index is not None:
        rows = [list(map(index.rows.get, map(_ARXIV_ID, papers), repeat(-1)))]
    return arrange_many(papers, index, [prefs], [range(len(papers))], show_all=show_all, index_rows=rows)[0]


def arrange_many(
    papers: Sequence[Paper],
    index: DayIndex | None,
    prefs: Sequence[Preferences],
    matched: Sequence[Rows],
    *,
    show_all: bool = False,
    index_rows: Sequence[Rows] | None = None,
) -> list[Arranged]:
    """Each chat's matched papers (ascending positions in `papers`) arranged: what a delivery worker does per batch.

    The chats that rank are ranked together (see `best_first`); the others keep announcement order. The positions
    are also the papers' rows in `index` (built from `papers`) unless `index_rows` gives those.
    """
    limits = [_limit(p, len(chat), show_all) for p, chat in zip(prefs, matched, strict=True)]
    ranking = [n for n, p in enumerate(prefs) if p.ranks and len(matched[n])] if index is not None else []
    ranked: dict[int, Ranked] = {}
    if ranking and index is not None:
        rows = index_rows or matched
        profiles = [prefs[n].scoring for n in ranking]
        found = best_first(index, profiles, [rows[n] for n in ranking], [limits[n] for n in ranking])
        ranked = dict(zip(ranking, found, strict=True))
    shown = [
        _shown_papers(papers, chat, ranked[n].best if n in ranked else None, limits[n])
        for n, chat in enumerate(matched)
    ]
    whys = _why_lines(index, prefs, ranked, shown) if ranked and index is not None else {}
    return [Arranged(tuple(chat), len(matched[n]), whys.get(n, "")) for n, chat in enumerate(shown)]


def _shown_papers(papers: Sequence[Paper], chat: Rows, best: npt.NDArray[np.intp] | None, limit: int) -> list[Paper]:
    """A chat's papers to show: those at its `best` places when ranked, else its first `limit`, as listed."""
    chosen = (
        chat[:limit] if best is None else chat[best] if isinstance(chat, np.ndarray) else map(chat.__getitem__, best)
    )
    rows = chosen.tolist() if isinstance(chosen, np.ndarray) else chosen  # Python ints: numpy's index slowly
    return [papers[row] for row in rows]


def _limit(prefs: Preferences, matched: int, show_all: bool) -> int:
    """How many of a chat's matched papers it is shown."""
    return matched if show_all or prefs.limit is None else min(prefs.limit, matched)


def _why_lines(
    index: DayIndex, prefs: Sequence[Preferences], ranked: dict[int, Ranked], shown: Sequence[Sequence[Paper]]
) -> dict[int, str]:
    """For each ranked chat whose first paper scored above 0, the line saying why it came first."""
    explained = [n for n, r in ranked.items() if r.first_row >= 0 and r.first_score > 0]
    raising = index.raising_terms_many([prefs[n].scoring for n in explained], [ranked[n].first_row for n in explained])
    return {n: why_line(shown[n][0], reasons(shown[n][0], terms)) for n, terms in zip(explained, raising, strict=True)}


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
