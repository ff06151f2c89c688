"""Ranking on Telegram: 👍/👎 under a paper's abstract answer in the button, and /digest file is a document."""

from __future__ import annotations

import asyncio

from bot.service import DigestService
from bot.store import Store
from handlers.telegram_bot import TelegramAdapter
from tests.fakes.telegram_server import FakeTelegram, fixture_fake_telegram  # noqa: F401
from tests.test_telegram_bot import fixture_adapter  # noqa: F401  (the `adapter` fixture)

USER = 5151
GROUP = -5151


async def _answers(fake_telegram: FakeTelegram, count: int) -> list[str]:
    """The texts of the first `count` button answers, waiting briefly for them."""
    for _ in range(200):
        if len(fake_telegram.callback_answers) >= count:
            break
        await asyncio.sleep(0.025)
    return [str(a.get("text", "")) for a in fake_telegram.callback_answers]


async def test_thumbs_under_an_abstract_rate_the_paper_in_the_button_answer(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    """/paper's answer ends with 👍 and 👎; pressing them rates the paper and says so without a new message."""
    fake_telegram.user_sends(USER, "/paper 2402.03478")
    [paper] = await fake_telegram.wait_for_sent_to(USER, 1)
    buttons = [b for row in paper["reply_markup"]["inline_keyboard"] for b in row]  # type: ignore[index]
    assert [(b["text"], b["callback_data"]) for b in buttons] == [
        ("👍", "like:2402.03478"),
        ("👎", "dislike:2402.03478"),
    ]
    fake_telegram.user_presses(USER, paper["message_id"], "like:2402.03478")
    fake_telegram.user_presses(USER, paper["message_id"], "dislike:2402.03478")
    answers = await _answers(fake_telegram, 2)
    assert "liked 2402.03478" in answers[0] and "disliked 2402.03478" in answers[1]
    assert all(len(a) <= 200 for a in answers)
    fake_telegram.user_sends(USER, "/list")
    listing = await fake_telegram.wait_for_sent_to(USER, 2)
    assert "👍 0 · 👎 1" in listing[1]["text"], "the second press replaced the first; no other message was sent"


async def test_a_group_member_cannot_rate_with_the_buttons(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    """In a group, a member's 👍 is refused in the button answer; an administrator's counts."""
    fake_telegram.set_member_status(GROUP, 11, "member")
    fake_telegram.set_member_status(GROUP, 12, "administrator")
    fake_telegram.user_sends(GROUP, "/paper 2402.03478", user_id=11, chat_type="group")
    [paper] = await fake_telegram.wait_for_sent_to(GROUP, 1)
    fake_telegram.user_presses(GROUP, paper["message_id"], "like:2402.03478", user_id=11)
    fake_telegram.user_presses(GROUP, paper["message_id"], "like:2402.03478", user_id=12)
    answers = await _answers(fake_telegram, 2)
    assert "administrators" in answers[0] and "liked 2402.03478" in answers[1]


async def test_digest_file_arrives_as_a_markdown_document(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    """/digest file sends arxiv-digest-YYYY-MM-DD.md as a Telegram document in the seed layout."""
    fake_telegram.user_sends(USER, "/subscribe cs.LG stat.ML")
    await fake_telegram.wait_for_sent_to(USER, 1)
    fake_telegram.user_sends(USER, "/digest file")
    for _ in range(400):
        if fake_telegram.documents:
            break
        await asyncio.sleep(0.025)
    [document] = fake_telegram.documents
    assert document["chat_id"] == USER and document["filename"].startswith("arxiv-digest-")
    assert document["filename"].endswith(".md") and "3 papers" in document["caption"]
    text = document["data"].decode()
    assert text.startswith("# 摘要\n\n| Ref | Title | Summary |") and "Sparse Mixture-of-Experts" in text


async def test_limited_digest_is_one_message_ending_with_the_more_line(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter, store: Store, service: DigestService
) -> None:
    """A limited /digest arrives as one message ending with how many more matched and how to get them."""
    fake_telegram.user_sends(USER, "/subscribe cs.LG stat.ML")
    fake_telegram.user_sends(USER, "/limit 2")
    fake_telegram.user_sends(USER, "/digest")
    sent = await fake_telegram.wait_for_sent_to(USER, 3)
    assert "1 more matched: /digest all" in sent[2]["text"] and "还有 1 篇" in sent[2]["text"]
    buttons = [b for row in sent[2]["reply_markup"]["inline_keyboard"] for b in row]  # type: ignore[index]
    assert [b["text"] for b in buttons] == ["1", "2"]
