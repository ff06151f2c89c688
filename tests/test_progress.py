"""Progress of long CLI work: a bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from bot.progress import Progress


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        """Pretend to be a terminal."""
        return True


def test_terminal_gets_a_redrawn_bar() -> None:
    """On a terminal progress redraws one bar in place and ends with a newline."""
    out = Terminal()
    progress = Progress(out, "translating")
    progress.start(4)
    for _ in range(4):
        progress.step()
    text = out.getvalue()
    assert text.count("\r") == 4 and text.endswith("4/4\n")
    assert "[" + "#" * 30 + "]" in text


def test_pipes_get_a_few_plain_lines() -> None:
    """Not on a terminal, progress is plain lines, about one per tenth, plus every failure."""
    out = io.StringIO()
    progress = Progress(out, "translating")
    progress.start(300)
    for n in range(300):
        progress.step("2401.00001 failed: timeout" if n == 5 else "")
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert 10 <= len(lines) <= 12
    assert "translating: 300/300" in lines
    assert any("failed: timeout" in line for line in lines)
