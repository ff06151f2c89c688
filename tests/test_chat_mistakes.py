"""What a chat user sees after the mistakes users make: mistyped topics, odd characters, wrong numbers."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bot.arxiv_source import parse_rss
from bot.calendar import ArxivCalendar
from bot.delivery import DailyEngine
from bot.service import DigestService
from bot.store import Store
from bot.subscribers import ChatRef
from handlers.commands import Commands, Incoming
from handlers.replies import PaperReply, Reply, TextReply
from tests.fakes.arxiv_server import FakeArxiv, fixture_bytes
from tests.test_delivery import feed_for

ALICE = ChatRef("telegram", "1001")
CJK = re.compile(r"[\u4e00-\u9fff]")

Say = Callable[..., Awaitable[list[Reply]]]


@pytest.fixture(name="say")
def fixture_say(service: DigestService, store: Store) -> Say:
    """Send a text as Alice would in her private chat, through the real commands."""
    commands = Commands(service, store)

    async def say(text: str, **incoming: object) -> list[Reply]:
        return await commands.handle(Incoming(ALICE, "u1", text, **incoming))  # type: ignore[arg-type]

    return say


def text_of(replies: list[Reply]) -> str:
    """The text of a single text reply."""
    assert len(replies) == 1 and isinstance(replies[0], TextReply), replies
    return replies[0].text


@pytest.mark.parametrize(
    ("term", "suggestion"),
    [
        ("stats.ML", "stat.ML"),
        ("cs-LG", "cs.LG"),
        ("ml", "stat.ML"),
        ("stats", "stat"),
        ("foo.BAR", "category_taxonomy"),
    ],
)
async def test_a_category_look_alike_is_refused_with_the_real_one(
    say: Say, store: Store, term: str, suggestion: str
) -> None:
    """`/subscribe stats.ML` (and cs-LG, ml, foo.BAR) names the closest real category and how to quote a keyword."""
    answer = text_of(await say(f"/subscribe {term}"))
    assert suggestion in answer and f'"{term}"' in answer and CJK.search(answer), answer
    assert await store.get_subscriber(ALICE) is None


async def test_a_quoted_look_alike_is_a_keyword(say: Say) -> None:
    """A user who means the word itself quotes it and gets it as a keyword."""
    assert 'subscribed: 1. cs.LG "node.js"' in text_of(await say('/subscribe cs.LG "node.js"'))


async def test_list_names_categories_keywords_authors_and_exclusions(say: Say) -> None:
    """/list says which terms of each filter are categories, keywords, authors and exclusions."""
    await say('/subscribe cs.CV "diffusion model" author:Hinton -survey')
    await say("/subscribe GAN")
    listing = text_of(await say("/list"))
    assert "categories: cs.CV | 关键词 keywords: diffusion model | 作者 authors: Hinton | 排除 excluding: survey" in (
        listing
    )
    assert "2. GAN\n   分类 categories: 全部 arXiv · all of arXiv | 关键词 keywords: GAN" in listing


@pytest.mark.parametrize(
    ("command", "english"),
    [
        ("/time 25:99", "is not a time"),
        ("/subscribe cs.XX", "unknown arXiv category"),
        ("/time 09:00 Mars/Olympus", "is not an IANA timezone"),
        ("/lang fr", "is not a language"),
        ("/paper 9999.99999", "is not an arXiv identifier"),
        ("/time", "usage"),
    ],
)
async def test_every_error_reply_is_bilingual(say: Say, command: str, english: str) -> None:
    """Errors that were English-only carry Chinese too, like the rest of the bot."""
    answer = text_of(await say(command))
    assert english in answer and CJK.search(answer), answer


async def test_unsubscribing_a_number_that_does_not_exist_lists_the_numbers(say: Say) -> None:
    """`/unsubscribe 5` with one filter says there is no filter 5 and that filter 1 exists."""
    await say("/subscribe cs.LG")
    answer = text_of(await say("/unsubscribe 5"))
    assert "There is no filter 5; yours are numbered 1." in answer and "1. cs.LG" in answer


@pytest.mark.parametrize(("number", "removed"), [("①", True), ("²", False), ("٣", False), ("𝟏", True)])
async def test_odd_digits_in_unsubscribe_get_an_answer(say: Say, store: Store, number: str, removed: bool) -> None:
    """Circled, superscript, Arabic-Indic and math-bold digits are read or refused, never "something went wrong"."""
    await say("/subscribe cs.LG")
    answer = text_of(await say(f"/unsubscribe {number}"))
    assert "something went wrong" not in answer.lower()
    sub = await store.get_subscriber(ALICE)
    assert sub is not None and (sub.filters == ()) is removed, answer


@pytest.mark.parametrize("separator", ["\n", "\t", "\u00a0", "\u3000"])
async def test_any_space_after_the_command_works(say: Say, separator: str) -> None:
    """A newline, tab, no-break or ideographic space after /subscribe still subscribes."""
    assert "subscribed: 1. cs.LG" in text_of(await say(f"/subscribe{separator}cs.LG"))


async def test_fullwidth_input_is_read_as_typed(say: Say) -> None:
    """Fullwidth `ｃｓ．ＬＧ` from a Chinese keyboard is the category cs.LG."""
    assert "subscribed: 1. cs.LG" in text_of(await say("／subscribe ｃｓ．ＬＧ"))


async def test_paper_ids_are_ascii_digits(say: Say, arxiv: FakeArxiv) -> None:
    """Arabic-Indic digits are refused without asking arXiv; math-bold digits read as the ASCII id."""
    refused = text_of(await say("/paper ٢٤٠٢.٠٣٤٧٨"))
    assert "is not an arXiv identifier" in refused and arxiv.count("api") == 0
    [reply] = await say("/paper 𝟐𝟒𝟎𝟐.𝟎𝟑𝟒𝟕𝟖")
    assert isinstance(reply, PaperReply) and reply.item.paper.arxiv_id == "2402.03478"


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "posix/Europe/Berlin"])
async def test_zone_files_that_are_not_timezones_are_refused(say: Say, zone: str) -> None:
    """`localtime`, `Factory` and `posixrules` exist as zone files but are no place a reader lives."""
    assert "is not an IANA timezone" in text_of(await say(f"/time 08:00 {zone}"))


async def test_paper_says_when_arxiv_answers_with_another_paper(say: Say, arxiv: FakeArxiv) -> None:
    """When arXiv answers a lookup with a different id, the user is told instead of shown the other paper."""
    arxiv.add_paper("2402.09999", fixture_bytes("api_2402.03478v2.xml"))
    answer = text_of(await say("/paper 2402.09999"))
    assert "arXiv answered with another paper (2402.03478) instead of 2402.09999" in answer


async def test_commands_for_another_bot_are_ignored(say: Say, store: Store) -> None:
    """`/stop@otherbot` in a group is left to the other bot; `/stop@ours` is ours."""
    await say("/subscribe cs.LG")

    async def admin() -> bool:
        return True

    assert await say("/stop@otherbot", is_group=True, can_manage=admin, bot_username="arxiv_digest_bot") == []
    assert await store.get_subscriber(ALICE) is not None
    await say("/stop@Arxiv_Digest_Bot", is_group=True, can_manage=admin, bot_username="arxiv_digest_bot")
    assert await store.get_subscriber(ALICE) is None


async def test_a_time_set_less_than_a_minute_ahead_is_today(say: Say, store: Store) -> None:
    """/time for 30 s ahead, scheduled by the first tick after that moment passed, is delivered today."""
    state, calendar = store.delivery, ArxivCalendar()
    engine = DailyEngine(service=None, store=store, state=state, calendar=calendar)  # type: ignore[arg-type]
    tick = datetime(2024, 2, 6, 9, 1, 20, tzinfo=UTC)  # the first tick after the user's 09:00:30
    day = calendar.latest_listing_day(tick)
    assert day is not None
    await state.save_day(day, parse_rss(feed_for(day)))
    await say("/subscribe cs.LG")
    await say("/time 09:01 UTC")
    assert await engine.enqueue_tick(tick) == 1
    assert await state.queue_depth() == 1
