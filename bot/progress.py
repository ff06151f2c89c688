"""Progress of long CLI work: a bar on a terminal, plain lines when not on one."""

from __future__ import annotations

from typing import TextIO

BAR_WIDTH = 30


class Progress:
    """Counts finished steps of a known total and shows them on a stream (normally stderr)."""

    def __init__(self, stream: TextIO, label: str, total: int = 0) -> None:
        self._stream = stream
        self._total = total
        self._label = label
        self._done = 0
        self._tty = stream.isatty()
        self._last_tenth = -1

    def start(self, total: int) -> None:
        """Set how many steps will follow."""
        self._total = total
        self._done = 0

    def step(self, note: str = "") -> None:
        """Count one finished step and show the new state."""
        self._done += 1
        if self._tty:
            filled = BAR_WIDTH * self._done // max(self._total, 1)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            end = "\n" if self._done >= self._total else ""
            self._stream.write(f"\r{self._label} [{bar}] {self._done}/{self._total}{end}")
        else:
            tenth = 10 * self._done // max(self._total, 1)
            if tenth != self._last_tenth or note:
                self._last_tenth = tenth
                suffix = f" ({note})" if note else ""
                self._stream.write(f"{self._label}: {self._done}/{self._total}{suffix}\n")
        self._stream.flush()
