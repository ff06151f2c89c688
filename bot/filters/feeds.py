"""The arXiv feeds a set of filters needs."""

from __future__ import annotations

from collections.abc import Sequence

from bot.categories import ALL_ARCHIVES
from bot.filters.language import Filter


def feeds_for(filters: Sequence[Filter]) -> tuple[str, ...]:
    """The feeds to read for these filters: their categories, or all of arXiv when one names none."""
    if any(not f.categories for f in filters):
        return ALL_ARCHIVES
    return tuple(dict.fromkeys(c for f in filters for c in f.categories))
