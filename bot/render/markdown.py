"""The Markdown digest, in the seed layout byte for byte: a summary table, then one footnote block per paper."""

from __future__ import annotations

from collections.abc import Iterable

from bot.models import Digest, DigestItem
from bot.render.fields import ItemText, one_line, short_title

INDENT = "    "
TABLE_HEAD = "# 摘要\n\n| Ref | Title | Summary |\n| --- | --- | --- |\n"
DETAIL_HEAD = "# 详细\n\n"
_CELL_ESCAPES = str.maketrans({"|": "\\|", "[": "\\[", "]": "\\]"})


def table_cell(text: str) -> str:
    """Make text safe inside a table cell or link text: one line, with `|`, `[` and `]` escaped."""
    return one_line(text).translate(_CELL_ESCAPES)


def indented(text: str) -> str:
    """Indent every line of a paragraph by four spaces so it stays inside its footnote."""
    return "\n".join(INDENT + line if line.strip() else INDENT for line in text.split("\n"))


def table_row(ref: int, text: ItemText) -> str:
    """One row of the summary table: reference, linked short title, Chinese summary."""
    summary = text.tldr_zh if text.translated else (text.tldr_en or text.tldr_zh)
    return f"| [^{ref}] | [{table_cell(short_title(text.title))}]({text.url}) | {table_cell(summary)} |\n"


def detail_block(ref: int, item: DigestItem) -> str:
    """One footnote block: Chinese title, English title, link, both summaries, both abstracts."""
    text = ItemText.of(item)
    lines = [
        f"[^{ref}]: {one_line(text.title_zh)}",
        indented(one_line(text.title)),
        indented(f"[{text.url}]({text.url})"),
        indented(one_line(text.tldr_zh)),
        indented(one_line(text.tldr_en)),
        indented(text.abstract_zh),
        indented(text.abstract) + "\n" + INDENT,
    ]
    return "\n\n".join(lines) + "\n"


def render_items(items: Iterable[DigestItem]) -> str:
    """Render items as a full digest: summary table, then the detail blocks, ending with one blank line."""
    items = list(items)
    rows = "".join(table_row(n, ItemText.of(item)) for n, item in enumerate(items, 1))
    blocks = "".join(detail_block(n, item) for n, item in enumerate(items, 1))
    return f"{TABLE_HEAD}{rows}\n{DETAIL_HEAD}{blocks}\n"


def render_digest(digest: Digest) -> str:
    """Render a digest in the seed Markdown layout."""
    return render_items(digest.items)


def render_paper(item: DigestItem) -> str:
    """Render one paper's full bilingual abstract: the seed's detail block on its own."""
    return detail_block(1, item)
