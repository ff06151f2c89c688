"""arXiv's announcement calendar as pure functions of a given time: which listing is the newest, and when is next.

arXiv announces Sunday to Thursday at 20:00 US Eastern, and not on its holidays. Its RSS feed labels each
announcement with the next calendar day, the *listing day* (Sunday evening's announcement is Monday's listing),
so listing days fall on Monday to Friday.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ET = ZoneInfo("America/New_York")
ANNOUNCE_TIME = time(20, 0)
DEFAULT_HOLIDAYS: frozenset[date] = frozenset()
SEARCH_DAYS = 30
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _aware(now: datetime) -> datetime:
    """Refuse naive datetimes: every instant here carries its timezone."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware")
    return now


def parse_holidays(text: str) -> frozenset[date]:
    """Read listing days without announcement: YYYY-MM-DD separated by commas or spaces."""
    days = set()
    for item in filter(None, re.split(r"[\s,]+", text.strip())):
        try:
            if not _ISO_DAY.fullmatch(item):
                raise ValueError(item)
            days.add(date.fromisoformat(item))
        except ValueError:
            raise ValueError(f"holiday {item!r} is not a date like 2025-12-25 (YYYY-MM-DD)") from None
    return frozenset(days)


@dataclass(frozen=True)
class ArxivCalendar:
    """arXiv's announcement days, given its holidays (listing days with no announcement)."""

    holidays: frozenset[date] = DEFAULT_HOLIDAYS

    def is_listing_day(self, day: date) -> bool:
        """True for Monday to Friday listings that are not holidays."""
        return day.weekday() < 5 and day not in self.holidays

    def announcement_time(self, listing_day: date) -> datetime:
        """The instant of the announcement a listing day carries: the evening before, 20:00 Eastern."""
        return datetime.combine(listing_day - timedelta(days=1), ANNOUNCE_TIME, tzinfo=ET)

    def latest_listing_day(self, now: datetime) -> date | None:
        """The listing day of the newest announcement at or before `now` (None if none in the last 30 days)."""
        today = _aware(now).astimezone(ET).date() + timedelta(days=1)
        for back in range(SEARCH_DAYS + 1):
            day = today - timedelta(days=back)
            if self.is_listing_day(day) and self.announcement_time(day) <= now:
                return day
        return None


def _wall_clock(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant the wall clock in `zone` shows `at` on `day`; in a DST gap, the first valid instant after it."""
    if at.tzinfo is not None:
        raise ValueError("`at` must be a wall-clock time without tzinfo")
    wanted = datetime.combine(day, at)
    first = wanted.replace(tzinfo=zone, fold=0).astimezone(UTC)  # the earlier of two repeats
    if first.astimezone(zone).replace(tzinfo=None) == wanted:
        return first
    # `wanted` falls in a gap: fold=1 reads it with the offset after the jump, an instant before the jump; fold=0
    # reads it with the offset before, an instant after. The clock jumps (at a whole second) between them.
    before = int(wanted.replace(tzinfo=zone, fold=1).timestamp())
    after = math.ceil(first.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) < wanted:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


def next_local_time(now: datetime, at: time, tz: str) -> datetime:
    """The first instant strictly after `now` at which the wall clock in tz shows `at` (UTC)."""
    zone = ZoneInfo(tz)
    day = _aware(now).astimezone(zone).date()
    candidate = _wall_clock(day, at, zone)
    while candidate <= now:
        day += timedelta(days=1)
        candidate = _wall_clock(day, at, zone)
    return candidate
