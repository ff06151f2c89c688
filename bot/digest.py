"""Assemble a digest from a day's listing, the reader's filters and the translations: pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.errors import TranslationError
from bot.filters import Filter, matching_papers
from bot.models import Digest, DigestItem, Listing, Paper, Translation, TranslationStatus

TranslationResults = Mapping[str, Translation | TranslationError]


def select_papers(listing: Listing, filters: Sequence[Filter]) -> list[Paper]:
    """The listing's papers that any of the filters matches, in announcement order."""
    return matching_papers(filters, listing.papers)


def digest_item(paper: Paper, results: TranslationResults | None) -> DigestItem:
    """One item: translated when its translation succeeded, marked failed, pending (no result yet) or off otherwise."""
    if results is None:
        return DigestItem(paper, None, TranslationStatus.OFF)
    result = results.get(paper.versioned_id)
    if result is None:
        return DigestItem(paper, None, TranslationStatus.PENDING)
    if isinstance(result, Translation):
        return DigestItem(paper, result, TranslationStatus.OK)
    return DigestItem(paper, None, TranslationStatus.FAILED)


def assemble_digest(listing: Listing, papers: Sequence[Paper], results: TranslationResults | None) -> Digest:
    """The digest of `papers` from `listing`; `results` is None when translations are off."""
    items = tuple(digest_item(paper, results) for paper in papers)
    return Digest(items=items, day=listing.day, categories=listing.categories)
