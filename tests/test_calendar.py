"""arXiv's announcement calendar and local delivery times, as one table of cases plus properties."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.calendar import (
    ANNOUNCE_TIME,
    DEFAULT_HOLIDAYS,
    ET,
    ArxivCalendar,
    next_local_time,
    parse_holidays,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOLIDAY = date(2024, 12, 25)  # a Wednesday listing day arXiv skipped
CAL = ArxivCalendar(holidays=frozenset({HOLIDAY}))
ZONES = ["UTC", "America/New_York", "Asia/Shanghai", "Europe/Berlin", "Australia/Sydney", "Pacific/Auckland"]
NOWS = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from(ZONES).map(ZoneInfo),
    allow_imaginary=False,
)


def et(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """An instant given in US Eastern time."""
    return datetime(y, m, d, hh, mm, tzinfo=ET)


def utc(y: int, m: int, d: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """An instant given in UTC."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # an ordinary week (24 March 2024 is a Sunday)
        (et(2024, 3, 24, 19, 59), date(2024, 3, 22)),  # Sunday just before the announcement: Friday's listing
        (et(2024, 3, 24, 20, 0), date(2024, 3, 25)),  # Sunday 20:00 sharp: Monday's listing
        (datetime(2024, 3, 25, 9, 0, tzinfo=SHANGHAI), date(2024, 3, 25)),  # Monday morning in Shanghai
        (datetime(2024, 3, 25, 7, 59, tzinfo=SHANGHAI), date(2024, 3, 22)),  # 19:59 Sunday in New York
        (et(2024, 3, 26, 12, 0), date(2024, 3, 26)),  # Tuesday noon: Tuesday's listing, out Monday evening
        (et(2024, 3, 28, 20, 30), date(2024, 3, 29)),  # Thursday evening: Friday's listing
        (et(2024, 3, 29, 20, 30), date(2024, 3, 29)),  # Friday evening: no announcement
        (et(2024, 3, 30, 21, 0), date(2024, 3, 29)),  # Saturday evening: none either
        (et(2024, 3, 31, 19, 0), date(2024, 3, 29)),  # Sunday before 20:00: still Friday's
        # a holiday: 25 December's listing (Tuesday 24th's announcement) does not happen
        (et(2024, 12, 24, 19, 59), date(2024, 12, 24)),
        (et(2024, 12, 24, 20, 30), date(2024, 12, 24)),
        (et(2024, 12, 25, 19, 59), date(2024, 12, 24)),
        (et(2024, 12, 25, 20, 0), date(2024, 12, 26)),
        # March: US clocks go forward on Sunday 10 March 2024; 20:00 EST = 01:00 UTC, 20:00 EDT = 00:00 UTC
        (utc(2024, 3, 8, 0, 59), date(2024, 3, 7)),  # Thursday 7th 19:59 EST
        (utc(2024, 3, 8, 1, 0), date(2024, 3, 8)),  # Thursday 7th 20:00 EST
        (utc(2024, 3, 10, 23, 59), date(2024, 3, 8)),  # Sunday 10th 19:59 EDT
        (utc(2024, 3, 11, 0, 0), date(2024, 3, 11)),  # Sunday 10th 20:00 EDT
        (utc(2024, 7, 1, 0, 0), date(2024, 7, 1)),  # summer: 20:00 EDT = 00:00 UTC
        # November: US clocks go back on Sunday 3 November 2024
        (utc(2024, 11, 1, 0, 0), date(2024, 11, 1)),  # Thursday 31 October 20:00 EDT = 00:00 UTC
        (et(2024, 11, 3, 20, 0), date(2024, 11, 4)),  # the day clocks go back: 20:00 EST = 01:00 UTC
        (utc(2024, 11, 4, 0, 59), date(2024, 11, 1)),
        (utc(2024, 11, 4, 1, 0), date(2024, 11, 4)),
        # the year boundary
        (et(2024, 12, 31, 19, 59), date(2024, 12, 31)),
        (datetime(2025, 1, 1, 9, 0, tzinfo=SHANGHAI), date(2025, 1, 1)),  # = Tuesday 31 Dec 20:00 EST
        (et(2025, 1, 1, 20, 0), date(2025, 1, 2)),
        (et(2025, 1, 4, 12, 0), date(2025, 1, 3)),  # Saturday after New Year
        (et(2026, 1, 1, 12, 0), date(2026, 1, 1)),  # 1 January 2026 is a Thursday listing
        (et(2026, 1, 3, 12, 0), date(2026, 1, 2)),  # Saturday 3 January: Friday 2nd's listing
    ],
)
def test_latest_listing_day(now: datetime, expected: date) -> None:
    """The newest listing at any instant follows arXiv's Sunday–Thursday 20:00 Eastern announcements and holidays."""
    assert CAL.latest_listing_day(now) == expected


def test_latest_listing_day_gives_up_after_30_days() -> None:
    """With no announcement in the last 30 days there is no latest listing day."""
    closed = ArxivCalendar(holidays=frozenset(date(2024, 3, 1) + timedelta(days=n) for n in range(40)))
    assert closed.latest_listing_day(et(2024, 4, 1, 12, 0)) is None
    assert closed.latest_listing_day(et(2024, 4, 9, 20, 0)) == date(2024, 4, 10)


def test_is_listing_day() -> None:
    """Listing days are Monday to Friday except holidays."""
    assert [CAL.is_listing_day(date(2024, 12, d)) for d in range(21, 28)] == [
        False,
        False,
        True,
        True,
        False,
        True,
        True,  # Sat, Sun, Mon, Tue, Wed (holiday), Thu, Fri
    ]
    assert ArxivCalendar().holidays == DEFAULT_HOLIDAYS == frozenset()


def test_announcement_time_is_the_evening_before_in_eastern_time() -> None:
    """A listing day's announcement is the evening before at 20:00 Eastern, 00:00 UTC in summer and 01:00 in winter."""
    monday = CAL.announcement_time(date(2024, 3, 25))
    assert monday == et(2024, 3, 24, 20, 0) and monday.tzinfo is ET
    assert monday.time() == ANNOUNCE_TIME
    assert CAL.announcement_time(date(2024, 7, 1)) == utc(2024, 7, 1, 0, 0)
    assert CAL.announcement_time(date(2024, 1, 8)) == utc(2024, 1, 8, 1, 0)
    assert CAL.announcement_time(date(2025, 1, 1)) == utc(2025, 1, 1, 1, 0)


@pytest.mark.parametrize(
    ("now", "at", "tz", "expected"),
    [
        (utc(2024, 3, 24, 12, 0), time(9), "Asia/Shanghai", utc(2024, 3, 25, 1, 0)),
        # exactly at the time: strictly after means tomorrow
        (utc(2024, 3, 25, 1, 0), time(9), "Asia/Shanghai", utc(2024, 3, 26, 1, 0)),
        (utc(2024, 3, 25, 0, 59, 59), time(9), "Asia/Shanghai", utc(2024, 3, 25, 1, 0)),
        (utc(2024, 3, 25, 0, 0), time(8), "Europe/Berlin", utc(2024, 3, 25, 7, 0)),  # CET
        (utc(2024, 3, 25, 7, 0), time(8), "Europe/Berlin", utc(2024, 3, 26, 7, 0)),  # exactly at 08:00
        (utc(2024, 4, 1, 0, 0), time(8), "Europe/Berlin", utc(2024, 4, 1, 6, 0)),  # CEST
        # 02:30 does not exist in Berlin on 31 March 2024: the first valid time after it is 03:00 CEST
        (utc(2024, 3, 31, 0, 0), time(2, 30), "Europe/Berlin", utc(2024, 3, 31, 1, 0)),
        (utc(2024, 3, 31, 0, 0), time(2, 30, 30), "Europe/Berlin", utc(2024, 3, 31, 1, 0)),
        (utc(2024, 3, 30, 1, 30), time(2, 30), "Europe/Berlin", utc(2024, 3, 31, 1, 0)),  # 30th's has passed
        (utc(2024, 3, 31, 1, 0), time(2, 30), "Europe/Berlin", utc(2024, 4, 1, 0, 30)),  # exactly at it
        # 02:30 happens twice in Berlin on 27 October 2024: the first one counts
        (utc(2024, 10, 27, 0, 0), time(2, 30), "Europe/Berlin", utc(2024, 10, 27, 0, 30)),
        (utc(2024, 10, 27, 0, 30), time(2, 30), "Europe/Berlin", utc(2024, 10, 28, 1, 30)),  # not the repeat
    ],
)
def test_next_local_time(now: datetime, at: time, tz: str, expected: datetime) -> None:
    """A reader's next delivery is the next time their own wall clock shows their chosen time, across DST."""
    result = next_local_time(now, at, tz)
    assert result == expected and result.tzinfo is UTC


@pytest.mark.parametrize(
    "call",
    [
        CAL.latest_listing_day,
        lambda now: next_local_time(now, time(9), "Asia/Shanghai"),
    ],
    ids=["latest_listing_day", "next_local_time"],
)
def test_naive_time_is_refused(call: Callable[[datetime], object]) -> None:
    """A naive datetime is a programming error and is refused."""
    with pytest.raises(ValueError, match="aware"):
        call(datetime(2024, 3, 25, 9, 0))


def test_wall_clock_time_with_a_timezone_is_refused() -> None:
    """The wall-clock time is read in the given timezone, so one carrying its own tzinfo is refused."""
    with pytest.raises(ValueError, match="tzinfo"):
        next_local_time(utc(2024, 3, 25, 0, 0), time(9, tzinfo=UTC), "Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-12-25, 2025-01-01  2025-07-04", {date(2024, 12, 25), date(2025, 1, 1), date(2025, 7, 4)}),
        ("2024-12-25,2024-12-25\n2024-12-26,", {date(2024, 12, 25), date(2024, 12, 26)}),
        ("", set()),
        ("  , ", set()),
    ],
)
def test_parse_holidays(text: str, expected: set[date]) -> None:
    """Holidays are read from YYYY-MM-DD dates separated by commas or spaces."""
    assert parse_holidays(text) == frozenset(expected)


@pytest.mark.parametrize("bad", ["12/25", "2024-13-01", "2024-02-30", "20241225", "2024-W52-3", "tomorrow"])
def test_parse_holidays_names_the_bad_item(bad: str) -> None:
    """Anything but a real YYYY-MM-DD date is refused with a message naming it."""
    with pytest.raises(ValueError, match=f"holiday '{bad}' is not a date"):
        parse_holidays(f"2024-12-24, {bad}")


@given(NOWS, st.frozensets(st.integers(-10, 10), max_size=8))
def test_latest_listing_is_the_newest_announcement(now: datetime, offsets: frozenset[int]) -> None:
    """The latest listing day is a listing day, announced at or before now, with no announcement in between."""
    cal = ArxivCalendar(holidays=frozenset(now.date() + timedelta(days=n) for n in offsets))
    day = cal.latest_listing_day(now)
    assert day is not None and cal.is_listing_day(day)
    assert cal.announcement_time(day) <= now
    following = day + timedelta(days=1)
    while not cal.is_listing_day(following):
        following += timedelta(days=1)
    assert cal.announcement_time(following) > now


@given(NOWS, st.times(), st.sampled_from(ZONES))
def test_next_local_time_is_soon_and_after_now(now: datetime, at: time, tz: str) -> None:
    """The next delivery instant is after now, within a day and an hour, and the first one after now."""
    nxt = next_local_time(now, at, tz)
    assert now < nxt <= now + timedelta(hours=25)
    previous = next_local_time(nxt - timedelta(hours=26), at, tz)  # occurrences are 23 to 25 hours apart
    assert previous <= now < nxt
    shown = nxt.astimezone(ZoneInfo(tz)).time()
    assert shown >= at or shown < time(4), "the wall clock shows `at`, or the end of a DST gap just after it"
