"""The compiled matcher: many subscribers' filters indexed once, then matched against a day's papers fast.

It must agree with the reference matcher (`Filter.matches`) on every filter and paper; tests/test_filters.py
checks that with hypothesis.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from bot.categories import archive_of
from bot.filters.language import Filter
from bot.filters.lookup import LOOKUP_SHARE, DayWords, author_key, filter_hits
from bot.filters.words import WORD, words
from bot.models import Paper

Positions = npt.NDArray[np.intp]  # ascending positions of papers in a listing
_Rows = TypeVar("_Rows", bound=Collection[int])


def _forms(word: str) -> tuple[str, ...]:
    """The keyword words a text word matches: itself and, for a plural, its singular (`models` -> `model`)."""
    forms = [word]
    if word.endswith("s") and len(word) > 1:
        forms.append(word[:-1])
        if word.endswith("es") and len(word) > 2:
            forms.append(word[:-2])
    return tuple(forms)


@lru_cache(maxsize=65536)
def _form_set(word: str) -> frozenset[str]:
    """`_forms` as a set, one shared object per word (a day's papers repeat their words many times)."""
    return frozenset(_forms(word))


def _text_words(text: str) -> tuple[str, ...]:
    """`words(text)`, with a fast path for ASCII text (whose fold is its lower case)."""
    return tuple(WORD.findall(text.lower())) if text.isascii() else words(text)


@lru_cache(maxsize=65536)
def _term_words(term: str) -> tuple[str, ...]:
    """The words of a filter term, memoised: the same keywords recur across thousands of filters."""
    return _text_words(term)


class _PaperText:
    """One paper's words, computed once: where each keyword form occurs, and each author's name words."""

    def __init__(self, paper: Paper) -> None:
        title, abstract = _text_words(paper.title), _text_words(paper.abstract)
        # One sequence of per-position forms; the empty set between title and abstract stops phrases spanning them.
        seq = [*map(_form_set, title), frozenset(), *map(_form_set, abstract)]
        self.sequence = seq
        self.positions: dict[str, list[int]] = defaultdict(list)
        for i, forms in enumerate(self.sequence):
            for form in forms:
                self.positions[form].append(i)
        self.keys = self.positions.keys()
        self.bigrams = {(a, b) for i in range(len(seq) - 1) for a in seq[i] for b in seq[i + 1]}
        self.authors = [frozenset(words(name)) for name in paper.authors]
        self.category_keys = frozenset(key for code in paper.categories for key in (code.lower(), archive_of(code)))
        self._phrases: dict[tuple[str, ...], bool] = {}

    def has_phrase(self, phrase: tuple[str, ...]) -> bool:
        """Whether the words of `phrase` occur consecutively (each possibly plural) in the title or abstract."""
        if phrase not in self._phrases:
            rest, seq = phrase[1:], self.sequence
            self._phrases[phrase] = any(
                i + len(rest) < len(seq) and all(word in seq[i + 1 + j] for j, word in enumerate(rest))
                for i in self.positions.get(phrase[0], ())
            )
        return self._phrases[phrase]


class PreparedPapers:
    """A day's papers with each one's words worked out once (on first use), to match many batches of chats."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.papers = tuple(papers)
        self._texts: list[_PaperText] | None = None
        self._day_words: DayWords | None = None
        self._distinct_ids: bool | None = None

    def texts(self) -> list[_PaperText]:
        """Each paper's words, in the papers' order."""
        if self._texts is None:
            self._texts = [_PaperText(paper) for paper in self.papers]
        return self._texts

    def distinct_ids(self) -> bool:
        """True when no arXiv id is listed twice."""
        if self._distinct_ids is None:
            self._distinct_ids = len({p.arxiv_id for p in self.papers}) == len(self.papers)
        return self._distinct_ids

    def day_words(self) -> DayWords:
        """Where each word occurs in these papers, for matching a few filters by looking their words up."""
        if self._day_words is None:
            self._day_words = DayWords.of(self.texts())
        return self._day_words


@dataclass(frozen=True)
class _Compiled:
    """A filter prepared for the compiled matcher: folded categories and word tuples."""

    categories: frozenset[str]
    phrases: tuple[tuple[str, ...], ...]
    authors: tuple[frozenset[str], ...]
    excludes: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, f: Filter) -> _Compiled:
        """Prepare one filter; terms without any word are dropped (they can never match)."""
        return cls(
            categories=frozenset(c.lower() for c in f.categories),
            phrases=tuple(w for w in map(_term_words, f.keywords) if w),
            authors=tuple(frozenset(w) for w in map(_term_words, f.authors) if w),
            excludes=tuple(w for w in map(_term_words, f.excludes) if w),
        )


class CompiledMatcher:
    """Many subscribers' filters, de-duplicated and indexed by category and by each include term's first words.

    Matching a day's papers costs roughly (papers × their words) + (matching filter-paper pairs), however
    many subscribers there are: identical filters are evaluated once, a filter made of categories only
    takes the shared list of papers in those categories without looking at each paper, and a filter's
    include terms are indexed under each of its categories (its scopes), so a paper only meets the
    filters of its own categories and those naming none (`cs.CV diffusion` is never even considered for a
    cs.LG paper about diffusion). Exclusions are indexed too: a paper containing `survey` removes every
    filter excluding it from its candidates in one set operation.
    """

    def __init__(self, filters_by_subscriber: Mapping[str, Sequence[Filter]], *, look_up: bool | None = None) -> None:
        """Index the filters; `look_up` forces (True) or forbids (False) matching by word lookup (None: by count)."""
        self._look_up = look_up
        ids: dict[Filter, int] = {}
        with _gc_paused():
            self._subscribers = {
                subscriber: tuple(sorted({ids.setdefault(f, len(ids)) for f in filters}))
                for subscriber, filters in filters_by_subscriber.items()
            }
            self._filters = list(ids)
            self._compiled = [_Compiled.of(f) for f in ids]
            # Include-term indexes by scope: a category key, or "" for the filters that name no category.
            self._by_word: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
            self._by_bigram: dict[str, dict[tuple[str, str], dict[tuple[str, ...], list[int]]]] = defaultdict(
                lambda: defaultdict(lambda: defaultdict(list))
            )
            self._by_author_word: dict[str, dict[str, dict[frozenset[str], list[int]]]] = defaultdict(
                lambda: defaultdict(lambda: defaultdict(list))
            )
            self._by_category: dict[str, list[int]] = defaultdict(list)
            self._unconditional: list[int] = []
            self._pure_category: dict[int, frozenset[str]] = {}
            excluding: dict[str, dict[tuple[str, ...], set[int]]] = defaultdict(lambda: defaultdict(set))
            for fid, f in enumerate(ids):
                self._index(fid, f, self._compiled[fid], excluding)
            # Exclusion phrase (by its first word) -> the filters that exclude it.
            self._by_exclude_word = {
                word: {phrase: frozenset(fids) for phrase, fids in phrases.items()}
                for word, phrases in excluding.items()
            }
            # A paper in one of these categories is matched by some category-only filter, whatever its words say.
            self._pure_category_keys = frozenset(key for keys in self._pure_category.values() for key in keys)

    @classmethod
    def of_filters(cls, filters: Iterable[Filter]) -> CompiledMatcher:
        """A matcher of filters that belong to nobody in particular, for `matched_indices`."""
        return cls({"": tuple(filters)})

    def _index(self, fid: int, f: Filter, c: _Compiled, excluding: dict[str, dict[tuple[str, ...], set[int]]]) -> None:
        """Index one filter by its include terms if it has any, else by its categories, else as unconditional."""
        for phrase in c.excludes:
            excluding[phrase[0]][phrase].add(fid)
        if f.keywords or f.authors:
            for scope in c.categories or ("",):
                for phrase in c.phrases:
                    if len(phrase) == 1:
                        self._by_word[scope][phrase[0]].append(fid)
                    else:
                        self._by_bigram[scope][phrase[0], phrase[1]][phrase].append(fid)
                for name in c.authors:
                    self._by_author_word[scope][author_key(name)][name].append(fid)
        elif c.categories and not c.excludes:
            self._pure_category[fid] = c.categories
        elif c.categories:
            for code in c.categories:
                self._by_category[code].append(fid)
        else:
            self._unconditional.append(fid)

    def match(self, listing: Sequence[Paper] | PreparedPapers) -> dict[str, list[Paper]]:
        """Each subscriber's matching papers in input order, each arXiv id once; subscribers without any are absent."""
        prepared = listing if isinstance(listing, PreparedPapers) else PreparedPapers(listing)
        papers = prepared.papers
        with _gc_paused():
            merged: dict[int, list[Paper]] = {}
            result: dict[str, list[Paper]] = {}
            for subscriber, rows in self.match_rows(prepared).items():
                chosen = merged.get(id(rows))
                if chosen is None:
                    # The first subscriber with these filters gets the list itself, later ones a copy of it.
                    result[subscriber] = merged[id(rows)] = _papers_at(rows, papers)
                else:
                    result[subscriber] = list(chosen)
            return result

    def match_rows(self, listing: Sequence[Paper] | PreparedPapers) -> dict[str, Sequence[int]]:
        """Each subscriber's matching papers as ascending positions in the listing, each arXiv id once.

        Subscribers with the same filters share one sequence; subscribers without any match are absent.
        """
        prepared = listing if isinstance(listing, PreparedPapers) else PreparedPapers(listing)
        return self._each_subscriber(prepared, lambda hits, fids: _union([hits[fid] for fid in fids]), list)

    def match_positions(self, listing: Sequence[Paper] | PreparedPapers) -> dict[str, Positions]:
        """`match_rows` as arrays, the form a delivery worker ranks in (no Python int converted per chat).

        Each filter's matches become an array once, however many subscribers share the filter; a subscriber's
        filters are joined as a mask over the listing rather than as a set of Python ints.
        """
        prepared = listing if isinstance(listing, PreparedPapers) else PreparedPapers(listing)
        arrays: dict[int, Positions] = {}

        def union(hits: Sequence[Sequence[int]], fids: tuple[int, ...]) -> Positions:
            for fid in fids:
                if fid not in arrays:
                    arrays[fid] = np.array(hits[fid], dtype=np.intp)
            return _union_of_arrays([arrays[fid] for fid in fids if len(arrays[fid])], len(prepared.papers))

        return self._each_subscriber(prepared, union, lambda rows: np.array(rows, dtype=np.intp))

    def _each_subscriber(
        self,
        prepared: PreparedPapers,
        union: Callable[[Sequence[Sequence[int]], tuple[int, ...]], _Rows],
        from_list: Callable[[list[int]], _Rows],
    ) -> dict[str, _Rows]:
        """Each subscriber's matching positions, its filters' hits joined by `union` (once per distinct set of filters).

        A listing holding an arXiv id twice keeps its first position (`from_list` makes the rows of that list).
        """
        papers = prepared.papers
        with _gc_paused():
            hits = self._hits_by_filter(prepared)
            distinct_ids = prepared.distinct_ids()
            merged: dict[tuple[int, ...], _Rows] = {}
            result: dict[str, _Rows] = {}
            for subscriber, fids in self._subscribers.items():
                rows = merged.get(fids)
                if rows is None:
                    rows = union(hits, fids)
                    merged[fids] = rows = rows if distinct_ids else from_list(_first_of_each_id(rows, papers))
                if len(rows):
                    result[subscriber] = rows
            return result

    def matched_indices(self, listing: Sequence[Paper] | PreparedPapers) -> list[int]:
        """The ascending indices of the papers at least one filter matches (the union, without any per-chat list)."""
        # Papers not prepared already are worked out one at a time and dropped: a day's words take 200 MB at once.
        texts = listing.texts() if isinstance(listing, PreparedPapers) else map(_PaperText, listing)
        pure = self._pure_category_keys
        with _gc_paused():
            return [
                i
                for i, text in enumerate(texts)
                if not pure.isdisjoint(text.category_keys) or self._matching_filters(text)
            ]

    def _hits_by_filter(self, prepared: PreparedPapers) -> list[Sequence[int]]:
        """For each distinct filter, the ascending indices of the papers it matches.

        A few filters (a delivery worker's batch) are looked up in where the day's words occur; many (every
        subscriber) meet each paper's words once.
        """
        texts = prepared.texts()
        few = len(self._filters) * LOOKUP_SHARE <= len(texts)
        if self._look_up or (self._look_up is None and few):
            day = prepared.day_words()
            return [filter_hits(f, c, texts, day) for f, c in zip(self._filters, self._compiled, strict=True)]
        return self._hits_paper_by_paper(texts)

    def _hits_paper_by_paper(self, texts: Sequence[_PaperText]) -> list[Sequence[int]]:
        """`_hits_by_filter` by reading each paper's words once and meeting the filters they name."""
        found: list[list[int]] = [[] for _ in self._compiled]
        in_category: dict[str, list[int]] = defaultdict(list)
        for i, text in enumerate(texts):
            for key in text.category_keys:
                in_category[key].append(i)
            for fid in self._matching_filters(text):
                found[fid].append(i)
        hits: list[Sequence[int]] = list(found)
        for fid, categories in self._pure_category.items():
            hits[fid] = _union([in_category.get(code, []) for code in categories])
        return hits

    def _matching_filters(self, text: _PaperText) -> set[int]:
        """The ids of the filters (other than pure-category ones) that match one paper."""
        candidates = self._include_hits(text)
        candidates.update(self._unconditional)
        for key in text.category_keys:
            candidates.update(self._by_category.get(key, ()))
        for word in self._by_exclude_word.keys() & text.keys:
            for phrase, fids in self._by_exclude_word[word].items():
                if candidates and (len(phrase) == 1 or text.has_phrase(phrase)):
                    candidates = candidates - fids
        return candidates

    def _include_hits(self, text: _PaperText) -> set[int]:
        """The ids of in-scope filters with at least one include keyword or author present in the paper."""
        hits: set[int] = set()
        for scope in (*text.category_keys, ""):
            by_word = self._by_word.get(scope)
            if by_word:
                for key in by_word.keys() & text.keys:
                    hits.update(by_word[key])
            by_bigram = self._by_bigram.get(scope)
            if by_bigram:
                for bigram in by_bigram.keys() & text.bigrams:
                    for phrase, fids in by_bigram[bigram].items():
                        if len(phrase) == 2 or text.has_phrase(phrase):
                            hits.update(fids)
            by_author_word = self._by_author_word.get(scope)
            if by_author_word:
                for author in text.authors:
                    for key in by_author_word.keys() & author:
                        for name, fids in by_author_word[key].items():
                            # A one-word name is its own index key, which this author has: nothing left to check.
                            if len(name) == 1 or name <= author:
                                hits.update(fids)
        return hits


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic containers (it would scan them in vain)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _union(index_lists: Sequence[Sequence[int]]) -> Sequence[int]:
    """The ascending union of ascending index lists (the list itself when only one is non-empty)."""
    non_empty = [indices for indices in index_lists if indices]
    if len(non_empty) == 1:
        return non_empty[0]
    return sorted(set().union(*non_empty))


def _union_of_arrays(parts: Sequence[Positions], size: int) -> Positions:
    """The ascending union of ascending position arrays within a listing of `size` papers."""
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return np.empty(0, dtype=np.intp)
    joined = np.zeros(size, dtype=bool)
    for part in parts:
        joined[part] = True
    return np.flatnonzero(joined)


def _papers_at(indices: Sequence[int], papers: Sequence[Paper]) -> list[Paper]:
    """The papers at the given indices."""
    # itemgetter picks many items in one C call; with a single index it would return the item, not a tuple.
    return list(itemgetter(*indices)(papers)) if len(indices) > 1 else [papers[i] for i in indices]


def _first_of_each_id(indices: Iterable[int], papers: Sequence[Paper]) -> list[int]:
    """The indices, keeping only the first paper of each arXiv id."""
    first: dict[str, int] = {}
    for i in indices:
        first.setdefault(papers[i].arxiv_id, i)
    return list(first.values())


def matching_papers(filters: Sequence[Filter], papers: Sequence[Paper]) -> list[Paper]:
    """One subscriber's papers: those matching any of the filters, in input order, each arXiv id once."""
    return CompiledMatcher({"": filters}).match(papers).get("", [])
