"""Chat renderings: property tests for splitting and HTML escaping, and the plain-text forms."""

from __future__ import annotations

import itertools
import re
from html import unescape

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Digest, DigestItem, Paper, Translation, TranslationStatus
from bot.render.split import pack, shorten, utf16_len
from bot.render.telegram_html import MESSAGE_LIMIT, digest_messages, fit, paper_messages
from bot.render.text import digest_text, paper_text

ALLOWED_TAGS = re.compile(r"</?(b|i|a)( href=\"[^\"<>]*\")?>")
nasty_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)


def _item(title: str, tldr: str, n: int = 1) -> DigestItem:
    """A translated item with the given title and summary."""
    url = f"https://arxiv.org/abs/2401.{n:05d}"
    paper = Paper(arxiv_id=f"2401.{n:05d}", version=1, title=title, abstract=tldr * 3, url=url)
    return DigestItem(paper, Translation(title, tldr, tldr * 3, tldr), TranslationStatus.OK)


def _visible(html: str) -> str:
    """The text a reader sees once Telegram has parsed the HTML."""
    return unescape(ALLOWED_TAGS.sub("", html))


@given(st.lists(st.integers(min_value=0, max_value=500), max_size=60), st.integers(min_value=500, max_value=4096))
def test_pack_keeps_order_fits_the_limit_and_never_splits(sizes: list[int], limit: int) -> None:
    """Packed groups keep every piece once, in order, and each message stays within the limit."""
    pieces = ["x" * s for s in sizes]
    groups = pack(pieces, limit, sep="\n\n")
    assert [i for g in groups for i in g] == list(range(len(pieces)))
    for group in groups:
        assert utf16_len("\n\n".join(pieces[i] for i in group)) <= limit


@given(st.lists(st.integers(min_value=1, max_value=800), min_size=2, max_size=40))
def test_pack_uses_as_few_messages_as_a_greedy_fill_allows(sizes: list[int]) -> None:
    """No two neighbouring messages could have been one: the split is not wasteful."""
    pieces = ["y" * s for s in sizes]
    groups = pack(pieces, 2000)
    for first, second in itertools.pairwise(groups):
        joined = "\n\n".join(pieces[i] for i in first + second[:1])
        assert utf16_len(joined) > 2000


@given(nasty_text, st.integers(min_value=2, max_value=300))
def test_shorten_fits_and_keeps_a_prefix(text: str, limit: int) -> None:
    """Shortened text fits its limit and is the start of the original."""
    short = shorten(text, limit)
    assert utf16_len(short) <= limit
    assert text.startswith(short.removesuffix("…"))


@given(nasty_text)
def test_fit_escapes_so_the_reader_sees_the_original(text: str) -> None:
    """Escaped text contains no markup of its own and unescapes back to what was written."""
    html = fit(text, 4000)
    assert "<" not in html and ">" not in html
    assert unescape(html) == text or unescape(html).endswith("…")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(nasty_text, nasty_text), min_size=1, max_size=70))
def test_digest_messages_hold_every_paper_whole_within_the_limit(entries: list[tuple[str, str]]) -> None:
    """Any titles and summaries give messages within 4096 characters, with each paper's button exactly once."""
    digest = Digest(tuple(_item(t or "t", s or "s", n) for n, (t, s) in enumerate(entries, 1)))
    messages = digest_messages(digest, "both", "header <&>")
    assert all(utf16_len(m.html) <= MESSAGE_LIMIT for m in messages)
    assert all(not ALLOWED_TAGS.sub("", m.html).count("<") for m in messages)
    labels = [label for m in messages for label, _ in m.buttons]
    assert labels == [str(n) for n in range(1, len(entries) + 1)]


def test_paper_message_shows_both_languages() -> None:
    """A paper's message carries both titles, both summaries and both abstracts, with its arXiv link."""
    [message] = paper_messages(_item("Graph <Nets> & $L_1$", "总结"))
    seen = _visible(message.html)
    assert "Graph <Nets> & $L_1$" in seen and "总结总结总结" in seen and "arXiv:2401.00001v1" in seen


def test_text_forms_for_the_console() -> None:
    """The terminal shows a numbered digest with links and a paper with both languages."""
    digest = Digest((_item("Title A", "摘要A"), _item("Title B", "摘要B", 2)))
    text = digest_text(digest, "zh", "arXiv 2024-03-25")
    assert "1. Title A" in text and "https://arxiv.org/abs/2401.00002" in text and "摘要B" in text
    assert "Title A" in paper_text(digest.items[0])


def test_astral_text_is_shortened_in_linear_time() -> None:
    """A paper with 100k characters outside the BMP in its fields renders for each platform in under 50 ms."""
    import time

    from bot.render import discord_embeds

    huge = "𝒪 " * 50_000
    item = _item(huge, huge)
    for render in (paper_messages, discord_embeds.paper_messages):
        started = time.perf_counter()
        messages = render(item)
        elapsed = time.perf_counter() - started
        assert messages and elapsed < 0.050, f"{render.__module__}: {elapsed * 1e3:.1f} ms"
