"""Every Redis key name the bot uses, in one place."""

from __future__ import annotations

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
