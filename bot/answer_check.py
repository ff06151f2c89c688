"""Is an LLM's answer a translation of this paper? Checks on the text of each field, before anything is cached.

A translation is refused (TranslationError naming the field) when a field
- holds control characters (NUL, ESC, ...; newlines and tabs are fine) or nothing visible (zero-width only);
- is longer than MAX_RATIO times its English source plus SLACK characters, or than MAX_FIELD_CHARS;
- links to a URL, or carries an HTML tag, that the English title and abstract do not have;
- is a Chinese field without Chinese: CJK characters must make up at least MIN_CJK_SHARE of its letters,
  not counting words copied from the English (names, methods and datasets the prompt asks to keep).
"""

from __future__ import annotations

import re
import unicodedata

from bot.errors import TranslationError
from bot.models import Paper, Translation

MAX_RATIO = 3
SLACK = 200
MAX_FIELD_CHARS = 20_000
MIN_CJK_SHARE = 0.25
ALLOWED_CONTROLS = frozenset("\n\t")
CHINESE_FIELDS = ("title_zh", "tldr_zh", "abstract_zh")

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
WORD = re.compile(r"[^\W\d_]+")
URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#@!$&*+,;=%]+", re.IGNORECASE)
TAG = re.compile(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9-]*)[^<>]*>")
TRAILING_PUNCTUATION = ".,;:!?。，；：！？"


def _urls(text: str) -> set[str]:
    """The URLs in a text, without trailing punctuation."""
    return {url.rstrip(TRAILING_PUNCTUATION).lower() for url in URL.findall(text)}


def _tags(text: str) -> set[str]:
    """The names of the HTML-like tags in a text, lower-cased."""
    return {name.lower() for name in TAG.findall(text)}


def _visible(text: str) -> str:
    """The text without whitespace and invisible format characters (zero-width spaces, joiners, marks)."""
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


def _check_field(key: str, value: str, source: str, paper_text: str) -> None:
    """Refuse one field that cannot be part of a translation of `source` (part of `paper_text`)."""
    bad = next((c for c in value if unicodedata.category(c) == "Cc" and c not in ALLOWED_CONTROLS), None)
    if bad is not None:
        raise TranslationError(f"the LLM's answer has a control character (U+{ord(bad):04X}) in {key}")
    if not _visible(value):
        raise TranslationError(f"the LLM's answer has nothing visible in {key}")
    if len(value) > min(MAX_RATIO * len(source) + SLACK, MAX_FIELD_CHARS):
        raise TranslationError(f"the LLM's answer is too long in {key} ({len(value)} characters)")
    if _urls(value) - _urls(paper_text):
        raise TranslationError(f"the LLM's answer links to a URL the paper does not have in {key}")
    if _tags(value) - _tags(paper_text):
        raise TranslationError(f"the LLM's answer has HTML tags the paper does not have in {key}")


def _check_chinese(key: str, value: str, english_words: frozenset[str]) -> None:
    """Refuse a Chinese field that is mostly not Chinese (words copied from the English do not count)."""
    cjk = len(CJK.findall(value))
    foreign = sum(len(w) for w in WORD.findall(CJK.sub(" ", value)) if w.lower() not in english_words)
    if cjk == 0 or cjk < MIN_CJK_SHARE * (cjk + foreign):
        raise TranslationError(f"the LLM's answer is not Chinese in {key}")


def check_translation(translation: Translation, paper: Paper) -> Translation:
    """Return the translation if every field can be a translation of the paper; TranslationError if not."""
    paper_text = f"{paper.title}\n{paper.abstract}"
    english_words = frozenset(w.lower() for w in WORD.findall(paper_text))
    sources = {"title_zh": paper.title, "tldr_zh": paper_text, "abstract_zh": paper.abstract, "tldr_en": paper_text}
    for key, source in sources.items():
        value = getattr(translation, key)
        if value:
            _check_field(key, value, source, paper_text)
    for key in CHINESE_FIELDS:
        _check_chinese(key, getattr(translation, key), english_words)
    return translation
