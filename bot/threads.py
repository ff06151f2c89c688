"""Keep the event loop on time while a helper thread computes: hand the interpreter over to it quickly.

A worker matches and ranks each batch in a thread (`asyncio.to_thread`) while its event loop sends. Only one thread
runs Python at a time; a thread that wants to run waits until the running one lets go, after at most the switch
interval (5 ms by default). A send passes through several turns of the event loop between its rate-limit slot and
the socket, and each turn may wait that long: ten turns beside a computing thread took 10-30 ms here, a good part
of the limiter's 50 ms margin for lateness (bot/store/limiter.py). A shorter interval bounds each wait.
"""

from __future__ import annotations

import sys

SWITCH_SECONDS = 0.0005  # the longest a thread waits for another to let it run Python


def favour_the_event_loop() -> None:
    """Make a computing thread let the event loop run within SWITCH_SECONDS of its asking (process-wide)."""
    sys.setswitchinterval(SWITCH_SECONDS)
