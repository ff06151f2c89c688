"""Who reads the digest: a chat on some platform, its topic filters and its delivery settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import time
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import InvalidSetting
from bot.filters import Filter

DEFAULT_TIME = time(9, 0)
DEFAULT_TIMEZONE = "Asia/Shanghai"
MAX_FILTERS = 20
_HHMM = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)$", re.ASCII)
# Zone files that are no place a reader lives in: the machine's own zone, a placeholder, and copies of others.
_NOT_TIMEZONES = frozenset({"localtime", "factory", "posixrules"})


class Lang(Enum):
    """Which languages a subscriber reads: Chinese, English, or both."""

    ZH = "zh"
    EN = "en"
    BOTH = "both"


@dataclass(frozen=True)
class ChatRef:
    """One chat on one platform: a private chat, a group, a Discord DM or channel, or the console."""

    platform: str
    chat_id: str

    @property
    def key(self) -> str:
        """A stable text form, `telegram:12345`."""
        return f"{self.platform}:{self.chat_id}"

    @classmethod
    def from_key(cls, key: str) -> ChatRef:
        """Read the text form back."""
        platform, _, chat_id = key.partition(":")
        return cls(platform, chat_id)


@dataclass(frozen=True)
class Subscriber:
    """A chat's subscription: its filters (a paper matches if any matches) and when and how it reads."""

    chat: ChatRef
    filters: tuple[Filter, ...] = ()
    delivery_time: time = DEFAULT_TIME
    timezone: str = DEFAULT_TIMEZONE
    lang: Lang = Lang.BOTH

    def with_filter(self, new: Filter) -> Subscriber:
        """The subscription with one more filter (a filter it already has is not added twice)."""
        if new in self.filters:
            return self
        if len(self.filters) >= MAX_FILTERS:
            raise InvalidSetting(
                f"一个聊天最多 {MAX_FILTERS} 个过滤器，请先用 /unsubscribe <n> 删除一个。 · "
                f"a chat can hold at most {MAX_FILTERS} filters; remove one with /unsubscribe <n>"
            )
        return replace(self, filters=(*self.filters, new))


def parse_time(text: str) -> time:
    """Read an HH:MM delivery time."""
    match = _HHMM.match(text.strip())
    if not match:
        raise InvalidSetting(
            f"{text[:20]!r} 不是有效时间，请用 HH:MM，例如 09:00 或 21:30。 · "
            f"{text[:20]!r} is not a time; use HH:MM, for example 09:00 or 21:30"
        )
    return time(int(match.group(1)), int(match.group(2)))


def parse_timezone(text: str) -> str:
    """Check an IANA timezone name such as Asia/Shanghai or Europe/Berlin and return its canonical spelling."""
    name = text.strip()
    if len(name) <= 64 and name.lower() not in _NOT_TIMEZONES:
        for candidate in (z for z in sorted(available_timezones()) if z.lower() == name.lower()):
            try:
                ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return candidate
    raise InvalidSetting(
        f"{name[:40]!r} 不是 IANA 时区，请用 Asia/Shanghai 或 Europe/Berlin 这样的名称。 · "
        f"{name[:40]!r} is not an IANA timezone; use a name like Asia/Shanghai or Europe/Berlin"
    )


def parse_lang(text: str) -> Lang:
    """Read zh, en or both."""
    try:
        return Lang(text.strip().lower())
    except ValueError:
        raise InvalidSetting(
            f"{text.strip()[:20]!r} 不是可选语言，请选 zh（中文）、en（英文）或 both（双语）。 · "
            f"{text.strip()[:20]!r} is not a language; choose zh (Chinese), en (English) or both"
        ) from None
