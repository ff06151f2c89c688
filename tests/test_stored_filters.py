"""Stored filters read back fast (bot/filters/stored.py) mean exactly what the full parser makes of them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import InvalidFilter
from bot.filters import parse_filter, read_stored_filter
from tests.test_filters import _filter_texts


@settings(max_examples=400, deadline=None)
@given(text=_filter_texts | st.text(max_size=60))
def test_a_stored_filter_reads_back_as_the_parser_reads_it(text: str) -> None:
    """Any text, canonical or not, reads back as `parse_filter` without typo checks reads it, or is refused alike."""
    try:
        expected = parse_filter(text, check_typos=False)
    except InvalidFilter:
        with pytest.raises(InvalidFilter):
            read_stored_filter(text)
        return
    assert read_stored_filter(text) == expected
    assert read_stored_filter(expected.canonical()) == expected


@pytest.mark.parametrize(
    "text",
    ['cs.LG "diffusion model" -survey', 'author:"Geoffrey Hinton" cs.LG', '"cs.LG" "author:x" -"-y"', "ml stats.ML"],
)
def test_quoted_lookalikes_stay_keywords(text: str) -> None:
    """A quoted word that looks like a category, an author or an exclusion is read back as the keyword it was."""
    stored = parse_filter(text, check_typos=False).canonical()
    assert read_stored_filter(stored) == parse_filter(stored, check_typos=False)
