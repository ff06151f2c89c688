"""A terminal chat over the same commands: try the bot with no token (`arxiv-digest chat`)."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.render.text import digest_text, paper_text
from bot.subscribers import ChatRef
from handlers.commands import Commands, Incoming
from handlers.replies import FileReply, Reply, render_with

CONSOLE_CHAT = ChatRef("console", "local")
PROMPT = "> "
GREETING = "arxiv-digest chat — type /help for the commands, Ctrl-D to leave."


def reply_text(reply: Reply) -> str:
    """A platform-neutral reply as plain text."""
    return render_with(reply, paper_text, digest_text, lambda text: text, file_text)


def file_text(reply: FileReply) -> str:
    """A document as the terminal shows it: its caption and name, then its text."""
    return f"{reply.caption}\n--- {reply.filename} ---\n{reply.data.decode()}"


async def run_console(commands: Commands, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """Read commands line by line until end of input, printing each reply."""
    interactive = stdin.isatty()

    async def show(replies: list[Reply]) -> None:
        """Print replies (the interim "working on it" one too, as soon as it comes)."""
        for reply in replies:
            print(reply_text(reply), file=stdout, end="\n\n")
        stdout.flush()

    if interactive:
        print(GREETING, file=stdout)
    while True:
        if interactive:
            stdout.write(PROMPT)
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        if not line.strip():
            continue
        await show(await commands.handle(Incoming(CONSOLE_CHAT, "local", line.strip()), show))
