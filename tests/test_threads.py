"""A thread that computes (a worker's matching and ranking) holds the event loop's sends up only briefly."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from bot.threads import favour_the_event_loop

TURNS = 10  # turns of the event loop a send takes from its rate-limit slot to the socket, about
PATHS = 100


@pytest.fixture
def switch_interval() -> Iterator[None]:
    """Restore the interpreter's switch interval after the test."""
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


def _compute(stop: threading.Event) -> None:
    """Pure Python arithmetic until told to stop, as matching a batch is."""
    total = 0
    while not stop.is_set():
        for number in range(2_000):
            total += number * number


async def _slowest_path() -> float:
    """The slowest of PATHS runs of TURNS event-loop turns while another thread computes, in seconds."""
    stop = threading.Event()
    computing = threading.Thread(target=_compute, args=(stop,))
    computing.start()
    slowest = 0.0
    try:
        for _ in range(PATHS):
            await asyncio.sleep(0.002)  # a send waiting for its slot
            started = time.perf_counter()
            for _ in range(TURNS):
                await asyncio.sleep(0)
            slowest = max(slowest, time.perf_counter() - started)
    finally:
        stop.set()
        computing.join()
    return slowest


@pytest.mark.usefixtures("switch_interval")
async def test_a_send_is_held_up_only_milliseconds_by_a_computing_thread() -> None:
    """Set up as `run` and `worker` are, ten event-loop turns take under 8 ms beside a computing thread (10+ if not)."""
    favour_the_event_loop()
    slowest = await _slowest_path()
    assert slowest < 0.008, f"{slowest * 1e3:.1f} ms"
