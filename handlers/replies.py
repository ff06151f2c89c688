"""What a command answers, independent of any chat platform; each adapter renders these its own way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.models import Digest, DigestItem
from bot.subscribers import Lang


@dataclass(frozen=True)
class TextReply:
    """Plain text (adapters escape it for their markup); `error` marks a refusal or an input error."""

    text: str
    error: bool = False  # in a Discord server only the user who typed sees it


@dataclass(frozen=True)
class PaperReply:
    """One paper's full bilingual abstract."""

    item: DigestItem


@dataclass(frozen=True)
class DigestReply:
    """A digest's summary part: numbered titles linking to arXiv and one-line summaries, with buttons."""

    digest: Digest
    lang: Lang
    header: str


@dataclass(frozen=True)
class FileReply:
    """A document to send (the digest as a Markdown file), with a one-line caption."""

    filename: str
    data: bytes
    caption: str


Reply = TextReply | PaperReply | DigestReply | FileReply

Out = TypeVar("Out")


def render_with(
    reply: Reply,
    paper: Callable[[DigestItem], Out],
    digest: Callable[[Digest, str, str], Out],
    text: Callable[[str], Out],
    file: Callable[[FileReply], Out] | None = None,
) -> Out:
    """Render a reply with one platform's renderer for each kind of reply (a file as its caption, if no `file`)."""
    if isinstance(reply, FileReply):
        return file(reply) if file is not None else text(reply.caption)
    if isinstance(reply, PaperReply):
        return paper(reply.item)
    if isinstance(reply, DigestReply):
        return digest(reply.digest, reply.lang.value, reply.header)
    return text(reply.text)
