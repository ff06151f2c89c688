"""The chat commands, platform-neutral: parse a command's text, call the service, return replies."""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

from bot.arxiv_source import parse_arxiv_id
from bot.errors import DigestError, InvalidArxivId, InvalidFilter, InvalidSetting, PaperNotFound, SourceUnavailable
from bot.filters import Filter, parse_filter
from bot.ranking.arrange import MAX_INTEREST, MAX_LIMIT, Preferences
from bot.ranking.model import DISLIKE, LIKE
from bot.render.markdown import render_digest
from bot.service import DigestService, PaperAnswer, Requester
from bot.store import Store, is_outage
from bot.subscribers import (
    ChatRef,
    Subscriber,
    parse_lang,
    parse_time,
    parse_timezone,
)
from handlers import texts
from handlers.replies import DigestReply, FileReply, PaperReply, Reply, TextReply

log = logging.getLogger(__name__)
MAX_COMMAND_CHARS = 1000
MANAGING_COMMANDS = frozenset(
    {"subscribe", "unsubscribe", "time", "lang", "stop", "like", "dislike", "interest", "rank", "limit"}
)
ADMIN_COMMANDS = frozenset({"stats", "broadcast"})
Broadcaster = Callable[[str], Awaitable[int]]
Notify = Callable[[list[Reply]], Awaitable[object]]


@dataclass(frozen=True)
class ReplyBounds:
    """How long a command may take: a "working on it" reply after `interim`, the final answer within `final`.

    Slow work (arXiv, the LLM) stops waiting `margin` seconds before `final`, leaving time to answer with what
    there is; anything still unfinished at `final` gets an apology.
    """

    interim: float = 5.0
    final: float = 60.0
    margin: float = 3.0

    @property
    def work(self) -> float:
        """Seconds slow work may take before the command answers with what it has."""
        return max(0.0, self.final - self.margin)


@dataclass(frozen=True)
class Incoming:
    """A message a user sent: where, who, what, and how to ask whether they may manage the chat.

    `prefixes` are the characters that start a command on this platform (`!` only where it is documented);
    `bot_username` is the bot's own name, so that `/stop@otherbot` in a group is left to the other bot.
    """

    chat: ChatRef
    user_id: str
    text: str
    is_group: bool = False
    can_manage: Callable[[], Awaitable[bool]] | None = None
    prefixes: str = "/!"
    bot_username: str | None = None


class Command(NamedTuple):
    """A command as typed: its name, its arguments, and the bot it was addressed to (`/stop@name`), if any."""

    name: str
    args: str
    target: str = ""


def split_command(text: str, prefixes: str = "/!") -> Command | None:
    """Split `/name@bot args` (any whitespace after the name) into a Command; None when the text is no command.

    The text is NFKC-normalised first, so fullwidth letters and digits and a no-break space read as typed.
    """
    text = unicodedata.normalize("NFKC", text).strip()
    if not text or text[0] not in prefixes:
        return None
    parts = text[1:].split(maxsplit=1)
    head, args = (parts[0], parts[1] if len(parts) > 1 else "") if parts else ("", "")
    name, _, target = head.partition("@")
    return Command(name.lower(), args.strip(), target)


def describe_filter(number: int, f: Filter) -> str:
    """One numbered filter as /list shows it, with a line saying which terms are categories, keywords, ..."""
    kinds = [f"{label}: {', '.join(getattr(f, field))}" for label, field in texts.TERM_KINDS if getattr(f, field)]
    if not f.categories:
        kinds.insert(0, f"{texts.TERM_KINDS[0][0]}: {texts.ALL_OF_ARXIV}")
    return f"{number}. {f.canonical()}\n   " + " | ".join(kinds)


def describe(sub: Subscriber, prefs: Preferences | None = None) -> str:
    """The subscription as /list shows it: numbered filters, then the settings (and the ranking's, if given)."""
    lines = [describe_filter(n, f) for n, f in enumerate(sub.filters, 1)] or [texts.NO_FILTERS]
    lines.append("")
    lines.append(f"推送时间 · time: {sub.delivery_time:%H:%M} {sub.timezone}")
    lines.append(f"语言 · lang: {sub.lang.value}")
    if prefs is not None:
        lines.append(f"排序 · rank: {'on' if prefs.rank else 'off'}")
        lines.append(f"每期上限 · limit: {prefs.limit or 'all'}")
        lines.append(f"兴趣 · interest: {prefs.interest or '-'}")
        lines.append(f"评价 · ratings: 👍 {prefs.likes} · 👎 {prefs.dislikes}")
    return "\n".join(lines)


class Commands:
    """Every chat command; adapters call `handle` with the message and send back what it returns."""

    def __init__(
        self,
        service: DigestService,
        store: Store,
        *,
        admin_ids: frozenset[str] = frozenset(),
        broadcaster: Broadcaster | None = None,
        bounds: ReplyBounds = ReplyBounds(),
    ) -> None:
        self._service = service
        self._store = store
        self._admin_ids = admin_ids
        self.broadcaster = broadcaster
        self._bounds = bounds

    @classmethod
    def names(cls) -> list[str]:
        """Every command's name, as typed after the slash (each `cmd_<name>` method is one)."""
        return sorted(name.removeprefix("cmd_") for name in dir(cls) if name.startswith("cmd_"))

    async def handle(self, msg: Incoming, notify: Notify | None = None) -> list[Reply]:
        """Answer one message within the bounds; never raises: an unexpected failure becomes an apology.

        When the answer takes longer than `bounds.interim`, `notify` (if given) sends a short "working on it"
        reply first.
        """
        work = asyncio.ensure_future(self._answer(msg))
        done, _ = await asyncio.wait({work}, timeout=self._bounds.interim)
        if not done and notify is not None:
            await self._notify(msg, notify)
        try:
            return await asyncio.wait_for(work, max(0.0, self._bounds.final - self._bounds.interim))
        except TimeoutError:
            log.warning("%s: no answer within %.0f s", msg.chat.key, self._bounds.final)
            return [TextReply(texts.TOO_SLOW)]

    async def _notify(self, msg: Incoming, notify: Notify) -> None:
        """Send the interim reply; a failure to send it never stops the answer."""
        try:
            await notify([TextReply(texts.WORKING)])
        except Exception:
            log.exception("%s: the interim reply failed", msg.chat.key)

    async def _answer(self, msg: Incoming) -> list[Reply]:
        """Answer one message, an unexpected failure (Redis down, a bug) becoming an apology."""
        try:
            return await self._dispatch(msg)
        except Exception as exc:
            if is_outage(exc):  # the outage itself is logged once, by the supervisor
                log.info("%s: answered with an apology: Redis unreachable", msg.chat.key)
            else:
                log.exception("%s: command failed", msg.chat.key)
            return [TextReply(texts.FALLBACK)]

    async def _dispatch(self, msg: Incoming) -> list[Reply]:
        """Parse the command, check who may run it, run it, and turn expected errors into replies."""
        parsed = split_command(msg.text, msg.prefixes)
        if parsed is None:
            return [] if msg.is_group else [TextReply(texts.NOT_A_COMMAND, error=True)]
        name, args, target = parsed
        if target and msg.bot_username is not None and target.lower() != msg.bot_username.lower():
            return []  # addressed to another bot in the group
        if len(args) > MAX_COMMAND_CHARS:
            return [TextReply(texts.TOO_LONG.format(length=len(args), limit=MAX_COMMAND_CHARS), error=True)]
        handler = getattr(self, f"cmd_{name}", None) if name.isidentifier() else None
        if handler is None:
            return [TextReply(texts.UNKNOWN_COMMAND.format(command="/" + name[:32]), error=True)]
        if name in MANAGING_COMMANDS and not await self._may_manage(msg):
            return [TextReply(texts.NOT_ALLOWED_IN_GROUP, error=True)]
        if name in ADMIN_COMMANDS and not self._is_admin(msg):
            log.warning("%s user=%s tried /%s without being an admin", msg.chat.key, msg.user_id, name)
            return [TextReply(texts.NOT_ALLOWED, error=True)]
        try:
            replies: list[Reply] = await handler(msg, args)
        except InvalidSetting as exc:
            return [TextReply(str(exc), error=True)]
        except (InvalidFilter, InvalidArxivId, PaperNotFound) as exc:
            return [TextReply(f"{texts.ERROR_LEAD[type(exc).__name__]} · {exc}", error=True)]
        except SourceUnavailable as exc:
            log.warning("arXiv unavailable for %s: %s", msg.chat.key, exc)
            return [TextReply(texts.ARXIV_UNAVAILABLE.format(reason=exc))]
        except DigestError as exc:
            log.warning("command /%s failed for %s: %s", name, msg.chat.key, exc)
            return [TextReply(texts.SOMETHING_FAILED.format(reason=exc))]
        return replies

    async def _may_manage(self, msg: Incoming) -> bool:
        """True in private chats; in groups, only for those the adapter says may manage the chat."""
        if not msg.is_group:
            return True
        return msg.can_manage is not None and await msg.can_manage()

    def _is_admin(self, msg: Incoming) -> bool:
        """True for users listed in ADMIN_IDS, as a bare id or as platform:id."""
        return msg.user_id in self._admin_ids or f"{msg.chat.platform}:{msg.user_id}" in self._admin_ids

    async def cmd_stats(self, msg: Incoming, args: str) -> list[Reply]:
        """Admins: subscribers per platform, digests sent today, LLM use this month."""
        snap = await self._store.stats.snapshot(self._service.clock().date())
        depth = await self._store.delivery.queue_depth()
        platforms = ", ".join(f"{p} {n}" for p, n in sorted(snap.subscribers.items())) or "0"
        return [
            TextReply(
                f"订阅 · subscribers: {platforms}\n"
                f"今日已发送 · digests sent today: {snap.sent_today}\n"
                f"本月 LLM · LLM this month: {snap.llm_calls_month} calls, {snap.llm_tokens_month} tokens\n"
                f"失败 · send failures: {sum(snap.failures.values())}\n"
                f"队列 · queue: {depth}"
            )
        ]

    async def cmd_broadcast(self, msg: Incoming, args: str) -> list[Reply]:
        """Admins: send a text to every subscribed chat."""
        if not args:
            return [TextReply("用法 · usage: /broadcast <text>", error=True)]
        if self.broadcaster is None:
            return [TextReply("此处无法广播 · broadcasting is not available here.")]
        count = await self.broadcaster(args)
        return [TextReply(f"已发送给 {count} 个聊天 · sent to {count} chats.")]

    async def cmd_start(self, msg: Incoming, args: str) -> list[Reply]:
        """Greet and show the commands."""
        return [TextReply(texts.WELCOME + texts.HELP)]

    async def cmd_help(self, msg: Incoming, args: str) -> list[Reply]:
        """Show the commands."""
        return [TextReply(texts.HELP)]

    async def cmd_subscribe(self, msg: Incoming, args: str) -> list[Reply]:
        """Add a topic filter to this chat's subscription."""
        if not args:
            return [TextReply(texts.USAGE["subscribe"], error=True)]
        topic = parse_filter(args)
        sub = await self._store.update_subscriber(msg.chat, lambda s: s.with_filter(topic))
        number = sub.filters.index(topic) + 1
        return [TextReply(f"已订阅 · subscribed: {number}. {topic.canonical()}\n\n/list 查看全部 · shows all")]

    async def cmd_unsubscribe(self, msg: Incoming, args: str) -> list[Reply]:
        """Remove one filter by its number, or all of them."""
        sub = await self._store.get_subscriber(msg.chat)
        if sub is None or not sub.filters:
            return [TextReply(texts.NO_FILTERS)]
        if args.lower() == "all":
            await self._store.update_subscriber(msg.chat, lambda s: replace(s, filters=()))
            return [TextReply(texts.ALL_REMOVED)]
        if not (args.isascii() and args.isdigit()):
            return [TextReply(texts.USAGE["unsubscribe"] + f"\n\n{describe(sub)}", error=True)]
        if not 1 <= int(args) <= len(sub.filters):
            numbers = "1" if len(sub.filters) == 1 else f"1–{len(sub.filters)}"
            answer = texts.NO_SUCH_FILTER.format(number=args[:6], numbers=numbers)
            return [TextReply(f"{answer}\n\n{describe(sub)}", error=True)]
        index = int(args) - 1
        removed = sub.filters[index]
        await self._store.update_subscriber(
            msg.chat, lambda s: replace(s, filters=tuple(f for f in s.filters if f != removed))
        )
        return [TextReply(f"已删除 · removed: {removed.canonical()}")]

    async def cmd_list(self, msg: Incoming, args: str) -> list[Reply]:
        """Show this chat's filters and settings."""
        sub = await self._store.get_subscriber(msg.chat) or Subscriber(msg.chat)
        return [TextReply(describe(sub, await self._service.ranking.preferences(msg.chat)))]

    async def cmd_time(self, msg: Incoming, args: str) -> list[Reply]:
        """Set the delivery time and, optionally, the timezone."""
        parts = args.split()
        if not 1 <= len(parts) <= 2:
            return [TextReply(texts.USAGE["time"], error=True)]
        at = parse_time(parts[0])
        zone = parse_timezone(parts[1]) if len(parts) == 2 else None
        sub = await self._store.update_subscriber(
            msg.chat, lambda s: replace(s, delivery_time=at, timezone=zone or s.timezone)
        )
        return [TextReply(f"推送时间已设为 · delivery time set to {sub.delivery_time:%H:%M} {sub.timezone}")]

    async def cmd_lang(self, msg: Incoming, args: str) -> list[Reply]:
        """Choose Chinese, English or both."""
        if not args:
            return [TextReply(texts.USAGE["lang"], error=True)]
        lang = parse_lang(args)
        await self._store.update_subscriber(msg.chat, lambda s: replace(s, lang=lang))
        return [TextReply(f"语言已设为 · language set to {lang.value}")]

    async def cmd_paper(self, msg: Incoming, args: str) -> list[Reply]:
        """One paper's full bilingual abstract."""
        if not args:
            return [TextReply(texts.USAGE["paper"], error=True)]
        wanted = parse_arxiv_id(args.split()[0]).arxiv_id
        requester = Requester(f"{msg.chat.platform}:{msg.user_id}", msg.chat.key, exempt=self._is_admin(msg))
        answer = await self._service.lookup_paper(
            args.split()[0], requester, within=self._bounds.work, busy_within=self._bounds.interim
        )
        got = answer.item.paper.arxiv_id
        if got != wanted:
            log.warning("%s: asked arXiv for %s, got %s", msg.chat.key, wanted, got)
            return [TextReply(texts.OTHER_PAPER.format(got=got, wanted=wanted))]
        return [PaperReply(answer.item), *self._budget_note(answer)]

    def _budget_note(self, answer: PaperAnswer) -> list[Reply]:
        """The line saying when translation resumes, when the budget kept the paper untranslated."""
        budget = self._service.budget
        if answer.resumes_at is None or budget is None:
            return []
        at = f"{answer.resumes_at:%Y-%m-%d %H:%M} UTC"
        note = texts.TRANSLATION_RESUMES.format(per_hour=budget.per_hour, per_day=budget.per_day, at=at)
        return [TextReply(note)]

    async def cmd_digest(self, msg: Incoming, args: str) -> list[Reply]:
        """The latest announcement's digest for this chat's filters, now: ranked and limited, all of it, or a file."""
        mode = args.lower()
        if mode not in ("", "all", "file"):
            return [TextReply(texts.USAGE["digest"], error=True)]
        sub = await self._store.get_subscriber(msg.chat)
        if sub is None or not sub.filters:
            return [TextReply(texts.NO_FILTERS)]
        outcome = await self._service.latest_digest(
            sub.filters, self._service.feed_categories(sub.filters), within=self._bounds.work
        )
        cats = ", ".join(outcome.listing.categories)
        if outcome.listing.empty:
            return [
                TextReply(
                    f"arXiv 最新一期没有新论文（周五、周六和节假日不发布）。 · arXiv's latest listing "
                    f"for {cats} is empty (no announcements on Fridays, Saturdays and holidays)."
                )
            ]
        if not outcome.digest.items:
            return [
                TextReply(
                    f"arXiv 最新一期有 {outcome.announced} 篇论文，没有匹配你的过滤器。 · "
                    f"{outcome.announced} papers announced; none matched your filters."
                )
            ]
        digest = await self._service.ranking.arrange_digest(
            msg.chat, outcome.digest, outcome.listing, show_all=bool(mode)
        )
        day = f"{digest.day:%Y-%m-%d}" if digest.day else self._service.clock().strftime("%Y-%m-%d")
        if mode == "file":
            caption = texts.FILE_CAPTION.format(day=day, count=len(digest.items))
            return [FileReply(f"arxiv-digest-{day}.md", render_digest(digest).encode(), caption)]
        header = f"arXiv {day} · {len(outcome.digest.items)}/{outcome.announced}"
        if not self._service.translations_on:
            header += "\n" + texts.TRANSLATIONS_OFF
        return [DigestReply(digest, sub.lang, header)]

    async def _rate(self, msg: Incoming, args: str, rating: int) -> list[Reply]:
        """Like or dislike a paper (looked up like /paper when no listing has it) and say so."""
        if not args:
            return [TextReply(texts.USAGE["like" if rating == LIKE else "dislike"], error=True)]
        paper = await self._service.find_paper(parse_arxiv_id(args.split()[0]))
        old = await self._service.ranking.rate(msg.chat, paper, rating)
        answer = texts.RATED[rating].format(title=paper.title[:200], paper=paper.arxiv_id)
        return [TextReply(answer + (texts.RATING_REPLACED if old and old != rating else ""))]

    async def cmd_like(self, msg: Incoming, args: str) -> list[Reply]:
        """👍 a paper: the digest ranks papers like it higher."""
        return await self._rate(msg, args, LIKE)

    async def cmd_dislike(self, msg: Incoming, args: str) -> list[Reply]:
        """👎 a paper: the digest ranks papers like it lower."""
        return await self._rate(msg, args, DISLIKE)

    async def cmd_interest(self, msg: Incoming, args: str) -> list[Reply]:
        """Show, set or clear the chat's interest in words."""
        ratings = self._service.ranking.ratings
        if not args:
            interest = (await ratings.preferences(msg.chat)).interest
            return [TextReply(texts.INTEREST_SHOWN.format(interest=interest) if interest else texts.NO_INTEREST)]
        if args.lower() == "clear":
            await ratings.set_field(msg.chat, "interest", None)
            return [TextReply(texts.INTEREST_CLEARED)]
        text = " ".join(args.split())
        if len(text) > MAX_INTEREST:
            return [TextReply(texts.INTEREST_TOO_LONG.format(length=len(text), limit=MAX_INTEREST), error=True)]
        await ratings.set_field(msg.chat, "interest", text)
        return [TextReply(texts.INTEREST_SET.format(interest=text))]

    async def cmd_rank(self, msg: Incoming, args: str) -> list[Reply]:
        """Turn ranking on or off."""
        if args.lower() not in ("on", "off"):
            return [TextReply(texts.USAGE["rank"], error=True)]
        on = args.lower() == "on"
        await self._service.ranking.ratings.set_field(msg.chat, "rank", "on" if on else "off")
        prefs = await self._service.ranking.preferences(msg.chat)
        return [TextReply(texts.RANK_SET[on] + ("\n" + texts.RANK_NOTHING_YET if on and not prefs.ranks else ""))]

    async def cmd_limit(self, msg: Incoming, args: str) -> list[Reply]:
        """Set how many papers a digest shows, or `all`."""
        value = args.lower()
        if value == "all":
            await self._service.ranking.ratings.set_field(msg.chat, "limit", "all")
            return [TextReply(texts.LIMIT_ALL)]
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_LIMIT):
            return [TextReply(texts.USAGE["limit"], error=True)]
        await self._service.ranking.ratings.set_field(msg.chat, "limit", str(int(value)))
        return [TextReply(texts.LIMIT_SET.format(limit=int(value)))]

    async def cmd_stop(self, msg: Incoming, args: str) -> list[Reply]:
        """Unsubscribe and delete everything stored about this chat."""
        deleted = await self._store.delete_subscriber(msg.chat)
        return [TextReply(texts.STOPPED if deleted else texts.NOTHING_TO_STOP)]
