"""arXiv's announcement calendar and local delivery times, as one table of cases plus properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.calendar import ArxivCalendar, next_local_time, parse_holidays

ET = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOLIDAY = date(2024, 12, 25)  # a Wednesday listing day arXiv skipped
CAL = ArxivCalendar(holidays=frozenset({HOLIDAY}))


def et(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """An instant given in US Eastern time."""
    return datetime(y, m, d, hh, mm, tzinfo=ET)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (et(2024, 3, 24, 19, 59), date(2024, 3, 22)),  # Sunday just before the announcement: Friday's listing
        (et(2024, 3, 24, 20, 0), date(2024, 3, 25)),  # Sunday 20:00: Monday's listing
        (datetime(2024, 3, 25, 9, 0, tzinfo=SHANGHAI), date(2024, 3, 25)),  # Monday morning in Shanghai
        (et(2024, 3, 28, 20, 30), date(2024, 3, 29)),  # Thursday evening: Friday's listing
        (et(2024, 3, 29, 20, 30), date(2024, 3, 29)),  # Friday evening: no announcement
        (et(2024, 3, 30, 21, 0), date(2024, 3, 29)),  # Saturday evening: none either
        (et(2024, 3, 31, 19, 0), date(2024, 3, 29)),  # Sunday before 20:00: still Friday's
        (et(2024, 12, 24, 20, 30), date(2024, 12, 24)),  # the holiday's announcement does not happen
        (et(2024, 12, 25, 20, 30), date(2024, 12, 26)),
        (et(2024, 11, 3, 20, 0), date(2024, 11, 4)),  # the day US clocks go back: 20:00 EST = 01:00 UTC
        (datetime(2024, 11, 4, 0, 59, tzinfo=UTC), date(2024, 11, 1)),
        (datetime(2024, 11, 4, 1, 0, tzinfo=UTC), date(2024, 11, 4)),
        (datetime(2024, 7, 1, 0, 0, tzinfo=UTC), date(2024, 7, 1)),  # summer: 20:00 EDT = 00:00 UTC
        (et(2025, 1, 1, 20, 0), date(2025, 1, 2)),  # across the year boundary
        (et(2025, 1, 4, 12, 0), date(2025, 1, 3)),
    ],
)
def test_latest_listing_day(now: datetime, expected: date) -> None:
    """The newest listing at any instant follows arXiv's Sunday–Thursday 20:00 Eastern announcements and holidays."""
    assert CAL.latest_listing_day(now) == expected


def test_next_listing_day_skips_weekends_and_holidays() -> None:
    """After Thursday's announcement the next one is Sunday's (Monday's listing); a holiday is skipped."""
    assert CAL.next_listing_day(et(2024, 3, 28, 21, 0)) == date(2024, 4, 1)
    assert CAL.next_listing_day(et(2024, 12, 23, 19, 59)) == date(2024, 12, 24)
    assert CAL.next_listing_day(et(2024, 12, 23, 20, 0)) == date(2024, 12, 26), "strictly after now"
    assert CAL.next_listing_day(et(2024, 12, 24, 12, 0)) == date(2024, 12, 26), "the 25th is a holiday"


def test_listing_days_between() -> None:
    """Listing days in a range leave out weekends and holidays."""
    days = CAL.listing_days_between(date(2024, 12, 20), date(2024, 12, 30))
    assert days == [date(2024, 12, 23), date(2024, 12, 24), date(2024, 12, 26), date(2024, 12, 27),
                    date(2024, 12, 30)]


@pytest.mark.parametrize(
    ("now", "at", "tz", "expected"),
    [
        (datetime(2024, 3, 24, 12, 0, tzinfo=UTC), time(9), "Asia/Shanghai", datetime(2024, 3, 25, 1, 0, tzinfo=UTC)),
        (datetime(2024, 3, 25, 1, 0, tzinfo=UTC), time(9), "Asia/Shanghai", datetime(2024, 3, 26, 1, 0, tzinfo=UTC)),
        (datetime(2024, 3, 25, 0, 0, tzinfo=UTC), time(8), "Europe/Berlin", datetime(2024, 3, 25, 7, 0, tzinfo=UTC)),
        (datetime(2024, 4, 1, 0, 0, tzinfo=UTC), time(8), "Europe/Berlin", datetime(2024, 4, 1, 6, 0, tzinfo=UTC)),
        # 02:30 does not exist in Berlin on 31 March 2024: the first valid time after it is 03:00 CEST
        (datetime(2024, 3, 31, 0, 0, tzinfo=UTC), time(2, 30), "Europe/Berlin",
         datetime(2024, 3, 31, 1, 0, tzinfo=UTC)),
        # 02:30 happens twice in Berlin on 27 October 2024: the first one counts
        (datetime(2024, 10, 27, 0, 0, tzinfo=UTC), time(2, 30), "Europe/Berlin",
         datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),
    ],
)
def test_next_local_time(now: datetime, at: time, tz: str, expected: datetime) -> None:
    """A reader's next delivery is the next time their own wall clock shows their chosen time, across DST."""
    assert next_local_time(now, at, tz) == expected


def test_naive_time_is_refused() -> None:
    """A naive datetime is a programming error and is refused."""
    with pytest.raises(ValueError, match="aware"):
        CAL.latest_listing_day(datetime(2024, 3, 25, 9, 0))


def test_parse_holidays() -> None:
    """Holidays are read from dates separated by commas or spaces; a bad one is named."""
    assert parse_holidays("2024-12-25, 2025-01-01  2025-07-04") == {date(2024, 12, 25), date(2025, 1, 1),
                                                                      date(2025, 7, 4)}
    assert parse_holidays("") == frozenset()
    with pytest.raises(ValueError, match="12/25"):
        parse_holidays("2024-12-24,12/25")


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)))
def test_latest_listing_is_the_newest_announcement(now: datetime) -> None:
    """The latest listing day is a listing day, announced at or before now, with no announcement in between."""
    day = CAL.latest_listing_day(now)
    assert day is not None and CAL.is_listing_day(day)
    assert CAL.announcement_time(day) <= now
    assert CAL.announcement_time(CAL.next_listing_day(CAL.announcement_time(day))) > now
    assert CAL.next_listing_day(now) > day


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
       st.times(), st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Sydney"]))
def test_next_local_time_is_soon_and_after_now(now: datetime, at: time, tz: str) -> None:
    """The next delivery instant is after now and within a day and an hour (DST can stretch a day)."""
    nxt = next_local_time(now, at, tz)
    assert now < nxt <= now + timedelta(hours=25)
