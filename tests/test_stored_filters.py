"""Stored filters read back fast (bot/filters/stored.py) mean exactly what the full parser makes of them."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import InvalidFilter
from bot.filters import parse_filter, read_stored_filter
from bot.store import Store
from bot.store.keys import SUBSCRIBERS_KEY, subscriber_key
from bot.subscribers import ChatRef, Lang, Subscriber
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


async def test_the_audience_read_page_by_page_has_every_filter_and_names_the_broken(store: Store) -> None:
    """Read a few chats a page (each page parsed while the next is read), every distinct filter is found once."""
    texts = [f"cs.LG topic{n % 7}" for n in range(40)]
    for n, text in enumerate(texts):
        await store.save_subscriber(
            Subscriber(ChatRef("telegram", str(n)), (parse_filter(text),), time(9), "UTC", Lang.BOTH)
        )
    await store.save_subscriber(Subscriber(ChatRef("console", "local"), (parse_filter("math.AG"),), time(9), "UTC"))
    broken = ChatRef("discord", "99")
    await store.redis_for_tests.hset(subscriber_key(broken), mapping={"filters": "[not json", "time": "09:00"})
    await store.redis_for_tests.sadd(SUBSCRIBERS_KEY, broken.key)
    filters = await store.audience_filters(frozenset({"telegram", "discord"}), batch=3)
    assert sorted(f.canonical() for f in filters) == sorted(set(texts))
    assert list(await store.broken_subscribers()) == [broken.key]
