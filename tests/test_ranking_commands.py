"""Ranking in chat: /like, /dislike, /interest, /rank, /limit, /digest all|file and /list, on the real service."""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable

import pytest

from bot.ranking.model import interest_terms
from bot.render.markdown import render_digest
from bot.service import DigestService
from bot.store import Store
from bot.store.keys import ranking_key, ranking_keys
from bot.subscribers import ChatRef
from bot.transfer import export_subscribers, import_subscribers
from handlers.commands import Commands, Incoming
from handlers.console import run_console
from handlers.replies import DigestReply, FileReply, Reply, TextReply
from tests.fakes.arxiv_server import FakeArxiv
from tests.redis_cluster import ON_BOTH_BACKENDS

pytestmark = ON_BOTH_BACKENDS

ALICE = ChatRef("telegram", "2001")
LISTED = ["2403.15001", "2403.15603", "2403.15210"]  # the fixture feed's new and cross-listed papers, in order
Say = Callable[..., Awaitable[list[Reply]]]


@pytest.fixture(name="say")
def fixture_say(service: DigestService, store: Store) -> Say:
    """Send a text from Alice's private chat to the real commands."""
    commands = Commands(service, store)

    async def say(text: str, chat: ChatRef = ALICE, *, group: bool = False) -> list[Reply]:
        return await commands.handle(Incoming(chat, "u1", text, is_group=group))

    return say


def text_of(replies: list[Reply]) -> str:
    """The text of a single text reply."""
    assert len(replies) == 1 and isinstance(replies[0], TextReply), replies
    return replies[0].text


async def digest_of(say: Say, command: str = "/digest") -> DigestReply:
    """The single digest reply a /digest command gives."""
    replies = await say(command)
    assert len(replies) == 1 and isinstance(replies[0], DigestReply), replies
    return replies[0]


def ids(reply: DigestReply) -> list[str]:
    """The papers a digest reply lists, in order."""
    return [item.paper.arxiv_id for item in reply.digest.items]


async def test_like_puts_the_liked_kind_of_paper_first_and_says_why(say: Say) -> None:
    """After /like of the last announced paper the digest lists it first, with a line saying why."""
    await say("/subscribe cs.LG stat.ML")
    assert ids(await digest_of(say)) == LISTED
    assert "liked 2403.15210" in text_of(await say("/like https://arxiv.org/abs/2403.15210"))
    ranked = await digest_of(say)
    assert ids(ranked)[0] == "2403.15210" and sorted(ids(ranked)) == sorted(LISTED)
    assert "2403.15210 is first" in ranked.digest.lead and "排在第一" in ranked.digest.lead


async def test_limit_shows_the_best_then_how_many_more_and_all_shows_everything(say: Say) -> None:
    """With /limit 1 the digest shows one paper and a line about the 2 others; /digest all shows all three."""
    await say("/subscribe cs.LG stat.ML")
    assert "up to 1 papers" in text_of(await say("/limit 1"))
    limited = await digest_of(say)
    assert ids(limited) == ["2403.15001"]
    assert "2 more matched" in limited.digest.footer and "/digest all" in limited.digest.footer
    assert "还有 2 篇" in limited.digest.footer
    assert ids(await digest_of(say, "/digest all")) == LISTED
    assert "no limit" in text_of(await say("/limit all"))
    unlimited = await digest_of(say)
    assert ids(unlimited) == LISTED and unlimited.digest.footer == ""


async def test_dislike_pushes_a_paper_down_and_replaces_the_earlier_like(say: Say) -> None:
    """/dislike after /like replaces the rating: /list counts one dislike and the paper drops to the end."""
    await say("/subscribe cs.LG stat.ML")
    await say("/digest")
    await say("/like 2403.15001")
    answer = text_of(await say("/dislike 2403.15001"))
    assert "disliked 2403.15001" in answer and "replaces your earlier rating" in answer
    assert ids(await digest_of(say))[-1] == "2403.15001"
    listing = text_of(await say("/list"))
    assert "👍 0 · 👎 1" in listing and "rank: on" in listing and "limit: 20" in listing


async def test_interest_is_shown_set_cleared_and_ranks_the_digest(say: Say) -> None:
    """/interest sets the chat's interest (ranking by it), shows it alone, and clear removes it."""
    await say("/subscribe cs.LG stat.ML")
    assert "No interest set" in text_of(await say("/interest"))
    assert "interest set" in text_of(await say("/interest kernel two-sample tests for functional data"))
    assert "functional data" in text_of(await say("/interest"))
    assert "functional data" in text_of(await say("/list"))
    assert ids(await digest_of(say))[0] == "2403.15210"
    assert "cleared" in text_of(await say("/interest clear"))
    assert ids(await digest_of(say)) == LISTED


async def test_an_interest_is_stored_with_its_terms_which_ranking_reads(say: Say, store: Store) -> None:
    """/interest stores the text's terms beside it and ranking reads them; without them it ranks as before."""
    await say("/subscribe cs.LG stat.ML")
    await say("/interest saliency maps under quantisation")
    redis, key = store.redis_for_tests, ranking_key(ALICE)
    stored = await digest_of(say)
    assert ids(stored)[0] == "2403.15603" and await redis.hexists(key, "interest_terms")
    await redis.hdel(key, "interest_terms")  # an interest stored before its terms were
    from_text = await digest_of(say)
    assert ids(from_text) == ids(stored) and from_text.digest.lead == stored.digest.lead
    other = interest_terms("kernel two-sample tests for functional data").pack()
    await redis.hset(key, "interest_terms", other)  # the stored terms, not the text, are what ranks
    assert ids(await digest_of(say))[0] == "2403.15210"
    await say("/interest clear")
    assert not await redis.hexists(key, "interest_terms") and ids(await digest_of(say)) == LISTED


async def test_rank_off_keeps_announcement_order(say: Say) -> None:
    """/rank off keeps the announcement order despite ratings; /rank on restores the ranking."""
    await say("/subscribe cs.LG stat.ML")
    await say("/digest")
    await say("/like 2403.15210")
    assert "off" in text_of(await say("/rank off"))
    assert ids(await digest_of(say)) == LISTED
    assert "rank: off" in text_of(await say("/list"))
    await say("/rank on")
    assert ids(await digest_of(say))[0] == "2403.15210"


async def test_digest_file_is_the_seed_layout_in_ranked_order(say: Say) -> None:
    """/digest file answers with arxiv-digest-YYYY-MM-DD.md holding the Markdown of every paper, best first."""
    await say("/subscribe cs.LG stat.ML")
    await say("/limit 1")
    await say("/digest")
    await say("/like 2403.15210")
    replies = await say("/digest file")
    assert len(replies) == 1 and isinstance(replies[0], FileReply)
    file = replies[0]
    assert file.filename.startswith("arxiv-digest-") and file.filename.endswith(".md")
    everything = await digest_of(say, "/digest all")
    assert ids(everything)[0] == "2403.15210"
    assert file.data == render_digest(everything.digest).encode()
    assert "3 papers" in file.caption


async def test_like_of_an_unlisted_paper_is_fetched_once(say: Say, arxiv: FakeArxiv) -> None:
    """/like of a paper in no listing asks arXiv's API once; rating it again uses the cache."""
    before = arxiv.count()
    assert "liked 2402.03478" in text_of(await say("/like 2402.03478"))
    assert "disliked 2402.03478" in text_of(await say("/dislike arXiv:2402.03478"))
    assert arxiv.count() == before + 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("/like", "usage: /like"),
        ("/dislike", "usage: /dislike"),
        ("/like not-an-id", "2402.03478"),
        ("/like 2501.99999", "no paper"),
        ("/rank maybe", "/rank on|off"),
        ("/limit 0", "/limit <1–1000>|all"),
        ("/limit ten", "/limit <1–1000>|all"),
        ("/digest everything", "/digest file"),
        ("/interest " + "x" * 501, "at most 500"),
    ],
)
async def test_bad_ranking_input_gets_a_clear_reply(say: Say, text: str, needle: str) -> None:
    """Every malformed ranking command is answered with what to type instead."""
    assert needle in text_of(await say(text))


async def test_group_ratings_need_an_administrator(say: Say) -> None:
    """In a group, /like and /limit are refused for members who may not manage the chat."""
    group = ChatRef("telegram", "-7001")
    assert "administrators" in text_of(await say("/like 2402.03478", group, group=True))
    assert "administrators" in text_of(await say("/limit 5", group, group=True))


async def test_stop_deletes_ratings_and_interest(say: Say, store: Store) -> None:
    """/stop forgets the chat's ratings, interest and ranking settings."""
    await say("/like 2402.03478")
    await say("/interest diffusion")
    chat_ranking_keys = ranking_keys(ChatRef("telegram", "2001"))
    assert await store.redis_for_tests.exists(*chat_ranking_keys) == 3  # ratings, settings, learned profile
    assert "deleted" in text_of(await say("/stop"))
    assert await store.redis_for_tests.exists(*chat_ranking_keys) == 0
    listing = text_of(await say("/list"))
    assert "👍 0 · 👎 0" in listing and "interest: -" in listing


async def test_export_and_import_carry_ratings_and_settings(say: Say, store: Store) -> None:
    """An export holds the chat's ratings, interest and limit, and importing it restores them."""
    await say("/subscribe cs.LG")
    await say("/like 2402.03478")
    await say("/interest diffusion models")
    await say("/limit 7")
    exported = await export_subscribers(store)
    entry = json.loads(exported)["subscribers"][0]
    assert entry["ranking"]["ratings"]["2402.03478"][0] == 1
    await say("/stop")
    assert await import_subscribers(store, exported) == 1
    listing = text_of(await say("/list"))
    assert "👍 1" in listing and "diffusion models" in listing and "limit: 7" in listing


async def test_console_rates_limits_and_prints_the_file(service: DigestService, store: Store) -> None:
    """In the terminal chat /like, /limit and /digest file work and the file's Markdown is printed."""
    lines = "/subscribe cs.LG stat.ML\n/limit 1\n/digest\n/like 2403.15210\n/digest file\n"
    out = io.StringIO()
    await run_console(Commands(service, store), io.StringIO(lines), out)
    text = out.getvalue()
    assert "2 more matched" in text and "liked 2403.15210" in text
    assert "--- arxiv-digest-" in text and "# 摘要" in text and "# 详细" in text
