"""The platform-neutral chat commands against the real service, fake arXiv and LLM, and a real Redis."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.models import TranslationStatus
from bot.service import DigestService
from bot.store import Store
from bot.subscribers import ChatRef, Lang
from handlers.commands import Commands, Incoming
from handlers.replies import DigestReply, PaperReply, Reply, TextReply
from tests.fakes.llm_server import FakeLLM
from tests.redis_cluster import ON_BOTH_BACKENDS

pytestmark = ON_BOTH_BACKENDS

ALICE = ChatRef("telegram", "1001")
BOB = ChatRef("telegram", "1002")
GROUP = ChatRef("telegram", "-5001")

Say = Callable[..., Awaitable[list[Reply]]]


@pytest.fixture(name="commands")
def fixture_commands(service: DigestService, store: Store) -> Commands:
    """The commands on the real service."""
    return Commands(service, store)


@pytest.fixture(name="say")
def fixture_say(commands: Commands) -> Say:
    """Send a text as a user would, by default from Alice's private chat."""

    async def say(text: str, chat: ChatRef = ALICE, *, group: bool = False, admin: bool = False) -> list[Reply]:
        async def can_manage() -> bool:
            return admin

        return await commands.handle(Incoming(chat, "u1", text, is_group=group, can_manage=can_manage))

    return say


def text_of(replies: list[Reply]) -> str:
    """The text of a single text reply."""
    assert len(replies) == 1 and isinstance(replies[0], TextReply), replies
    return replies[0].text


async def test_help_lists_every_command_in_both_languages(say: Say) -> None:
    """/help names every command, with Chinese and English descriptions."""
    text = text_of(await say("/help"))
    for command in ("/subscribe", "/unsubscribe", "/list", "/time", "/lang", "/paper", "/digest", "/stop", "/help"):
        assert command in text
    assert "订阅" in text and "filter" in text
    assert text in text_of(await say("/start"))


async def test_subscribe_then_list_shows_numbered_filters_and_defaults(say: Say) -> None:
    """Filters are stored numbered and /list shows them with the default time, timezone and language."""
    assert "cs.LG stat.ML" in text_of(await say("/subscribe cs.lg stat.ML"))
    await say('/subscribe cs.CV "diffusion model" -survey')
    listing = text_of(await say("/list"))
    assert "1. cs.LG stat.ML" in listing
    assert '2. cs.CV "diffusion model" -survey' in listing
    assert "09:00 Asia/Shanghai" in listing and "both" in listing


async def test_same_filter_twice_is_kept_once(say: Say, store: Store) -> None:
    """Subscribing to the same filter again does not duplicate it."""
    await say("/subscribe cs.LG")
    await say("/subscribe CS.lg")
    sub = await store.get_subscriber(ALICE)
    assert sub is not None and len(sub.filters) == 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("/subscribe cs.XX", "unknown arXiv category 'cs.XX'"),
        ("/subscribe", "usage"),
        ('/subscribe "unclosed', "quote"),
        ("/subscribe " + "x" * 10_000, "too long"),
        ("/time 25:00", "HH:MM"),
        ("/time 08:00 Mars/Olympus", "timezone"),
        ("/lang fr", "zh"),
        ("/paper hello", "2402.03478"),
        ("/paper", "usage"),
        ("/frobnicate", "/help"),
        ("/", "/help"),
        ("hello there", "/help"),
        ("/unsubscribe 1", "No topics"),
    ],
)
async def test_bad_input_gets_a_clear_reply(say: Say, text: str, needle: str) -> None:
    """Every malformed command is answered with a message that says what to do, never silence."""
    reply = text_of(await say(text))
    assert needle.lower() in reply.lower()
    assert len(reply) < 1500


async def test_unknown_category_names_close_matches(say: Say) -> None:
    """An unknown category such as cs.XX gets a reply naming real categories close to it."""
    reply = text_of(await say("/subscribe cs.XX"))
    assert "cs.XX" in reply
    assert any(code in reply for code in ("cs.CV", "cs.CY", "cs.CR", "cs.CE"))


async def test_unsubscribe_by_number_and_all(say: Say) -> None:
    """/unsubscribe n removes that filter, a bad number shows the list, and all removes every filter."""
    await say("/subscribe cs.LG")
    await say("/subscribe stat.ML")
    assert "stat.ML" in text_of(await say("/unsubscribe 2"))
    assert "1. cs.LG" in text_of(await say("/unsubscribe 7"))
    assert "all" in text_of(await say("/unsubscribe all"))
    assert "No topics" in text_of(await say("/list"))


async def test_time_and_lang_are_saved(say: Say, store: Store) -> None:
    """/time and /lang change the stored delivery settings."""
    await say("/time 7:05 europe/berlin")
    await say("/lang en")
    sub = await store.get_subscriber(ALICE)
    assert sub is not None
    assert sub.delivery_time.strftime("%H:%M") == "07:05" and sub.timezone == "Europe/Berlin"
    assert sub.lang is Lang.EN


async def test_paper_returns_the_translated_abstract_once(say: Say, fake_llm: FakeLLM) -> None:
    """/paper gives the bilingual abstract, translated once and then served from the cache."""
    first = await say("/paper https://arxiv.org/pdf/2402.03478v2.pdf")
    second = await say("/paper arXiv:2402.03478")
    for replies in (first, second):
        assert len(replies) == 1 and isinstance(replies[0], PaperReply)
        assert replies[0].item.status is TranslationStatus.OK
        assert replies[0].item.translation is not None
    assert fake_llm.count == 1


async def test_unknown_paper_is_not_found(say: Say) -> None:
    """A well-formed id arXiv does not know gets 'not found', not a crash."""
    assert "no paper" in text_of(await say("/paper 2501.99999"))


async def test_digest_follows_the_filters_and_language(say: Say) -> None:
    """/digest returns the latest announcement's papers that match, in the chat's language."""
    assert "No topics" in text_of(await say("/digest"))
    await say("/subscribe cs.LG stat.ML saliency")
    await say("/lang zh")
    replies = await say("/digest")
    assert len(replies) == 1 and isinstance(replies[0], DigestReply)
    digest = replies[0].digest
    assert [item.paper.arxiv_id for item in digest.items] == ["2403.15603"]
    assert replies[0].lang is Lang.ZH and "1/3" in replies[0].header


async def test_digest_on_an_empty_day_says_so(say: Say, arxiv: object) -> None:
    """On a day without announcements /digest explains instead of sending an empty digest."""
    await say("/subscribe cs.LG")
    assert "empty" in text_of(await say("/digest"))


async def test_group_settings_need_an_administrator(say: Say) -> None:
    """In a group only administrators change filters; anyone may read /list and ask for papers."""
    assert "administrators" in text_of(await say("/subscribe cs.LG", GROUP, group=True, admin=False))
    assert "subscribed" in text_of(await say("/subscribe cs.LG", GROUP, group=True, admin=True))
    assert "administrators" in text_of(await say("/stop", GROUP, group=True, admin=False))
    assert "cs.LG" in text_of(await say("/list", GROUP, group=True, admin=False))
    assert isinstance((await say("/paper 2402.03478", GROUP, group=True))[0], PaperReply)


async def test_group_chatter_is_ignored(say: Say) -> None:
    """Ordinary messages in a group get no reply (the bot only answers commands there)."""
    assert await say("nice paper!", GROUP, group=True) == []


async def test_stop_deletes_only_this_chat(say: Say, store: Store) -> None:
    """/stop deletes everything about the chat and leaves other chats alone."""
    await say("/subscribe cs.LG", ALICE)
    await say("/subscribe stat.ML", BOB)
    assert "deleted" in text_of(await say("/stop", ALICE))
    assert await store.get_subscriber(ALICE) is None
    assert await store.get_subscriber(BOB) is not None
    assert [c.key for c in await store.subscriber_chats()] == [BOB.key]
    assert "no subscription" in text_of(await say("/stop", ALICE))


async def test_markup_in_a_filter_is_plain_text(say: Say, store: Store) -> None:
    """HTML or Markdown typed into a filter is stored as keyword text, not interpreted."""
    reply = text_of(await say("/subscribe cs.LG <b>bold</b> [x](http://e.com)"))
    assert "subscribed" in reply
    sub = await store.get_subscriber(ALICE)
    assert sub is not None and sub.filters[0].keywords


async def test_an_unexpected_failure_becomes_an_apology(service: DigestService) -> None:
    """When Redis is unreachable a command is answered with an apology, not silence or a traceback."""
    from bot.redis_server import free_port

    dead = Store.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        replies = await Commands(service, dead).handle(Incoming(ALICE, "u1", "/list"))
    finally:
        await dead.close()
    assert "Something went wrong" in text_of(replies)
