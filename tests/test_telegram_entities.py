"""The Telegram renderer's entity count never undercounts what Telegram (the fake's rules) makes of a message."""

from __future__ import annotations

from bot.models import DigestItem, Paper, Translation, TranslationStatus
from bot.render.telegram_html import ENTITY_LIMIT, entity_count, paper_messages, text_messages
from tests.fakes.telegram_server import detect_entities, parse_html

SAMPLES = [
    "plain words only",
    "see https://arxiv.org/abs/2402.03478v2#section and www.example.org/a?b=c",
    "mail me: a.b+c@lab.example.edu, ping @arxiv_digest_bot or @ab, #LLM #2024 #模型 $AAPL $5",
    "/help /list@arxiv_digest_test_bot and/or 1/2 cs.LG/stat.ML 摘要/总结 //x",
    '<b>bold</b> <i>#tag</i> <a href="https://x.org">x</a> <code>/not @counted</code>',
]


def test_entity_count_covers_what_telegram_finds() -> None:
    """For text with links, e-mails, mentions, hashtags, cashtags and commands, the estimate is never below."""
    for html in SAMPLES:
        text, tags = parse_html(html)
        assert entity_count(html) >= len(detect_entities(text, tags)), html


def test_broadcasts_and_abstracts_full_of_hashtags_are_split_under_the_limit() -> None:
    """A long broadcast and a paper whose abstract lists hashtags become messages Telegram renders in full."""
    broadcast = "\n\n".join(f"Paragraph {n}: #news #arxiv https://example.org/{n}" for n in range(80))
    tr = Translation(title_zh="标题", tldr_zh="总结", abstract_zh=" ".join(["#标签"] * 90), tldr_en="Short.")
    paper = Paper(
        arxiv_id="2403.10001",
        version=1,
        title="T",
        abstract=" ".join(["#tag"] * 90),
        url="https://arxiv.org/abs/2403.10001",
    )
    for message in text_messages(broadcast) + paper_messages(DigestItem(paper, tr, TranslationStatus.OK)):
        text, tags = parse_html(message.html)
        assert len(detect_entities(text, tags)) <= ENTITY_LIMIT
