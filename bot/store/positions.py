"""Positions of papers in a day's listing, packed into a short ASCII text (what `sent:{chat}` stores per day).

The positions are sorted and each is written as its gap to the one before, five bits per character (a sixth bit
says another character follows), in the URL-safe base64 alphabet: a digest of 20 papers from a listing of
2,000 takes about 40 characters, and a listing of any size fits. ASCII keeps the value readable by the
decode_responses client, and short values keep the hash in Redis' compact listpack encoding.
"""

from __future__ import annotations

from collections.abc import Iterable

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_VALUES = {char: value for value, char in enumerate(ALPHABET)}
_MORE = 32  # the bit saying the gap goes on in the next character
_BITS = 5


def pack_positions(positions: Iterable[int]) -> str:
    """The distinct positions (0 or more) as packed text; raises ValueError for a negative one."""
    chars: list[str] = []
    previous = -1
    for position in sorted(set(positions)):
        if position < 0:
            raise ValueError(f"a listing position cannot be negative: {position}")
        gap = position - previous - 1
        previous = position
        while gap >= _MORE:
            chars.append(ALPHABET[_MORE | (gap & (_MORE - 1))])
            gap >>= _BITS
        chars.append(ALPHABET[gap])
    return "".join(chars)


def unpack_positions(text: str) -> list[int]:
    """The sorted positions packed in `text`; raises ValueError for text pack_positions cannot have written."""
    positions: list[int] = []
    previous, gap, shift = -1, 0, 0
    for char in text:
        value = _VALUES.get(char)
        if value is None:
            raise ValueError(f"not a packed position list: {text[:40]!r}")
        gap |= (value & (_MORE - 1)) << shift
        if value & _MORE:
            shift += _BITS
            continue
        previous += gap + 1
        positions.append(previous)
        gap, shift = 0, 0
    if shift:
        raise ValueError(f"a packed position list ends mid-number: {text[:40]!r}")
    return positions
