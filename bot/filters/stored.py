"""Reading a stored filter back: its canonical text, written by `Filter.canonical`, read without re-validating.

A daily job reads hundreds of thousands of distinct filter texts; `parse_filter` checks and normalises a user's
input character by character (about 40 µs a filter). A stored text is already canonical, so its terms are split
by one regex and put into the four fields as `Filter.canonical` wrote them. The result is accepted only when the
text is what `parse_filter` would have produced: clean (printable, NFKC), every value normalised and holding a
word, each field in the parser's order without repeats, and written back to the very same text. Any other text
is parsed in full, so the answer always equals `parse_filter(text, check_typos=False)`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import pairwise

from bot.categories import canonical_category
from bot.filters.language import MAX_LENGTH, MAX_TERMS, Filter, parse_filter
from bot.filters.words import words

# A canonical term: an optional `-`, an optional `author:`, then a quoted phrase or a bare word.
_TERM = re.compile(r'(-?)(author:)?(?:"([^"]*)"|([^\s,"]+))')
_CURLY_QUOTES = frozenset("“”„‟″〝〞＂")


def read_stored_filter(text: str) -> Filter:
    """The Filter a stored text stands for: equal to `parse_filter(text, check_typos=False)`, faster when canonical."""
    fast = _read_canonical(text)
    return fast if fast is not None else parse_filter(text, check_typos=False)


def _read_canonical(text: str) -> Filter | None:
    """The Filter of a canonical text, or None when the text is not canonical (then it must be parsed in full)."""
    if len(text) > MAX_LENGTH or not _clean(text):
        return None
    fields: tuple[list[str], list[str], list[str], list[str]] = ([], [], [], [])
    categories, keywords, authors, excludes = fields
    terms = _TERM.findall(text)
    if len(terms) > MAX_TERMS:
        return None
    for negated, author, quoted, bare in terms:
        value = quoted or bare
        if not _normal_value(value):
            return None
        if author:
            authors.append(value)
        elif negated:
            excludes.append(value)
        elif bare and canonical_category(bare) == bare:
            categories.append(bare)
        else:
            keywords.append(value)
    in_order = (
        _strictly_increasing(categories, _lower)
        and _strictly_increasing(keywords, _words)
        and _strictly_increasing(authors, _author_key)
        and _strictly_increasing(excludes, _words)
    )
    read = Filter(tuple(categories), tuple(keywords), tuple(authors), tuple(excludes))
    if in_order and (categories or keywords or authors) and read.canonical() == text:
        return read
    return None


@lru_cache(maxsize=4096)
def _clean(text: str) -> bool:
    """Whether the text is as the parser leaves it: printable, NFKC-normalised, no curly quotes."""
    return text.isprintable() and unicodedata.is_normalized("NFKC", text) and _CURLY_QUOTES.isdisjoint(text)


@lru_cache(maxsize=65536)
def _normal_value(value: str) -> bool:
    """Whether a term's value is normalised (single spaces, no edge spaces) and holds at least one word."""
    return value == " ".join(value.split()) and bool(words(value))


def _lower(code: str) -> tuple[str, ...]:
    """A category's order key, as the parser orders categories."""
    return (code.lower(),)


@lru_cache(maxsize=65536)
def _words(value: str) -> tuple[str, ...]:
    """A keyword's meaning, as the parser orders keywords by it."""
    return words(value)


@lru_cache(maxsize=65536)
def _author_key(value: str) -> tuple[str, ...]:
    """An author's meaning, as the parser orders authors by it."""
    return tuple(sorted(set(words(value))))


def _strictly_increasing(values: Sequence[str], key: Callable[[str], tuple[str, ...]]) -> bool:
    """Whether the values are sorted by (key, value) with no two sharing a key (as the parser leaves a field)."""
    if len(values) < 2:
        return True
    keyed = [(key(v), v) for v in values]
    return all(a < b and a[0] != b[0] for a, b in pairwise(keyed))
