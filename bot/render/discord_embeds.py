"""Digests and papers as Discord messages with embeds and buttons, within every Discord limit (no discord import)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from bot.models import Digest, DigestItem
from bot.render.fields import RATINGS, SummaryEntry, detail_parts, rating_data, summary_entry
from bot.render.split import ELLIPSIS, fit_escaped, pack, utf16_len

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELDS_PER_EMBED = 25
EMBEDS_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
BUTTONS_PER_ROW = 5
BUTTON_LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
FOOTER_LIMIT = 300  # of Discord's 2048, kept small so the fields' share of the 6000 total stays as it was

BUTTON_PREFIX = "paper:"
BUTTON_TEXT = "中文全文 / Full abstract"
COLOUR = 0xB31B1B  # arXiv's red
LINE_LIMIT = 400  # a summary line inside a field, lowered when the field's 1024 characters are shared
LINK_LIMIT = 200
PIECE_LIMIT = DESCRIPTION_LIMIT - 96
_INLINE = re.compile(r"([\\*_~|`\[\]<@])")  # emphasis, spoilers, code, links, mentions
_LINE_START = re.compile(r"^(\s*)(?:([#>+\-])|(\d+)\.)", re.MULTILINE)  # headings, quotes, lists
BUTTON_PAPER = re.compile(r"[A-Za-z0-9./_-]{1,94}")  # ids a custom_id can carry (arXiv's, old and new)
BUTTON_TEMPLATE = f"{BUTTON_PREFIX}(?P<paper>{BUTTON_PAPER.pattern})"  # the custom_id of any paper button
_UNSAFE_URL = re.compile(r"[\s()<>\[\]]")


@dataclass(frozen=True)
class Field:
    """One embed field: a paper's numbered heading and its summary."""

    name: str
    value: str


@dataclass(frozen=True)
class Embed:
    """An embed as plain data; the adapter turns it into a discord.Embed."""

    title: str = ""
    url: str = ""
    description: str = ""
    fields: tuple[Field, ...] = ()
    colour: int = COLOUR
    footer: str = ""

    @property
    def text(self) -> str:
        """Every string Discord counts toward a message's 6000-character embed total, concatenated."""
        return self.title + self.description + "".join(f.name + f.value for f in self.fields) + self.footer


@dataclass(frozen=True)
class Button:
    """A button opening one paper's bilingual abstract; its custom_id carries the paper id."""

    label: str
    custom_id: str


@dataclass(frozen=True)
class DiscordMessage:
    """One message to send: text content, embeds, buttons (five to a row), and maybe a file (name, bytes)."""

    content: str = ""
    embeds: tuple[Embed, ...] = ()
    buttons: tuple[Button, ...] = ()
    file: tuple[str, bytes] | None = None


def escape(text: str) -> str:
    """Escape Discord markdown, mentions and emoji codes so the text shows verbatim."""
    text = _INLINE.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: m[1] + ("\\" + m[2] if m[2] else m[3] + "\\."), text)


def fit(text: str, limit: int) -> str:
    """Escape text for Discord, shortening it first so that the escaped form fits `limit`."""
    return fit_escaped(text, limit, escape)


def button_id(paper_id: str) -> str:
    """The custom_id of a paper's button (Discord allows 100 characters)."""
    return (BUTTON_PREFIX + paper_id)[:CUSTOM_ID_LIMIT]


def paper_of(custom_id: str) -> str | None:
    """The paper id a button's custom_id carries, or None for other components."""
    if not custom_id.startswith(BUTTON_PREFIX):
        return None
    return custom_id.removeprefix(BUTTON_PREFIX) or None


def safe_url(url: str, paper_id: str) -> str:
    """A URL usable in a markdown link; arXiv's own page when the given one is odd or too long."""
    if url.startswith(("https://", "http://")) and not _UNSAFE_URL.search(url) and len(url) <= LINK_LIMIT:
        return url
    return "https://arxiv.org/abs/" + re.sub(r"[^A-Za-z0-9./-]", "", paper_id)[:64]


def entry_field(entry: SummaryEntry) -> Field:
    """One paper of a digest as an embed field: number and title as its name; subtitle, summaries, link below."""
    link = f"[{fit('arXiv:' + entry.paper_id, 80)}]({safe_url(entry.url, entry.paper_id)})"
    texts = [entry.subtitle, *entry.lines] if entry.subtitle else list(entry.lines)
    budget = (FIELD_VALUE_LIMIT - utf16_len(link) - len(texts) - 2) // max(1, len(texts))
    lines = [fit(text, min(LINE_LIMIT, budget)) for text in texts]
    if entry.subtitle:
        lines[0] = f"*{lines[0]}*"
    prefix = f"{entry.number}. "
    name = prefix + fit(entry.heading, FIELD_NAME_LIMIT - len(prefix))
    return Field(name, "\n".join([*lines, link]))


def _buttons(entries: Iterable[SummaryEntry]) -> tuple[Button, ...]:
    """One button per paper, skipping ids a custom_id cannot carry and repeats (custom_ids must be unique)."""
    buttons: dict[str, Button] = {}
    for entry in entries:
        custom_id = button_id(entry.paper_id)
        if BUTTON_PAPER.fullmatch(entry.paper_id) and custom_id not in buttons:
            buttons[custom_id] = Button(f"{entry.number} · {BUTTON_TEXT}"[:BUTTON_LABEL_LIMIT], custom_id)
    return tuple(buttons.values())


def digest_messages(digest: Digest, lang: str, header: str) -> list[DiscordMessage]:
    """The digest in as few messages as fit: header as the first content, one field and one button per paper."""
    entries = [summary_entry(n, item, lang) for n, item in enumerate(digest.items, 1)]
    fields = [entry_field(e) for e in entries]
    room = EMBEDS_TOTAL_LIMIT - (FOOTER_LIMIT if digest.footer else 0)
    groups = pack([f.name + f.value for f in fields], room, sep="", max_pieces=FIELDS_PER_EMBED)
    head = fit((header + (f"\n{digest.lead}" if digest.lead else "")).strip(), CONTENT_LIMIT - 4)
    first, *rest = head.split("\n", 1)
    content = (f"**{first}**" + (f"\n{rest[0]}" if rest else "") if first.strip() else head) or ELLIPSIS
    messages = []
    for number, group in enumerate(groups or [[]]):
        last = number == len(groups) - 1  # the how-many-more line goes under the last embed (fits: fields < 6000)
        footer = digest.footer[:FOOTER_LIMIT] if last else ""
        embeds = (Embed(fields=tuple(fields[i] for i in group), footer=footer),) if group else ()
        messages.append(DiscordMessage(content if number == 0 else "", embeds, _buttons(entries[i] for i in group)))
    return messages


def _embeds_messages(embeds: list[Embed]) -> list[DiscordMessage]:
    """Group embeds into messages of at most 10 embeds and 6000 counted characters."""
    groups = pack([e.text for e in embeds], EMBEDS_TOTAL_LIMIT, sep="", max_pieces=EMBEDS_PER_MESSAGE)
    return [DiscordMessage(embeds=tuple(embeds[i] for i in group)) for group in groups]


def paper_messages(item: DigestItem) -> list[DiscordMessage]:
    """A paper's full bilingual abstract: titled embeds whose descriptions are split between paragraphs."""
    title_zh, title, tldr_zh, tldr_en, abstract_zh, abstract = detail_parts(item)
    paper = item.paper
    link = f"[arXiv:{fit(paper.versioned_id, 80)}]({safe_url(paper.abs_url, paper.versioned_id)})"
    head = f"*{fit(title, TITLE_LIMIT)}*\n{link}" if title else link
    if paper.authors:
        head += " · " + fit(", ".join(paper.authors), TITLE_LIMIT)
    pieces = [head, fit(tldr_zh, PIECE_LIMIT)]
    if tldr_en:
        pieces.append(f"*{fit(tldr_en, PIECE_LIMIT)}*")
    pieces += [fit(abstract_zh, PIECE_LIMIT), fit(abstract, PIECE_LIMIT)]
    pieces = [p for p in pieces if p]
    descriptions = ["\n\n".join(pieces[i] for i in group) for group in pack(pieces, DESCRIPTION_LIMIT)]
    heading = fit(title_zh or title or paper.versioned_id, TITLE_LIMIT)
    url = safe_url(paper.abs_url, paper.versioned_id)
    embeds = [
        Embed(title=heading if n == 0 else "", url=url if n == 0 else "", description=text)
        for n, text in enumerate(descriptions)
    ]
    messages = _embeds_messages(embeds)
    if BUTTON_PAPER.fullmatch(paper.arxiv_id):  # 👍/👎 under the end of the abstract
        rate = tuple(Button(label, rating_data(command, paper.arxiv_id)) for label, command in RATINGS)
        messages[-1] = replace(messages[-1], buttons=rate)
    return messages


def file_messages(filename: str, data: bytes, caption: str) -> list[DiscordMessage]:
    """A file to send as an attachment, with its caption as the message's text."""
    return [DiscordMessage(fit(caption, CONTENT_LIMIT - 100), file=(filename, data))]


def text_messages(text: str) -> list[DiscordMessage]:
    """Plain text, escaped, split between paragraphs when it exceeds 2000 characters."""
    limit = CONTENT_LIMIT - 100
    pieces = [fit(p, limit) for p in text.split("\n\n") if p.strip()] or [escape(text.strip() or "…")]
    return [DiscordMessage("\n\n".join(pieces[i] for i in group)) for group in pack(pieces, CONTENT_LIMIT)]
