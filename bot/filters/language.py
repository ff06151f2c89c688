"""The topic filter language: parse and validate a filter, match papers, compile many filters for speed.

A filter is a list of terms separated by spaces or commas (see `parse_filter` for the full grammar):

    cs.LG stat.ML                     categories (case-insensitive; a bare archive such as `math` = all of it)
    cs.CV "diffusion model" -survey   a category, a phrase, and an exclusion
    author:Hinton  author:"Geoffrey Hinton"

A paper matches a filter when it is in one of the filter's categories (if any are given), contains one of
its keywords or has one of its authors (if any are given), and contains none of its exclusions.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

from bot.categories import (
    ARCHIVES,
    TAXONOMY_URL,
    archive_of,
    canonical_category,
    close_categories,
    mistyped_category,
)
from bot.errors import InvalidFilter
from bot.models import Paper

MAX_LENGTH = 500
MAX_TERMS = 30

_SMART_QUOTES = str.maketrans(dict.fromkeys("“”„‟″〝〞＂", '"'))
_AUTHOR_PREFIX = "author:"
_CATEGORY_SHAPE = re.compile(r"[a-z]+(?:-[a-z]+)?(?:\.[a-z]+(?:-[a-z]+)?)?", re.ASCII | re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")
_EXAMPLE = 'e.g. `cs.LG`, `cs.CV "diffusion model" -survey` or `author:Hinton`'


# ---------------------------------------------------------------------------------------------------------
# Words: the one notion of "word" shared by parsing, the reference matcher and the compiled matcher.


def fold(text: str) -> str:
    """Text folded for comparison: compatibility forms, lower case, accents removed (`Schölkopf` -> `scholkopf`)."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> tuple[str, ...]:
    """The folded words of a text: maximal runs of letters and digits (`GAN-based (GANs)` -> gan, based, gans)."""
    return tuple(_WORD.findall(fold(text)))


# ---------------------------------------------------------------------------------------------------------
# The filter value and its reference matcher.


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
            _in_category(code, wanted) for code in paper.categories for wanted in self.categories
        )
        included = (
            not (self.keywords or self.authors)
            or any(_keyword_found(k, paper) for k in self.keywords)
            or any(_author_found(a, paper) for a in self.authors)
        )
        excluded = any(_keyword_found(x, paper) for x in self.excludes)
        return in_categories and included and not excluded


def _in_category(code: str, wanted: str) -> bool:
    """Whether a paper's category code lies in a wanted category or archive (`cs.LG` lies in `cs`)."""
    return wanted.lower() in (code.lower(), archive_of(code))


@lru_cache(maxsize=4096)
def _keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    """A regex for a keyword's words in sequence, each also as plural (+s, +es), on word boundaries."""
    parts = [re.escape(word) + "(?:e?s)?" for word in words(keyword)]
    return re.compile(r"(?<![^\W_])" + r"[\W_]+".join(parts) + r"(?![^\W_])") if parts else None


def _keyword_found(keyword: str, paper: Paper) -> bool:
    """Whether a keyword occurs in the paper's title or abstract."""
    pattern = _keyword_pattern(keyword)
    return pattern is not None and any(pattern.search(fold(text)) for text in (paper.title, paper.abstract))


@lru_cache(maxsize=4096)
def _author_patterns(name: str) -> tuple[re.Pattern[str], ...]:
    """One whole-word regex per word of an author term."""
    return tuple(re.compile(r"(?<![^\W_])" + re.escape(word) + r"(?![^\W_])") for word in words(name))


def _author_found(name: str, paper: Paper) -> bool:
    """Whether one author of the paper has every word of `name` among the words of their name."""
    patterns = _author_patterns(name)
    return bool(patterns) and any(all(p.search(fold(author)) for p in patterns) for author in paper.authors)


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


# ---------------------------------------------------------------------------------------------------------
# Compiled matching of many subscribers' filters.


def _forms(word: str) -> tuple[str, ...]:
    """The keyword words a text word matches: itself and, for a plural, its singular (`models` -> `model`)."""
    forms = [word]
    if word.endswith("s") and len(word) > 1:
        forms.append(word[:-1])
        if word.endswith("es") and len(word) > 2:
            forms.append(word[:-2])
    return tuple(forms)


def _text_words(text: str) -> tuple[str, ...]:
    """`words(text)`, with a fast path for ASCII text (whose fold is its lower case)."""
    return tuple(_WORD.findall(text.lower())) if text.isascii() else words(text)


@lru_cache(maxsize=65536)
def _term_words(term: str) -> tuple[str, ...]:
    """The words of a filter term, memoised: the same keywords recur across thousands of filters."""
    return _text_words(term)


class _PaperText:
    """One paper's words, computed once: where each keyword form occurs, and each author's name words."""

    def __init__(self, paper: Paper) -> None:
        title, abstract = _text_words(paper.title), _text_words(paper.abstract)
        # One sequence of per-position forms; the empty set between title and abstract stops phrases spanning them.
        seq = [frozenset(_forms(w)) for w in title] + [frozenset()] + [frozenset(_forms(w)) for w in abstract]
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

    def __init__(self, filters_by_subscriber: Mapping[str, Sequence[Filter]]) -> None:
        ids: dict[Filter, int] = {}
        with _gc_paused():
            self._subscribers = {
                subscriber: tuple(sorted({ids.setdefault(f, len(ids)) for f in filters}))
                for subscriber, filters in filters_by_subscriber.items()
            }
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

    def _index(
        self, fid: int, f: Filter, c: _Compiled, excluding: dict[str, dict[tuple[str, ...], set[int]]]
    ) -> None:
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
                    self._by_author_word[scope][max(sorted(name), key=len)][name].append(fid)
        elif c.categories and not c.excludes:
            self._pure_category[fid] = c.categories
        elif c.categories:
            for code in c.categories:
                self._by_category[code].append(fid)
        else:
            self._unconditional.append(fid)

    def match(self, papers: Sequence[Paper]) -> dict[str, list[Paper]]:
        """Each subscriber's matching papers in input order, each arXiv id once; subscribers without any are absent."""
        with _gc_paused():
            hits = self._hits_by_filter(papers)
            distinct_ids = len({p.arxiv_id for p in papers}) == len(papers)
            merged: dict[tuple[int, ...], list[Paper]] = {}
            result: dict[str, list[Paper]] = {}
            for subscriber, fids in self._subscribers.items():
                chosen = merged.get(fids)
                if chosen is None:
                    # The first subscriber with these filters gets the list itself, later ones a copy of it.
                    chosen = merged[fids] = _papers_at(_union([hits[fid] for fid in fids]), papers, distinct_ids)
                    if chosen:
                        result[subscriber] = chosen
                elif chosen:
                    result[subscriber] = list(chosen)
            return result

    def _hits_by_filter(self, papers: Sequence[Paper]) -> list[Sequence[int]]:
        """For each distinct filter, the ascending indices of the papers it matches."""
        found: list[list[int]] = [[] for _ in self._compiled]
        in_category: dict[str, list[int]] = defaultdict(list)
        for i, paper in enumerate(papers):
            text = _PaperText(paper)
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


def _papers_at(indices: Sequence[int], papers: Sequence[Paper], distinct_ids: bool) -> list[Paper]:
    """The papers at the given indices, keeping only the first paper of each arXiv id."""
    # itemgetter picks many items in one C call; with a single index it would return the item, not a tuple.
    chosen = list(itemgetter(*indices)(papers)) if len(indices) > 1 else [papers[i] for i in indices]
    if distinct_ids:
        return chosen
    first: dict[str, Paper] = {}
    for paper in chosen:
        first.setdefault(paper.arxiv_id, paper)
    return list(first.values())


def matching_papers(filters: Sequence[Filter], papers: Sequence[Paper]) -> list[Paper]:
    """One subscriber's papers: those matching any of the filters, in input order, each arXiv id once."""
    return CompiledMatcher({"": filters}).match(papers).get("", [])
