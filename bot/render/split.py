"""Pack whole pieces (papers, paragraphs) into as few messages as a platform's size limit allows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    """Length as Telegram and Discord count it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def utf16_prefix(text: str, units: int) -> str:
    """The longest start of `text` that is at most `units` UTF-16 code units long (never half a surrogate pair)."""
    if len(text) <= units // 2:
        return text
    return text.encode("utf-16-le")[: 2 * max(0, units)].decode("utf-16-le", errors="ignore")


def shorten(text: str, limit: int) -> str:
    """Cut text to fit `limit` UTF-16 units, at a space where possible, ending in an ellipsis; linear in its length."""
    if utf16_len(text) <= limit:
        return text
    cut = utf16_prefix(text, limit - utf16_len(ELLIPSIS))
    space = cut.rfind(" ", max(0, len(cut) - 40))
    return (cut[:space] if space > 0 else cut) + ELLIPSIS


def fit_escaped(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """Escape text for a markup, shortening it first so that the escaped form fits `limit`."""
    text = shorten(text, limit)  # escaping never makes text shorter: no need to escape more than fits
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
