"""Every Redis key name the bot uses, in one place."""

from __future__ import annotations

import hashlib

from bot.subscribers import ChatRef

PREFIX = "axd:"
TRANSLATION_KEY = PREFIX + "tr:{model}:{paper}"
PAPER_KEY = PREFIX + "paper:{paper}"
PAPER_TTL_SECONDS = 14 * 24 * 3600
SUBSCRIBER_KEY = PREFIX + "sub:{chat}"
SUBSCRIBERS_KEY = PREFIX + "subscribers"
LISTING_KEY = PREFIX + "listing:{categories}"
LISTING_TTL_SECONDS = 30 * 60


def translation_key(model: str, versioned_id: str) -> str:
    """The key of one paper version's translation by one model."""
    return TRANSLATION_KEY.format(model=model, paper=versioned_id)


def paper_key(arxiv_id: str) -> str:
    """The key of a paper's cached metadata (latest version seen)."""
    return PAPER_KEY.format(paper=arxiv_id)


def subscriber_key(chat: ChatRef) -> str:
    """The hash holding one chat's subscription."""
    return SUBSCRIBER_KEY.format(chat=chat.key)


def listing_key(categories: tuple[str, ...] | list[str]) -> str:
    """The key of a recently fetched listing for this set of categories."""
    return LISTING_KEY.format(categories="+".join(sorted(categories)))


# The send-rate limiter shared by every process using one bot token. `{bot}` is a hash of the platform and token
# (never the token); the braces make a Redis Cluster hash tag, so one script may touch both keys. A chat's key
# is named by a hash too: it holds only when the chat may get its next message and expires seconds later, so
# nothing named after a chat outlives its /stop.
RATE_SLOT_KEY = PREFIX + "rate:{{{bot}}}:next"  # the bot's next free send slot, µs since the epoch
RATE_CHAT_KEY = PREFIX + "rate:{{{bot}}}:chat:{chat}"  # the earliest next send to one chat, µs since the epoch


def rate_slot_key(bot: str) -> str:
    """The key holding a bot's next free send slot."""
    return RATE_SLOT_KEY.format(bot=bot)


def rate_chat_key(bot: str, chat: str) -> str:
    """The key holding when a bot may next send to one chat (named by a hash of the chat's key)."""
    return RATE_CHAT_KEY.format(bot=bot, chat=hashlib.sha256(chat.encode()).hexdigest()[:16])


# The delivery engine: announcement days, when each chat is due, the queue and its idempotency records.
DAYS_KEY = PREFIX + "days"  # sorted set of ready listing days (ISO dates), scored by ordinal
DAY_LISTING_KEY = PREFIX + "day:{day}:listing"
DAY_STATUS_KEY = PREFIX + "day:{day}:status"  # hash: state (pending|ready|none), attempts, next_try
DAY_TTL_SECONDS = 30 * 24 * 3600
DUE_KEY = PREFIX + "due"  # sorted set: chat key -> epoch seconds of its next delivery time
UNSCHEDULED_KEY = PREFIX + "unscheduled"  # chats whose next delivery time must be (re)computed
WAITING_KEY = PREFIX + "waiting"  # chats whose delivery time came while the expected day was still late
QUEUE_KEY = PREFIX + "deliveries"  # stream of deliveries: chat, day, skipped
QUEUE_GROUP = "workers"
DEAD_KEY = PREFIX + "deliveries:dead"  # deliveries that kept failing, moved aside
ENQUEUED_KEY = PREFIX + "enqueued:{chat}:{day}"
DELIVERED_KEY = PREFIX + "delivered:{chat}:{day}"
PROGRESS_KEY = PREFIX + "progress:{chat}:{day}"  # how many messages of that digest are already sent
RECORD_TTL_SECONDS = 45 * 24 * 3600
SEEN_KEY = PREFIX + "seen:{chat}"  # sorted set: paper id -> ordinal of the day it was sent
SEEN_DAYS = 14  # long enough for cross-lists and re-announcements; 60 days cost up to 1.3 MiB a chat
SCHEDULER_LOCK_KEY = PREFIX + "scheduler:lock"


def day_listing_key(day: str) -> str:
    """The listing of one announcement day."""
    return DAY_LISTING_KEY.format(day=day)


def day_status_key(day: str) -> str:
    """The fetch state of one announcement day."""
    return DAY_STATUS_KEY.format(day=day)


def enqueued_key(chat: ChatRef, day: str) -> str:
    """Set once a chat's delivery for a day is queued: the second enqueue is a no-op."""
    return ENQUEUED_KEY.format(chat=chat.key, day=day)


def delivered_key(chat: ChatRef, day: str) -> str:
    """Set once a chat's digest for a day is fully sent: a second send is impossible."""
    return DELIVERED_KEY.format(chat=chat.key, day=day)


def progress_key(chat: ChatRef, day: str) -> str:
    """How many messages of a chat's digest for a day went out (a resumed delivery skips them)."""
    return PROGRESS_KEY.format(chat=chat.key, day=day)


def seen_key(chat: ChatRef) -> str:
    """The papers a chat has already received."""
    return SEEN_KEY.format(chat=chat.key)


# Statistics shared by every process (for /stats and the Prometheus metrics).
SENT_ON_KEY = PREFIX + "stats:sent:{day}"  # digests sent on a UTC day
SENT_TOTAL_KEY = PREFIX + "stats:sent:total"
FAILURES_KEY = PREFIX + "stats:failures"  # hash: reason -> count
LLM_MONTH_KEY = PREFIX + "stats:llm:{month}"  # hash: calls, tokens for a YYYY-MM month
LLM_TOTAL_KEY = PREFIX + "stats:llm:total"
FETCH_KEY = PREFIX + "stats:fetch"  # hash: seconds and day of the last arXiv fetch
STATS_TTL_SECONDS = 400 * 24 * 3600
