"""One day's papers as an inverted index of hashed terms, built once a day and shared by every chat's scoring."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.models import Paper
from bot.ranking.features import normalised, paper_vector
from bot.ranking.model import Profile

MAX_SHARE = 0.25
SENTINEL = 2**32 - 1  # above every term id (TERM_MASK): closes the sorted terms
MIN_COMMON = 5
SCORED_TOGETHER = 32  # profiles scored in one set of array operations: a whole batch of 25 at once


@dataclass(frozen=True)
class DayIndex:
    """For each term of the day (sorted), the papers containing it and their tf-idf weights."""

    rows: Mapping[str, int]  # arXiv id -> row
    terms: npt.NDArray[np.uint32]  # sorted term ids, then a sentinel (the largest id) that has no postings
    starts: npt.NDArray[np.int64]  # postings of terms[i] are postings[starts[i]:starts[i] + lengths[i]]
    lengths: npt.NDArray[np.int64]
    postings: npt.NDArray[np.int32]  # paper rows
    weights: npt.NDArray[np.float32]  # that paper's weight of that term
    row_starts: npt.NDArray[np.int64]  # the same entries by paper: row i's are row_terms[row_starts[i]:...[i + 1]]
    row_terms: npt.NDArray[np.uint32]  # each paper's term ids, ascending
    row_weights: npt.NDArray[np.float32]

    @property
    def size(self) -> int:
        """How many papers the index holds."""
        return len(self.rows)

    def score_many(self, profiles: Sequence[Profile]) -> npt.NDArray[np.float64]:
        """Every paper's score against each profile (one row a profile), SCORED_TOGETHER profiles at a time.

        A worker scores its batch of chats together: numpy's cost per call is most of one chat's scoring, while
        too many chats at once make arrays that no longer fit the CPU's cache (100 at once cost more than one;
        a worker's usual batch of 25 in one go measured best once freed memory is reused, bot/allocator.py).
        """
        if len(profiles) <= SCORED_TOGETHER:
            return self._score_together(profiles)
        parts = range(0, len(profiles), SCORED_TOGETHER)
        return np.concatenate([self._score_together(profiles[i : i + SCORED_TOGETHER]) for i in parts])

    def _score_together(self, profiles: Sequence[Profile]) -> npt.NDArray[np.float64]:
        """Every paper's score against each profile: one vectorised gather for them all."""
        size = self.size
        if not profiles or not size or not len(self.postings):
            return np.zeros((len(profiles), size))
        ids = np.concatenate([p.ids for p in profiles])
        at = self.terms.searchsorted(ids)  # the last term is a sentinel no profile holds
        found = self.terms[at] == ids
        owner = np.arange(len(profiles)).repeat([len(p.ids) for p in profiles])[found]
        at, values = at[found], np.concatenate([p.values for p in profiles])[found]
        begin, lengths = self.starts[at], self.lengths[at]
        if not lengths.sum():
            return np.zeros((len(profiles), size))
        # Numpy's methods rather than its functions, and in-place arithmetic: the arrays are small, and the wrappers
        # and fresh temporaries cost as much as the arithmetic.
        offsets = _end_to_end(begin, lengths)
        contributions = values.repeat(lengths)
        contributions *= self.weights[offsets]
        cells = (owner * size).repeat(lengths)  # (profile, paper) as one flat index
        cells += self.postings[offsets]
        scores = np.bincount(cells, weights=contributions, minlength=len(profiles) * size).astype(
            np.float64, copy=False
        )
        return scores.reshape(len(profiles), size)

    def raising_terms_many(self, profiles: Sequence[Profile], rows: Sequence[int]) -> list[list[int]]:
        """For each profile and its paper (one row each), that paper's terms that raised its score, largest gain first.

        One set of array operations for a whole batch of chats: each chat's first paper, explained at once.
        """
        if not profiles:
            return []
        at_rows = np.asarray(rows, dtype=np.int64)
        begin = self.row_starts[at_rows]
        lengths = self.row_starts[at_rows + 1] - begin
        entries = _end_to_end(begin, lengths)
        owners = np.arange(len(profiles), dtype=np.uint64)
        # (chat, term) as one sortable number: each profile's ids are sorted, so the batch's keys are too.
        wanted = (owners.repeat(lengths) << 32) | self.row_terms[entries]
        held = (owners.repeat([len(p.ids) for p in profiles]) << 32) | np.concatenate([p.ids for p in profiles])
        if not len(held) or not len(wanted):
            return [[] for _ in profiles]
        at = np.minimum(held.searchsorted(wanted), len(held) - 1)
        shared = held[at] == wanted
        gains = self.row_weights[entries[shared]] * np.concatenate([p.values for p in profiles])[at[shared]]
        raising = gains > 0
        keys, gains = wanted[shared][raising], gains[raising]
        chats = (keys >> 32).astype(np.intp)
        order = np.lexsort((-gains, chats))  # chat by chat, the largest gain first (ties: the smaller term id)
        terms = (keys[order] & 0xFFFFFFFF).tolist()
        ends = np.bincount(chats, minlength=len(profiles)).cumsum().tolist()
        return [terms[start:end] for start, end in zip([0, *ends], ends, strict=False)]


def _end_to_end(begin: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The positions of several slices (each `lengths[i]` long from `begin[i]`), laid end to end."""
    ends = lengths.cumsum()
    positions: npt.NDArray[np.int64] = (begin - ends + lengths).repeat(lengths)
    positions += _counting(int(ends[-1]) if len(ends) else 0)
    return positions


def _counting(count: int) -> npt.NDArray[np.int64]:
    """0, 1, ..., count - 1, read from one array kept for every call (grown when a call needs more)."""
    global _COUNTING
    counting = _COUNTING  # read once: another thread ranking at the same time may replace it
    if len(counting) < count:
        counting = _COUNTING = np.arange(max(count, 2 * len(counting)))
    return counting[:count]


_COUNTING = np.arange(1 << 16)


def _idf(papers: int, containing: int) -> float:
    """Smoothed inverse document frequency."""
    return math.log((papers + 1) / (containing + 1)) + 1.0


def build_index(papers: Sequence[Paper], max_share: float = MAX_SHARE) -> DayIndex:
    """Index a day's papers: each paper's terms weighted by tf-idf over that day, scaled to unit length.

    Terms in more than `max_share` of the papers (and more than MIN_COMMON of them) say little about any one
    paper and would make every chat's scoring walk most of the day: they are left out, like scikit-learn's max_df.
    """
    vectors = [paper_vector(p) for p in papers]
    frequency: dict[int, int] = {}
    for vector in vectors:
        for term in vector:
            frequency[term] = frequency.get(term, 0) + 1
    common = max(MIN_COMMON, max_share * len(papers))
    idf = {t: _idf(len(papers), n) for t, n in frequency.items() if n <= common}
    entries: list[tuple[int, int, float]] = []
    for row, vector in enumerate(vectors):
        weighted = normalised({t: x * idf[t] for t, x in vector.items() if t in idf})
        entries.extend((t, row, w) for t, w in weighted.items())
    entries.sort()
    term_col = np.fromiter((e[0] for e in entries), dtype=np.uint32, count=len(entries))
    terms, first = np.unique(term_col, return_index=True)
    starts = np.append(first, len(entries)).astype(np.int64)
    postings = np.fromiter((e[1] for e in entries), dtype=np.int32, count=len(entries))
    weights = np.fromiter((e[2] for e in entries), dtype=np.float32, count=len(entries))
    by_row = np.lexsort((term_col, postings))  # the same entries paper by paper, each paper's terms ascending
    return DayIndex(
        rows={p.arxiv_id: row for row, p in enumerate(papers)},
        terms=np.append(terms, np.uint32(SENTINEL)).astype(np.uint32),
        starts=starts,
        lengths=np.append(np.diff(starts), 0),  # the sentinel starts at the end and holds nothing
        postings=postings,
        weights=weights,
        row_starts=np.searchsorted(postings[by_row], np.arange(len(papers) + 1)).astype(np.int64),
        row_terms=term_col[by_row],
        row_weights=weights[by_row],
    )
