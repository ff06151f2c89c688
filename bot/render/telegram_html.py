"""Digests and papers as Telegram messages in HTML parse mode, split to Telegram's 4096-character limit."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from html import escape

from bot.models import Digest, DigestItem
from bot.render.fields import RATINGS, SummaryEntry, detail_parts, rating_data, summary_entry
from bot.render.split import fit_escaped, pack

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
ENTITY_LIMIT = 100  # Telegram renders only about 100 entities a message; a digest entry has 2+ (so ≤ 50 buttons)
TITLE_LIMIT = 300
LINE_LIMIT = 600
PIECE_LIMIT = MESSAGE_LIMIT - 100  # room for the tags around a piece
_TAG_RE = re.compile(r"<[^>]*>")
# Where Telegram may find an entity in plain text by itself: a link, mention or e-mail, hashtag, cashtag, command.
_FOUND_ENTITY_RE = re.compile(r"://|www\.|@\w|(?<![\w#])#\w|(?<![\w$])\$[A-Za-z]|(?<![\w/])/\w")


@dataclass(frozen=True)
class ChatMessage:
    """One message to send: its HTML text, the papers its buttons open, other buttons, and maybe a document.

    `buttons` are (label, paper id) pairs; `actions` are (label, callback data) pairs such as 👍/👎; a
    `document` is (file name, bytes), captioned by the text.
    """

    html: str
    buttons: tuple[tuple[str, str], ...] = ()
    actions: tuple[tuple[str, str], ...] = ()
    document: tuple[str, bytes] | None = None


def fit(text: str, limit: int) -> str:
    """Escape text for HTML, shortening it first so that the escaped form fits `limit`."""
    return fit_escaped(text, limit, escape)


def entity_count(html: str) -> int:
    """At most how many entities Telegram makes of this HTML: one per tag, plus those it finds in the text."""
    return html.count("</") + len(_FOUND_ENTITY_RE.findall(_TAG_RE.sub(" ", html)))


def pack_messages(pieces: list[str]) -> list[list[int]]:
    """Group pieces into messages within Telegram's length and, as far as whole pieces allow, its entity limit."""
    groups: list[list[int]] = []
    for group in pack(pieces, MESSAGE_LIMIT):
        groups.append([])
        entities = 0
        for index in group:
            count = entity_count(pieces[index])
            if groups[-1] and entities + count > ENTITY_LIMIT:
                groups.append([])
                entities = 0
            groups[-1].append(index)
            entities += count
    return groups


def entry_html(entry: SummaryEntry) -> str:
    """One paper of a digest: bold number, linked title, optional English title, summaries."""
    parts = [f'<b>{entry.number}.</b> <a href="{escape(entry.url)}">{fit(entry.heading, TITLE_LIMIT)}</a>']
    if entry.subtitle:
        parts.append(f"<i>{fit(entry.subtitle, TITLE_LIMIT)}</i>")
    parts.extend(fit(line, LINE_LIMIT) for line in entry.lines)
    return "\n".join(parts)


def digest_messages(digest: Digest, lang: str, header: str) -> list[ChatMessage]:
    """The digest's summary part in as few messages as fit, each with a button per paper it lists."""
    entries = [summary_entry(n, item, lang) for n, item in enumerate(digest.items, 1)]
    head = f"<b>{fit(header, PIECE_LIMIT)}</b>" + (f"\n<i>{fit(digest.lead, LINE_LIMIT)}</i>" if digest.lead else "")
    pieces = [head] + [entry_html(e) for e in entries] + ([fit(digest.footer, LINE_LIMIT)] if digest.footer else [])
    messages = []
    for group in pack_messages(pieces):
        html = "\n\n".join(pieces[i] for i in group)
        buttons = tuple((str(entries[i - 1].number), entries[i - 1].paper_id) for i in group if 0 < i <= len(entries))
        messages.append(ChatMessage(html, buttons))
    return messages


def paper_messages(item: DigestItem) -> list[ChatMessage]:
    """A paper's full bilingual abstract, split between paragraphs if it exceeds one message."""
    title_zh, title, tldr_zh, tldr_en, abstract_zh, abstract = detail_parts(item)
    paper = item.paper
    head = f"<b>{fit(title_zh, TITLE_LIMIT)}</b>\n<i>{fit(title, TITLE_LIMIT)}</i>\n" + (
        f'<a href="{escape(paper.abs_url)}">arXiv:{escape(paper.versioned_id)}</a>'
    )
    if paper.authors:
        head += " · " + fit(", ".join(paper.authors), TITLE_LIMIT)
    pieces = [head, fit(tldr_zh, PIECE_LIMIT)]
    if tldr_en:
        pieces.append(f"<i>{fit(tldr_en, PIECE_LIMIT)}</i>")
    pieces += [fit(abstract_zh, PIECE_LIMIT), fit(abstract, PIECE_LIMIT)]
    pieces = [p for p in pieces if p]
    messages = [ChatMessage("\n\n".join(pieces[i] for i in group)) for group in pack_messages(pieces)]
    rate = tuple((label, rating_data(command, paper.arxiv_id)) for label, command in RATINGS)
    return [*messages[:-1], replace(messages[-1], actions=rate)]  # 👍/👎 under the end of the abstract


def text_messages(text: str) -> list[ChatMessage]:
    """Plain text, escaped, split between paragraphs when it is too long."""
    pieces = [fit(p, PIECE_LIMIT) for p in text.split("\n\n") if p.strip()] or [escape(text.strip() or "…")]
    return [ChatMessage("\n\n".join(pieces[i] for i in group)) for group in pack_messages(pieces)]


def document_messages(filename: str, data: bytes, caption: str) -> list[ChatMessage]:
    """A file to send as a document, with its caption (Telegram allows 1024 characters)."""
    return [ChatMessage(fit(caption, CAPTION_LIMIT), document=(filename, data))]
