"""The topic filter language: the Filter value, and parsing and validating a user's filter text.

A filter is a list of terms separated by spaces or commas (see `parse_filter` for the full grammar):

    cs.LG stat.ML                     categories (case-insensitive; a bare archive such as `math` = all of it)
    cs.CV "diffusion model" -survey   a category, a phrase, and an exclusion
    author:Hinton  author:"Geoffrey Hinton"

A paper matches a filter when it is in one of the filter's categories (if any are given), contains one of
its keywords or has one of its authors (if any are given), and contains none of its exclusions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.categories import (
    ARCHIVES,
    TAXONOMY_URL,
    archive_of,
    canonical_category,
    close_categories,
    mistyped_category,
)
from bot.errors import InvalidFilter
from bot.filters.reference import author_found, in_category, keyword_found
from bot.filters.words import words
from bot.models import Paper

MAX_LENGTH = 500
MAX_TERMS = 30

_SMART_QUOTES = str.maketrans(dict.fromkeys("“”„‟″〝〞＂", '"'))
_AUTHOR_PREFIX = "author:"
_CATEGORY_SHAPE = re.compile(r"[a-z]+(?:-[a-z]+)?(?:\.[a-z]+(?:-[a-z]+)?)?", re.ASCII | re.IGNORECASE)
_EXAMPLE = 'e.g. `cs.LG`, `cs.CV "diffusion model" -survey` or `author:Hinton`'


@dataclass(frozen=True)
class Filter:
    """One topic filter: categories, include keywords, authors and excluded keywords (built by parse_filter)."""

    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.canonical()

    def canonical(self) -> str:
        """The normalised text of this filter; `parse_filter(f.canonical()) == f`."""
        terms = [
            *self.categories,
            *(_quoted_if_needed(k) for k in self.keywords),
            *(_AUTHOR_PREFIX + (f'"{a}"' if _has_separator(a) else a) for a in self.authors),
            *("-" + _quoted_if_needed(x) for x in self.excludes),
        ]
        return " ".join(terms)

    def matches(self, paper: Paper) -> bool:
        """Whether the paper matches this filter (the simple reference implementation)."""
        in_categories = not self.categories or any(
            in_category(code, wanted) for code in paper.categories for wanted in self.categories
        )
        included = (
            not (self.keywords or self.authors)
            or any(keyword_found(k, paper) for k in self.keywords)
            or any(author_found(a, paper) for a in self.authors)
        )
        excluded = any(keyword_found(x, paper) for x in self.excludes)
        return in_categories and included and not excluded


# ---------------------------------------------------------------------------------------------------------
# Parsing.


@dataclass(frozen=True)
class _RawTerm:
    """One term as written: its text, whether negated, author-prefixed or quoted, and its value."""

    source: str
    value: str
    negated: bool = False
    author: bool = False
    quoted: bool = False
    category: bool = False  # given where only categories are allowed (the CLI's --categories)


def parse_filter(text: str, *, check_typos: bool = True) -> Filter:
    """Parse a user's filter text into a normalised Filter; raise InvalidFilter with a helpful message.

    Grammar: terms separated by whitespace or commas; each term is `[-][author:](word | "phrase")`.
    An unquoted word shaped like a category of a known archive is a category (`cs.lg`, `hep-th`,
    `math` = all of math); an unquoted word shaped like a category that is none (`stats.ML`, `cs-LG`, `ml`)
    is refused with the closest categories unless `check_typos` is off (filters stored before this check);
    anything else is a keyword. Curly quotes count as straight quotes; the text is NFKC-normalised first,
    so fullwidth `ｃｓ．ＬＧ` is cs.LG.
    """
    cleaned = _clean_input(text)
    if len(cleaned) > MAX_LENGTH:
        raise InvalidFilter(_too_long(len(cleaned)))
    raw_terms = _scan(cleaned)
    if not raw_terms:
        raise InvalidFilter(f"the filter is empty; give at least one category, keyword or author, {_EXAMPLE}")
    result = _build(raw_terms, check_typos=check_typos)
    if len(result.canonical()) > MAX_LENGTH:
        raise InvalidFilter(_too_long(len(result.canonical())))
    return result


def filter_from_options(categories: Sequence[str], keywords: Sequence[str]) -> Filter:
    """Build a validated Filter from command-line lists; each item may hold several values split by commas.

    Keywords are taken literally (a leading `-` or `author:` has no special meaning there).
    """
    codes = [c for item in categories for c in re.split(r"[\s,]+", item) if c]
    phrases = [" ".join(k.replace('"', " ").split()) for item in keywords for k in item.split(",")]
    terms = [_RawTerm(code, code, category=True) for code in codes]
    terms += [_RawTerm(f'"{p}"', p, quoted=True) for p in phrases if p]
    if len(terms) > MAX_TERMS:
        raise InvalidFilter(_too_many_terms(len(terms)))
    if not terms:
        raise InvalidFilter("give at least one category (--categories) or keyword (--keywords)")
    result = _build(terms)
    if len(result.canonical()) > MAX_LENGTH:
        raise InvalidFilter(_too_long(len(result.canonical())))
    return result


def _clean_input(text: str) -> str:
    """The text NFKC-normalised, curly quotes straightened and invisible control characters dropped, stripped."""
    straightened = unicodedata.normalize("NFKC", text).translate(_SMART_QUOTES)
    visible = (ch for ch in straightened if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    return "".join(visible).strip()


def _is_separator(ch: str) -> bool:
    """Whether a character separates terms (whitespace or a comma)."""
    return ch.isspace() or ch == ","


def _has_separator(value: str) -> bool:
    """Whether a value contains a term separator and so must be quoted to stay one term."""
    return any(_is_separator(ch) for ch in value)


def _scan(text: str) -> list[_RawTerm]:
    """Split filter text into raw terms, honouring quotes; raise InvalidFilter on unbalanced quotes."""
    terms: list[_RawTerm] = []
    i = 0
    while i < len(text):
        if _is_separator(text[i]):
            i += 1
            continue
        term, i = _scan_term(text, i)
        terms.append(term)
        if len(terms) > MAX_TERMS:
            raise InvalidFilter(_too_many_terms(len(_scan_count(text))))
    return terms


def _scan_term(text: str, start: int) -> tuple[_RawTerm, int]:
    """Read one term beginning at `start`; return it and the index just after it."""
    i = start
    negated = text[i] == "-"
    i += negated
    author = text[i : i + len(_AUTHOR_PREFIX)].lower() == _AUTHOR_PREFIX
    i += len(_AUTHOR_PREFIX) if author else 0
    if i < len(text) and text[i] == '"':
        close = text.find('"', i + 1)
        if close < 0:
            snippet = text[start : start + 40]
            raise InvalidFilter(f'unbalanced quote: {snippet}… has no closing "; close the phrase or remove the quote')
        return _RawTerm(text[start : close + 1], text[i + 1 : close], negated, author, quoted=True), close + 1
    end = i
    while end < len(text) and not _is_separator(text[end]) and text[end] != '"':
        end += 1
    return _RawTerm(text[start:end], text[i:end], negated, author), end


def _scan_count(text: str) -> list[str]:
    """A rough list of the text's terms, only for counting them in an error message."""
    return [t for t in re.split(r"[\s,]+", text) if t]


def _build(raw_terms: Iterable[_RawTerm], *, check_typos: bool = True) -> Filter:
    """Turn raw terms into a normalised Filter: values checked, duplicates dropped, each field sorted."""
    categories: list[str] = []
    keywords: list[str] = []
    authors: list[str] = []
    excludes: list[str] = []
    for term in raw_terms:
        value = " ".join(term.value.split())
        if term.author:
            _check_author(term, value)
            authors.append(value)
        elif term.category or (not term.quoted and _looks_like_category(value)):
            if term.negated:
                raise InvalidFilter(
                    f"cannot exclude a category ({term.source}); exclusions are keywords only"
                    f' — to exclude the words, quote them: -"{value}"'
                )
            categories.append(_known_category(value))
        elif check_typos and not term.quoted and (close := mistyped_category(value)) is not None:
            raise InvalidFilter(_not_a_category(term.source, value, close))
        else:
            _check_keyword(term, value)
            (excludes if term.negated else keywords).append(value)
    if not (categories or keywords or authors):
        raise InvalidFilter(
            f"a filter needs at least one category, keyword or author besides exclusions, e.g. `cs.CV -survey`"
            f" (got `{' '.join('-' + _quoted_if_needed(x) for x in excludes)}`)"
        )
    return Filter(
        categories=tuple(sorted(set(categories), key=str.lower)),
        keywords=_unique_sorted(keywords, words),
        authors=_unique_sorted(authors, lambda a: tuple(sorted(set(words(a))))),
        excludes=_unique_sorted(excludes, words),
    )


def _unique_sorted(values: Iterable[str], key: Callable[[str], tuple[str, ...]]) -> tuple[str, ...]:
    """Values sorted by their meaning key then text, keeping the first of each meaning."""
    keyed = sorted((key(v), v) for v in values)
    chosen: dict[tuple[str, ...], str] = {}
    for meaning, value in keyed:
        chosen.setdefault(meaning, value)
    return tuple(chosen.values())


def _check_author(term: _RawTerm, value: str) -> None:
    """Reject negated or empty author terms."""
    if term.negated:
        raise InvalidFilter(f"cannot exclude an author ({term.source}); exclusions are keywords only")
    if not words(value):
        raise InvalidFilter(f'`{term.source}` names no author; write e.g. author:Hinton or author:"Geoffrey Hinton"')


def _check_keyword(term: _RawTerm, value: str) -> None:
    """Reject keywords without a letter or digit (a lone `-`, `""`, `***`)."""
    if not words(value):
        raise InvalidFilter(f"`{term.source}` is not a keyword: keywords need at least one letter or digit")


def _looks_like_category(value: str) -> bool:
    """Whether an unquoted word is shaped like a category code of a known archive (`cs.XX`, `hep-th`, `math`)."""
    return _CATEGORY_SHAPE.fullmatch(value) is not None and archive_of(value) in ARCHIVES


def _known_category(value: str) -> str:
    """The canonical code of a category-shaped word; raise InvalidFilter naming close matches if unknown."""
    canonical = canonical_category(value)
    if canonical is None:
        suggestions = mistyped_category(value) or close_categories(value)
        guess = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        raise InvalidFilter(f"unknown arXiv category '{value}'{guess} See {TAXONOMY_URL}")
    return canonical


def _not_a_category(source: str, value: str, close: Sequence[str]) -> str:
    """The refusal of a keyword that looks like a mistyped category, with the fix either way."""
    guess = f"; did you mean {', '.join(close)}?" if close else f" (see {TAXONOMY_URL})."
    quoted = ("-" if source.startswith("-") else "") + f'"{value}"'
    return f"'{value}' is not an arXiv category{guess} To search for the word itself, quote it: {quoted}"


@lru_cache(maxsize=65536)  # the same keywords recur in thousands of stored filters (bot/filters/stored.py)
def _quoted_if_needed(value: str) -> str:
    """A keyword as it must be written to parse back as the same keyword (quoted when ambiguous)."""
    ambiguous = (
        _has_separator(value)
        or value.startswith("-")
        or value[: len(_AUTHOR_PREFIX)].lower() == _AUTHOR_PREFIX
        or _looks_like_category(value)
        or mistyped_category(value) is not None
    )
    return f'"{value}"' if ambiguous else value


def _too_long(length: int) -> str:
    """The message for an over-long filter."""
    return f"a filter may be at most {MAX_LENGTH} characters (this one has {length}); split it into several filters"


def _too_many_terms(count: int) -> str:
    """The message for a filter with too many terms."""
    return f"a filter may have at most {MAX_TERMS} terms (this one has {count}); split it into several filters"
