"""Words: the one notion of "word" shared by parsing, the reference matcher and the compiled matcher."""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Text folded for comparison: compatibility forms, lower case, accents removed (`Schölkopf` -> `scholkopf`)."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> tuple[str, ...]:
    """The folded words of a text: maximal runs of letters and digits (`GAN-based (GANs)` -> gan, based, gans)."""
    return tuple(WORD.findall(fold(text)))
