"""The `arxiv-digest` entry point: the core's commands (bot/cli.py) plus `run`, `worker` and `chat`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from arxiv_digest.app import NO_TOKEN, run_bot, run_chat, run_worker
from bot.allocator import keep_freed_memory
from bot.cli import COMMANDS, TRANSLATIONS_OFF, note
from bot.cli import main as run_command
from bot.config import Settings
from bot.runtime import open_runtime


async def serve(args: argparse.Namespace, settings: Settings) -> int:
    """`run` and `worker`: the chat bot on every configured platform (or only the workers), until Ctrl-C or SIGTERM."""
    if not (settings.telegram_bot_token or settings.discord_bot_token):
        note(NO_TOKEN)
        return 1
    if settings.llm is None:
        note(TRANSLATIONS_OFF)
    keep_freed_memory()  # a long-running process: reuse the memory of each batch's arrays (bot/allocator.py)
    async with open_runtime(settings) as runtime:
        await (run_worker if args.command == "worker" else run_bot)(runtime)
    return 0


async def chat(args: argparse.Namespace, settings: Settings) -> int:
    """`chat`: the bot's commands in this terminal."""
    async with open_runtime(settings) as runtime:
        await run_chat(runtime)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `arxiv-digest` and `python -m arxiv_digest`; returns the exit status."""
    return run_command(argv, {**COMMANDS, "run": serve, "worker": serve, "chat": chat})
