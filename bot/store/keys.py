"""Every Redis key name the bot uses, in one place."""

from __future__ import annotations

import hashlib

from bot.subscribers import ChatRef

PREFIX = "axd:"
# Redis Cluster hash tags: keys that one Lua script or MULTI touches together carry the same `{tag}`, so they share
# a slot. The delivery engine's keys (subscriptions, schedule, stream, leases, records, days) share one tag, on one
# shard; a chat's ranking keys share the chat's own tag; everything else (translations, papers) spreads freely.
DELIVERY = PREFIX + "{d}:"  # the delivery engine's prefix, as a literal key name
DELIVERY_TEMPLATE = PREFIX + "{{d}}:"  # the same prefix inside a str.format template
TRANSLATION_KEY = PREFIX + "tr:{model}:{paper}"
TRANSLATION_FAILURE_KEY = PREFIX + "trfail:{model}:{paper}"  # why a translation failed lately (with a TTL)
PAPER_KEY = PREFIX + "paper:{paper}"
PAPER_TTL_SECONDS = 14 * 24 * 3600
SUBSCRIBER_KEY = DELIVERY_TEMPLATE + "sub:{chat}"
SUBSCRIBERS_KEY = DELIVERY + "subscribers"
BROKEN_SUBSCRIBERS_KEY = PREFIX + "subscribers:broken"  # hash: chat key -> why its stored record is unreadable
LISTING_KEY = PREFIX + "listing:{categories}"
LISTING_TTL_SECONDS = 30 * 60
COMMANDS_HASH_KEY = PREFIX + "commands:{platform}:{app}:{scope}"  # hash of the command list last synced there


def translation_key(model: str, versioned_id: str) -> str:
    """The key of one paper version's translation by one model."""
    return TRANSLATION_KEY.format(model=model, paper=versioned_id)


def translation_failure_key(model: str, versioned_id: str) -> str:
    """The key remembering that one paper version's translation by one model failed lately."""
    return TRANSLATION_FAILURE_KEY.format(model=model, paper=versioned_id)


def paper_key(arxiv_id: str) -> str:
    """The key of a paper's cached metadata (latest version seen)."""
    return PAPER_KEY.format(paper=arxiv_id)


def subscriber_key(chat: ChatRef) -> str:
    """The hash holding one chat's subscription."""
    return SUBSCRIBER_KEY.format(chat=chat.key)


def commands_hash_key(platform: str, app: str, scope: str) -> str:
    """The key of the hash of the commands last synced for an application, globally or in one server."""
    return COMMANDS_HASH_KEY.format(platform=platform, app=app, scope=scope)


def listing_key(categories: tuple[str, ...] | list[str]) -> str:
    """The key of a recently fetched listing for this set of categories."""
    return LISTING_KEY.format(categories="+".join(sorted(categories)))


# The send-rate limiter shared by every process using one bot token. `{bot}` is a hash of the platform and token
# (never the token); the braces make a Redis Cluster hash tag, so one script may touch both keys. A chat's key
# is named by a hash too: it holds only when the chat may get its next message and expires seconds later, so
# nothing named after a chat outlives its /stop.
RATE_SLOT_KEY = PREFIX + "rate:{{{bot}}}:{schedule}next"  # the bot's next free send slot, µs since the epoch
RATE_CHAT_KEY = PREFIX + "rate:{{{bot}}}:chat:{chat}"  # the earliest next send to one chat, µs since the epoch


def rate_slot_key(bot: str, schedule: str = "") -> str:
    """The key holding a bot's next free send slot in one of its schedules (the default one, or e.g. "paid")."""
    return RATE_SLOT_KEY.format(bot=bot, schedule=f"{schedule}:" if schedule else "")


def rate_chat_key(bot: str, chat: str) -> str:
    """The key holding when a bot may next send to one chat (named by a hash of the chat's key)."""
    return RATE_CHAT_KEY.format(bot=bot, chat=hashlib.sha256(chat.encode()).hexdigest()[:16])


# The delivery engine: announcement days, when each chat is due, the queue and its idempotency records.
DAYS_KEY = DELIVERY + "days"  # sorted set of ready listing days (ISO dates), scored by ordinal
DAY_LISTING_KEY = DELIVERY_TEMPLATE + "day:{day}:listing"
DAY_STATUS_KEY = DELIVERY_TEMPLATE + "day:{day}:status"  # hash: state (pending|ready|none), attempts, next_try
DAY_TTL_SECONDS = 30 * 24 * 3600
DUE_KEY = DELIVERY + "due"  # sorted set: chat key -> epoch seconds of its next delivery time
UNSCHEDULED_KEY = DELIVERY + "unscheduled"  # chats whose next delivery time must be (re)computed
WAITING_KEY = DELIVERY + "waiting"  # chats whose delivery time came while the expected day was still late
QUEUE_KEY = DELIVERY + "deliveries"  # stream of deliveries: chat, day, skipped
QUEUE_GROUP = "workers"
DEAD_KEY = DELIVERY + "deliveries:dead"  # deliveries that kept failing, moved aside
# Everything recorded about one chat's deliveries lives in keys named after the chat, so /stop can delete them all
# and a migrated group can take them along: its per-day records in one hash, the papers it received, and for a
# short while after a group migrated, the id it moved to.
# The records keep only the newest day the chat was sent and any newer one queued: the engine only ever queues the
# newest day, and never one at or before `last_day` (in the subscriber hash), so older days' records are dropped.
RECORDS_KEY = DELIVERY_TEMPLATE + "records:{chat}"  # hash: enqueued:DAY, progress:DAY, delivered:DAY
RECORD_TTL_SECONDS = 45 * 24 * 3600  # a chat with no delivery for this long loses its (few) records
# The papers a chat received, as positions into the shared day listings (`day:{day}:listing`, kept 30 days):
# field = the listing day, value = the positions of the papers sent that day, packed (bot/store/positions.py):
# about 2 bytes a paper, 40 bytes for a digest of 20.
SENT_KEY = DELIVERY_TEMPLATE + "sent:{chat}"  # hash: DAY -> packed positions in that day's listing
SEEN_DAYS = 14  # long enough for cross-lists and re-announcements
SENT_TTL_SECONDS = SEEN_DAYS * 24 * 3600  # by then every field is older than the window
# The old layout (sorted set: paper id -> day ordinal), converted when read.
LEGACY_SEEN_KEY = DELIVERY_TEMPLATE + "seen:{chat}"
MOVED_KEY = DELIVERY_TEMPLATE + "moved:{chat}"  # the chat key a migrated group moved to, for its deliveries in flight
MOVED_TTL_SECONDS = 24 * 3600
LEASE_KEY = DELIVERY_TEMPLATE + "lease:{entry}"  # the worker sending this queue entry; renewed while it sends
SCHEDULER_LOCK_KEY = PREFIX + "scheduler:lock"
POLLER_LEASE_KEY = PREFIX + "poller:{token_hash}"  # who polls a Telegram token (a hash of it, never the token)
# A Telegram update some process took already (webhook mode): `{bot}` is a hash of the token, as for the limiter.
# Telegram keeps an unanswered update at most 24 hours, so a retry never comes later than that.
UPDATE_KEY = PREFIX + "update:{{{bot}}}:{update_id}"
UPDATE_TTL_SECONDS = 24 * 3600


def day_listing_key(day: str) -> str:
    """The listing of one announcement day."""
    return DAY_LISTING_KEY.format(day=day)


def day_status_key(day: str) -> str:
    """The fetch state of one announcement day."""
    return DAY_STATUS_KEY.format(day=day)


def update_key(bot: str, update_id: int) -> str:
    """The marker saying one of a bot's updates is taken (by whichever replica got it first)."""
    return UPDATE_KEY.format(bot=bot, update_id=update_id)


def records_key(chat: ChatRef) -> str:
    """One chat's per-day delivery records: queued, messages sent so far, fully delivered."""
    return RECORDS_KEY.format(chat=chat.key)


def sent_key(chat: ChatRef) -> str:
    """The papers a chat has received in the last SEEN_DAYS, as positions into each day's listing."""
    return SENT_KEY.format(chat=chat.key)


def legacy_seen_key(chat: ChatRef) -> str:
    """The sorted set of papers received that older versions kept for a chat (converted on first use)."""
    return LEGACY_SEEN_KEY.format(chat=chat.key)


def moved_key(chat: ChatRef) -> str:
    """Where a migrated group's deliveries in flight continue."""
    return MOVED_KEY.format(chat=chat.key)


def lease_key(entry_id: str) -> str:
    """Who is sending one queue entry: present while its worker is alive."""
    return LEASE_KEY.format(entry=entry_id)


def history_keys(chat: ChatRef) -> tuple[str, str, str, str]:
    """The keys a migrated group takes along: subscription, delivery records, papers sent (new and old layout)."""
    return subscriber_key(chat), records_key(chat), sent_key(chat), legacy_seen_key(chat)


def chat_keys(chat: ChatRef) -> tuple[str, ...]:
    """Every key named after a chat: its history and its forwarding."""
    return *history_keys(chat), moved_key(chat)


# Budgets of new /paper translations: one counter per holder (user or chat) and clock hour or UTC day. One script
# counts a user and a chat together, so the counters of one UTC day share that day's tag.
BUDGET_KEY = PREFIX + "budget:{{{day}}}:{holder}:{window}"


def budget_key(holder: str, window: str, day: str) -> str:
    """The counter of new translations one holder (`user:telegram:42`, `chat:telegram:42`) had in one window."""
    return BUDGET_KEY.format(holder=holder, window=window, day=day)


# Statistics shared by every process (for /stats and the Prometheus metrics).
SENT_ON_KEY = PREFIX + "stats:sent:{day}"  # digests sent on a UTC day
SENT_TOTAL_KEY = PREFIX + "stats:sent:total"
FAILURES_KEY = PREFIX + "stats:failures"  # hash: reason -> count
LLM_MONTH_KEY = PREFIX + "stats:llm:{month}"  # hash: calls, tokens for a YYYY-MM month
LLM_TOTAL_KEY = PREFIX + "stats:llm:total"
FETCH_KEY = PREFIX + "stats:fetch"  # hash: seconds and day of the last arXiv fetch
STATS_TTL_SECONDS = 400 * 24 * 3600


# Ranking: what each chat rated and chose (see bot/store/ratings.py); the chat's tag keeps its three keys together.
RATINGS_KEY = PREFIX + "ratings:{{{chat}}}"  # sorted set: paper id -> 2 × epoch minutes of the rating, +1 for a like
RANKING_KEY = PREFIX + "ranking:{{{chat}}}"  # hash: rank, limit, interest, likes, dislikes (small: a compact listpack)
PROFILE_KEY = PREFIX + "profile:{{{chat}}}"  # string: the learned profile, packed (bot/ranking/model.py)


def ratings_key(chat: ChatRef) -> str:
    """A chat's ratings, newest last."""
    return RATINGS_KEY.format(chat=chat.key)


def ranking_key(chat: ChatRef) -> str:
    """A chat's ranking settings and learned profile."""
    return RANKING_KEY.format(chat=chat.key)


def profile_key(chat: ChatRef) -> str:
    """A chat's learned ranking profile."""
    return PROFILE_KEY.format(chat=chat.key)


def ranking_keys(chat: ChatRef) -> tuple[str, str, str]:
    """Every ranking key of a chat: its ratings, its ranking settings, its learned profile."""
    return ratings_key(chat), ranking_key(chat), profile_key(chat)
