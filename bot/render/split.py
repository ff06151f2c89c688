"""Pack whole pieces (papers, paragraphs) into as few messages as a platform's size limit allows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    """Length as Telegram and Discord count it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int, measure: Callable[[str], int] = utf16_len) -> str:
    """Cut text to fit `limit`, at a space where possible, ending in an ellipsis."""
    if measure(text) <= limit:
        return text
    cut = text
    while cut and measure(cut + ELLIPSIS) > limit:
        cut = cut[: max(0, min(len(cut) - 1, limit - 1))]
        space = cut.rfind(" ", max(0, len(cut) - 40))
        cut = cut[:space] if space > 0 else cut
    return cut + ELLIPSIS


def fit_escaped(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """Escape text for a markup, shortening it first so that the escaped form fits `limit`."""
    while True:
        escaped = escape(text)
        if utf16_len(escaped) <= limit:
            return escaped
        text = shorten(text, max(1, utf16_len(text) * 9 // 10))


def pack(
    pieces: Sequence[str],
    limit: int,
    *,
    sep: str = "\n\n",
    max_pieces: int | None = None,
    measure: Callable[[str], int] = utf16_len,
) -> list[list[int]]:
    """Group piece indices into messages of at most `limit` units; a piece is never split between messages."""
    groups: list[list[int]] = []
    size = 0
    for index, piece in enumerate(pieces):
        length = measure(piece)
        if length > limit:
            raise ValueError(f"piece {index} is longer than the limit; shorten it first")
        full = bool(groups) and (
            size + measure(sep) + length > limit or (max_pieces is not None and len(groups[-1]) >= max_pieces)
        )
        if not groups or full:
            groups.append([index])
            size = length
        else:
            groups[-1].append(index)
            size += measure(sep) + length
    return groups
