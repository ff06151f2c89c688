"""Matching a few filters by looking their words up in a day's papers, instead of reading every paper's words.

The compiled matcher reads each paper's words once and meets the filters they name: the right order for all
subscribers at once (the daily run), where reading the day costs less than the filters do. A delivery worker
matches a batch of a few dozen chats at a time: reading 2,000 papers' words for 25 chats cost about 1 ms a
chat, looking each of their filters' words up in where the day's words occur (this module) 120-200 µs a chat
(bench/synthetic's chats and papers). Both must agree with the reference matcher; tests/test_filters.py checks
both with hypothesis.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the compiled matcher imports this module
    from bot.filters.compiled import _Compiled, _PaperText
    from bot.filters.language import Filter

LOOKUP_SHARE = 2  # looked up when there are at most half as many distinct filters as papers (equal cost: about as many)


@dataclass(frozen=True)
class DayWords:
    """Where each keyword form, author-name word and category key occurs in a day's papers (sets of rows)."""

    forms: dict[str, frozenset[int]]
    author_words: dict[str, frozenset[int]]
    categories: dict[str, frozenset[int]]
    _scopes: dict[frozenset[str], frozenset[int]] = field(default_factory=dict)  # memo of `in_any`

    @classmethod
    def of(cls, texts: Sequence[_PaperText]) -> DayWords:
        """Index the words of a day's papers."""
        forms: dict[str, list[int]] = defaultdict(list)
        author_words: dict[str, list[int]] = defaultdict(list)
        categories: dict[str, list[int]] = defaultdict(list)
        for row, text in enumerate(texts):
            for form in text.keys:
                forms[form].append(row)
            for word in set().union(*text.authors):
                author_words[word].append(row)
            for key in text.category_keys:
                categories[key].append(row)
        return cls(_frozen(forms), _frozen(author_words), _frozen(categories))

    def in_any(self, categories: frozenset[str]) -> frozenset[int]:
        """The rows of the papers in any of the categories (or archives); many filters share their categories."""
        rows = self._scopes.get(categories)
        if rows is None:
            rows = self._scopes[categories] = frozenset().union(*(self.categories.get(key, ()) for key in categories))
        return rows


def filter_hits(f: Filter, c: _Compiled, texts: Sequence[_PaperText], day: DayWords) -> list[int]:
    """The ascending rows of the papers one filter matches, found through the day's word index."""
    found: set[int]
    if f.keywords or f.authors:
        scope = day.in_any(c.categories) if c.categories else None
        found = set()
        for phrase in c.phrases:
            found.update(_with_phrase(phrase, texts, day, scope))
        for name in c.authors:
            rows = _within(day.author_words.get(author_key(name), frozenset()), scope)
            found.update(row for row in rows if any(name <= author for author in texts[row].authors))
    elif c.categories:
        found = set(day.in_any(c.categories))
    else:
        found = set(range(len(texts)))
    for phrase in c.excludes:
        if found:
            found.difference_update(_with_phrase(phrase, texts, day, found))
    return sorted(found)


def author_key(name: frozenset[str]) -> str:
    """The word an author name is found by: its longest (the rarest, most likely), the first in order of ties."""
    return max(sorted(name), key=len)


def _with_phrase(
    phrase: tuple[str, ...], texts: Sequence[_PaperText], day: DayWords, within: AbstractSet[int] | None
) -> AbstractSet[int]:
    """The rows (among `within`, if given) of the papers containing the phrase's words consecutively."""
    rows = _within(day.forms.get(phrase[0], frozenset()), within)
    if len(phrase) == 1:
        return rows
    for word in phrase[1:]:  # papers holding every word somewhere, before looking for them side by side
        rows = rows & day.forms.get(word, frozenset())
    return {row for row in rows if texts[row].has_phrase(phrase)}


def _within(rows: frozenset[int], scope: AbstractSet[int] | None) -> AbstractSet[int]:
    """The rows that are also in scope (all of them when there is no scope)."""
    return rows if scope is None else rows & scope


def _frozen(rows_by_key: dict[str, list[int]]) -> dict[str, frozenset[int]]:
    """Each key's rows as a set, to intersect with others."""
    return {key: frozenset(rows) for key, rows in rows_by_key.items()}
