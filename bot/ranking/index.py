"""One day's papers as an inverted index of hashed terms, built once a day and shared by every chat's scoring."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bot.models import Paper
from bot.ranking.features import normalised, paper_vector
from bot.ranking.model import Profile

MAX_SHARE = 0.25
MIN_COMMON = 5


@dataclass(frozen=True)
class DayIndex:
    """For each term of the day (sorted), the papers containing it and their tf-idf weights."""

    rows: Mapping[str, int]  # arXiv id -> row
    terms: npt.NDArray[np.uint32]  # sorted term ids
    starts: npt.NDArray[np.int64]  # postings of terms[i] are postings[starts[i]:starts[i + 1]]
    postings: npt.NDArray[np.int32]  # paper rows
    weights: npt.NDArray[np.float32]  # that paper's weight of that term
    idf: Mapping[int, float]  # each indexed term's rarity that day

    @property
    def size(self) -> int:
        """How many papers the index holds."""
        return len(self.rows)

    def score(self, profile: Profile) -> Scored:
        """Every paper's score against a chat's profile: one vectorised gather, no loop over papers."""
        if not len(profile.ids) or not self.size or not len(self.terms):
            return Scored(np.zeros(self.size))
        at = np.minimum(np.searchsorted(self.terms, profile.ids), len(self.terms) - 1)
        found = self.terms[at] == profile.ids
        at, values = at[found], profile.values[found]
        begin = self.starts[at]
        lengths = self.starts[at + 1] - begin
        ends = np.cumsum(lengths)
        total = int(ends[-1]) if len(ends) else 0
        if not total:
            return Scored(np.zeros(self.size))
        offsets = np.repeat(begin - ends + lengths, lengths) + np.arange(total)
        rows = self.postings[offsets]
        contributions = self.weights[offsets] * np.repeat(values, lengths)
        scores = np.bincount(rows, weights=contributions, minlength=self.size).astype(np.float64, copy=False)
        return Scored(scores, rows, contributions, ends, self.terms[at])


@dataclass(frozen=True, eq=False)
class Scored:
    """A chat's score of every paper of the day, and what each of its terms added to each paper."""

    scores: npt.NDArray[np.float64]  # by row
    rows: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))  # each contribution's paper
    contributions: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    ends: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))  # the i-th term's end
    terms: npt.NDArray[np.uint32] = field(default_factory=lambda: np.zeros(0, np.uint32))  # the found terms' ids

    def raising_terms(self, row: int) -> list[int]:
        """The ids of the terms that raised one paper's score, the largest contribution first."""
        hits = np.flatnonzero(self.rows == row)
        gains = self.contributions[hits]
        positive = gains > 0
        hits, gains = hits[positive], gains[positive]
        ordered = hits[np.argsort(-gains, kind="stable")]
        return [int(t) for t in self.terms[np.searchsorted(self.ends, ordered, side="right")]]


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
    return DayIndex(
        rows={p.arxiv_id: row for row, p in enumerate(papers)},
        terms=terms,
        starts=np.append(first, len(entries)).astype(np.int64),
        postings=np.fromiter((e[1] for e in entries), dtype=np.int32, count=len(entries)),
        weights=np.fromiter((e[2] for e in entries), dtype=np.float32, count=len(entries)),
        idf=idf,
    )
