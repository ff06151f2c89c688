"""Each chat's best papers among those its filters matched: a whole batch of chats in one set of array operations.

numpy's cost per call is most of what ranking one chat's few hundred papers takes, so a delivery worker ranks
its batch of chats together: their scores gathered, cut to each chat's limit and sorted, all at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.ranking.index import DayIndex
from bot.ranking.model import Profile

Rows = Sequence[int] | npt.NDArray[np.intp]  # positions of papers, as a list or as an array
TIE_BREAK = 1e-9  # each later paper loses this sliver: ties keep announcement order


@dataclass(frozen=True, eq=False)  # holds an array: compared by identity
class Ranked:
    """One chat's ranking: the positions (in its rows) of the papers to show, best first, and the first's score."""

    best: npt.NDArray[np.intp]
    first_row: int = -1  # the first paper's row in the day index (-1: nothing shown, or a paper it does not hold)
    first_score: float = 0.0


NOTHING = Ranked(np.empty(0, dtype=np.intp))


def best_first(
    index: DayIndex, profiles: Sequence[Profile], rows: Sequence[Rows], limits: Sequence[int]
) -> list[Ranked]:
    """For each chat (its profile, its papers' rows in the index, its limit): its `limit` best papers, best first.

    A row of -1 is a paper the index does not hold: it scores 0.
    """
    chats = [n for n, (chat_rows, limit) in enumerate(zip(rows, limits, strict=True)) if len(chat_rows) and limit > 0]
    ranked = [NOTHING] * len(profiles)
    if not chats:
        return ranked
    chosen = _ranked(index, [profiles[n] for n in chats], [rows[n] for n in chats], [limits[n] for n in chats])
    for n, result in zip(chats, chosen, strict=True):
        ranked[n] = result
    return ranked


def _ranked(index: DayIndex, profiles: Sequence[Profile], rows: Sequence[Rows], limits: Sequence[int]) -> list[Ranked]:
    """`best_first` for chats that each have papers and a limit above 0."""
    size = index.size
    scores = index.score_many(profiles).ravel()
    counts = np.fromiter(map(len, rows), np.int64, len(rows))
    flat = np.concatenate([np.asarray(chat_rows, dtype=np.int64) for chat_rows in rows])  # arrays: no copy each
    owner = np.arange(len(rows)).repeat(counts)
    starts = counts.cumsum() - counts
    gathered = scores[owner * size + np.maximum(flat, 0)]
    if (flat < 0).any():
        gathered[flat < 0] = 0.0
    keys = (np.arange(len(flat)) - starts.repeat(counts)) * TIE_BREAK - gathered  # ascending: best first
    # Chat by chat, each chat's `limit` best (unordered): one array per batch would be padded to its longest chat,
    # 2.5 times the work (measured). Then one sort puts every chat's few in order, chat by chat.
    tops = [
        keys[begin : begin + count].argpartition(limit - 1)[:limit] if limit < count else np.arange(count)
        for begin, count, limit in zip(starts.tolist(), counts.tolist(), limits, strict=True)
    ]
    taken = np.fromiter(map(len, tops), np.int64, len(tops))
    local = np.concatenate(tops)  # positions in each chat's rows, each chat's best unordered
    chosen = local + starts.repeat(taken)  # the same positions in `flat`
    order = np.lexsort((keys[chosen], owner[chosen]))
    best, chosen = local[order], chosen[order]  # the owner key keeps each chat's entries where they were
    ends = taken.cumsum()
    firsts = chosen[ends - taken]
    first_rows, first_scores = flat[firsts].tolist(), gathered[firsts].tolist()
    return [
        Ranked(best[end - count : end], first_row, first_score)
        for end, count, first_row, first_score in zip(
            ends.tolist(), taken.tolist(), first_rows, first_scores, strict=True
        )
    ]
