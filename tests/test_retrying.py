"""The retry policy shared by the arXiv client and the translator: Retry-After and the backoff."""

from __future__ import annotations

import httpx
import pytest

from bot.retrying import RetryPolicy, retry_after


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        ("0.5", 0.5),
        ("100000", 300.0),
        ("-1", None),
        ("inf", None),
        ("nan", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        (None, None),
    ],
)
def test_retry_after_is_read_in_seconds_and_capped(header: str | None, seconds: float | None) -> None:
    """A numeric Retry-After is obeyed up to 300 s; anything else leaves the pause to the backoff."""
    headers = {"Retry-After": header} if header is not None else {}
    assert retry_after(httpx.Response(429, headers=headers)) == seconds


def test_backoff_doubles_up_to_the_cap_unless_the_server_says_when() -> None:
    """Pauses double from the base to 30 s at most; a server's Retry-After replaces the pause."""
    policy = RetryPolicy(max_attempts=8, base=1.0)
    assert [policy.delay(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert policy.delay(3, retry_after=7.0) == 7.0
