"""The reference matcher: the simple, obviously correct test of one filter term against one paper."""

from __future__ import annotations

import re
from functools import lru_cache

from bot.categories import archive_of
from bot.filters.words import fold, words
from bot.models import Paper


def in_category(code: str, wanted: str) -> bool:
    """Whether a paper's category code lies in a wanted category or archive (`cs.LG` lies in `cs`)."""
    return wanted.lower() in (code.lower(), archive_of(code))


@lru_cache(maxsize=4096)
def _keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    """A regex for a keyword's words in sequence, each also as plural (+s, +es), on word boundaries."""
    parts = [re.escape(word) + "(?:e?s)?" for word in words(keyword)]
    return re.compile(r"(?<![^\W_])" + r"[\W_]+".join(parts) + r"(?![^\W_])") if parts else None


def keyword_found(keyword: str, paper: Paper) -> bool:
    """Whether a keyword occurs in the paper's title or abstract."""
    pattern = _keyword_pattern(keyword)
    return pattern is not None and any(pattern.search(fold(text)) for text in (paper.title, paper.abstract))


@lru_cache(maxsize=4096)
def _author_patterns(name: str) -> tuple[re.Pattern[str], ...]:
    """One whole-word regex per word of an author term."""
    return tuple(re.compile(r"(?<![^\W_])" + re.escape(word) + r"(?![^\W_])") for word in words(name))


def author_found(name: str, paper: Paper) -> bool:
    """Whether one author of the paper has every word of `name` among the words of their name."""
    patterns = _author_patterns(name)
    return bool(patterns) and any(all(p.search(fold(author)) for p in patterns) for author in paper.authors)
