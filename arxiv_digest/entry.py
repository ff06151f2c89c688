"""The `arxiv-digest` console script's target, light to import on purpose.

multiprocessing's spawn re-runs the console script in every process it starts (the fetch's matching process,
bot/delivery/matching.py), and the script imports this module before anything else: were it the bot's real
entry point, each such process would first import Telegram, Discord and the whole bot (about 1 s and 50 MiB).
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run `arxiv-digest` (arxiv_digest.main), imported only now; returns the exit status."""
    from arxiv_digest.main import main as run

    return run(argv)
