"""Discord renderings: every limit holds for any digest, papers stay whole and in order, markdown shows verbatim."""

from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Digest, DigestItem, Paper, Translation, TranslationStatus
from bot.render.discord_embeds import (
    EMBEDS_TOTAL_LIMIT,
    FIELDS_PER_EMBED,
    DiscordMessage,
    digest_messages,
    escape,
    paper_messages,
    paper_of,
    text_messages,
)
from bot.render.split import utf16_len
from handlers.discord_bot import message_kwargs
from tests.fakes.discord_server import limit_problems

nasty_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=700)
paper_ids = st.from_regex(r"\A[0-9]{4}\.[0-9]{4,5}(v[1-9][0-9]?)?\Z") | st.text(min_size=1, max_size=120)


def _unescape(text: str) -> str:
    """What Discord shows of escaped markdown."""
    return re.sub(r"\\(.)", r"\1", text)


@st.composite
def items(draw: st.DrawFn) -> DigestItem:
    """A digest item with arbitrary (often hostile, sometimes huge) texts, translated or not."""
    pid = draw(paper_ids)
    paper = Paper(
        arxiv_id=pid,
        title=draw(nasty_text),
        abstract=draw(nasty_text),
        url=draw(st.text(max_size=300)),
        authors=tuple(draw(st.lists(st.text(max_size=40), max_size=5))),
    )
    status = draw(st.sampled_from(TranslationStatus))
    translation = None
    if status is TranslationStatus.OK:
        translation = Translation(draw(nasty_text), draw(nasty_text), draw(nasty_text), draw(nasty_text))
    return DigestItem(paper, translation, status)


def _payload(message: DiscordMessage) -> dict[str, object]:
    """The JSON discord.py would send for one rendered message (through the adapter's conversion)."""
    kwargs = message_kwargs(message)
    payload: dict[str, object] = {"content": kwargs["content"], "embeds": [e.to_dict() for e in kwargs["embeds"]]}
    if "view" in kwargs:
        payload["components"] = kwargs["view"].to_components()
    return payload


def _problems(message: DiscordMessage) -> list[tuple[str, str, str]]:
    """Every Discord limit a rendered message breaks, as Discord would report it (an empty message too)."""
    empty = not (message.content.strip() or message.embeds or message.file)
    return limit_problems(_payload(message)) + ([("content", "EMPTY", "Cannot send an empty message")] if empty else [])


@settings(max_examples=60, deadline=None)
@given(st.lists(items(), max_size=70), st.sampled_from(["zh", "en", "both"]), nasty_text)
def test_any_digest_respects_every_limit_and_keeps_papers_whole_in_order(
    digest_items: list[DigestItem], lang: str, header: str
) -> None:
    """Every message is within all of Discord's limits, each paper is one field with one button, in order."""
    digest = Digest(tuple(digest_items))
    messages = digest_messages(digest, lang, header)
    assert messages and all(_problems(m) == [] for m in messages)
    fields = [f for m in messages for e in m.embeds for f in e.fields]
    assert [f.name.split(".", 1)[0] for f in fields] == [str(n) for n in range(1, len(digest_items) + 1)]
    for message in messages:
        numbers = [f.name.split(".", 1)[0] for e in message.embeds for f in e.fields]
        labels = [b.label.split(" ", 1)[0] for b in message.buttons]
        assert labels == [n for n in numbers if n in labels] and all(paper_of(b.custom_id) for b in message.buttons)
    arxiv_like = [i for i in digest_items if re.fullmatch(r"[0-9]{4}\.[0-9]{4,5}(v[0-9]+)?", i.paper.versioned_id)]
    if len({i.paper.versioned_id for i in digest_items}) == len(digest_items):
        assert sum(len(m.buttons) for m in messages) >= len(arxiv_like)
    for message in messages[1:]:
        assert not message.content


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=40, max_value=1000), min_size=2, max_size=80))
def test_digest_messages_are_as_few_as_fit(sizes: list[int]) -> None:
    """No message could have taken the next one's first paper: neither 25 fields nor 6000 characters had room."""
    tr = Translation("标题", "总结", "摘要", "")
    digest = Digest(
        tuple(
            DigestItem(
                Paper(f"2401.{n:05d}", "x" * s, "a", f"https://arxiv.org/abs/2401.{n:05d}"), tr, TranslationStatus.OK
            )
            for n, s in enumerate(sizes)
        )
    )
    messages = digest_messages(digest, "en", "h")
    for first, second in itertools.pairwise(messages):
        [embed], [next_embed] = first.embeds, second.embeds
        size = utf16_len(embed.text) + utf16_len(next_embed.fields[0].name + next_embed.fields[0].value)
        assert len(embed.fields) == FIELDS_PER_EMBED or size > EMBEDS_TOTAL_LIMIT


@settings(max_examples=60, deadline=None)
@given(items())
def test_any_paper_detail_respects_every_limit(item: DigestItem) -> None:
    """A paper's bilingual abstract fits Discord's embed limits however long its texts are."""
    messages = paper_messages(item)
    assert messages and all(_problems(m) == [] for m in messages)
    assert messages[0].embeds[0].title


@given(nasty_text)
def test_text_messages_fit_and_show_the_text(text: str) -> None:
    """Plain text is split into messages of at most 2000 characters that show it verbatim when short."""
    messages = text_messages(text)
    assert all(_problems(m) == [] for m in messages)
    if utf16_len(text) < 1500 and "\n\n" not in text and text.strip():
        assert _unescape(messages[0].content) == text.strip() or _unescape(messages[0].content) == text


def test_markdown_and_mentions_are_escaped() -> None:
    """Titles full of markdown, mentions and list markers show verbatim instead of formatting or pinging."""
    title = "# On *bold* _x_ ~~s~~ ||spoiler|| `code` [link](http://x) @everyone <@123>\n- item\n12. step"
    shown = escape(title)
    assert _unescape(shown) == title
    assert "\\@everyone" in shown and "\\<\\@123>" in shown and "\\*bold\\*" in shown
    assert "12\\. step" in shown and "\\- item" in shown


def test_a_digest_lists_both_languages_with_links() -> None:
    """With lang=both a field shows the Chinese heading, the English title, both summaries and the arXiv link."""
    paper = Paper("2402.03478", "Sparse experts", "abstract", "https://arxiv.org/abs/2402.03478", version=2)
    item = DigestItem(paper, Translation("稀疏专家", "中文总结", "中文摘要", "English summary"), TranslationStatus.OK)
    [message] = digest_messages(Digest((item,)), "both", "arXiv 2024-02-07 · 1")
    [field] = message.embeds[0].fields
    assert field.name == "1. 稀疏专家"
    assert field.value == (
        "*Sparse experts*\n中文总结\nEnglish summary\n[arXiv:2402.03478v2](https://arxiv.org/abs/2402.03478)"
    )
    assert message.content == "**arXiv 2024\\-02\\-07 · 1**" or message.content == "**arXiv 2024-02-07 · 1**"
    assert [b.custom_id for b in message.buttons] == ["paper:2402.03478v2"]
