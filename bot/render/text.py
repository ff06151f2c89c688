"""Digests and papers as plain text, for the terminal chat."""

from __future__ import annotations

from bot.models import Digest, DigestItem
from bot.render.fields import detail_parts, summary_entry

INDENT = "   "


def digest_text(digest: Digest, lang: str, header: str) -> str:
    """The digest's summary part: header, then numbered titles with link and summaries."""
    blocks = [header + (f"\n{digest.lead}" if digest.lead else "")]
    for n, item in enumerate(digest.items, 1):
        entry = summary_entry(n, item, lang)
        lines = [f"{entry.number}. {entry.heading}"]
        if entry.subtitle:
            lines.append(INDENT + entry.subtitle)
        lines.append(INDENT + entry.url)
        lines.extend(INDENT + line for line in entry.lines)
        blocks.append("\n".join(lines))
    if digest.footer:
        blocks.append(digest.footer)
    blocks.append("/paper <id> 查看全文 · for the full abstract")
    return "\n\n".join(blocks)


def paper_text(item: DigestItem) -> str:
    """A paper's full bilingual abstract as plain text."""
    title_zh, title, tldr_zh, tldr_en, abstract_zh, abstract = detail_parts(item)
    head = f"{title_zh}\n{title}\n{item.paper.abs_url}"
    return "\n\n".join(p for p in (head, tldr_zh, tldr_en, abstract_zh, abstract) if p)
