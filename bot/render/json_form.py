"""The project's JSON form of a digest (documented in the README): writing it and reading it back."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from bot.errors import InvalidDigestJson
from bot.models import Digest, DigestItem, Paper, Translation, TranslationStatus

TRANSLATION_KEYS = ("title_zh", "tldr_zh", "abstract_zh")


def item_to_json(item: DigestItem) -> dict[str, Any]:
    """One paper object: its English text, its translation (null when missing) and the translation status."""
    paper, tr = item.paper, item.translation if item.translated else None
    return {
        "id": paper.arxiv_id,
        "version": paper.version,
        "url": paper.url,
        "title": paper.title,
        "title_zh": tr.title_zh if tr else None,
        "tldr_zh": tr.tldr_zh if tr else None,
        "tldr_en": tr.tldr_en if tr else None,
        "abstract": paper.abstract,
        "abstract_zh": tr.abstract_zh if tr else None,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "announce_type": paper.announce_type,
        "translation": item.status.value,
    }


def digest_to_json(digest: Digest) -> str:
    """Serialise a digest as pretty-printed JSON (UTF-8 text, Chinese kept readable)."""
    doc = {
        "day": digest.day.isoformat() if digest.day else None,
        "categories": list(digest.categories),
        "papers": [item_to_json(item) for item in digest.items],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _text(obj: dict[str, Any], key: str, where: str, *, required: bool) -> str | None:
    """Read one string field, naming the place when it is missing or of the wrong type."""
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidDigestJson(f"{where}.{key} is missing")
        return None
    if not isinstance(value, str):
        raise InvalidDigestJson(f"{where}.{key} must be a string")
    return value


def _strings(obj: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    """Read an optional list of strings."""
    value = obj.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidDigestJson(f"{where}.{key} must be a list of strings")
    return tuple(value)


def _version(obj: dict[str, Any], where: str) -> int | None:
    """Read the optional paper version."""
    value = obj.get("version")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidDigestJson(f"{where}.version must be a positive integer")
    return value


def _translation(obj: dict[str, Any], where: str) -> tuple[Translation | None, TranslationStatus]:
    """Read the translation fields; a paper without them is shown in English with a marker."""
    parts = {k: _text(obj, k, where, required=False) for k in (*TRANSLATION_KEYS, "tldr_en")}
    if all(parts[k] for k in TRANSLATION_KEYS):
        translation = Translation(
            title_zh=parts["title_zh"] or "",
            tldr_zh=parts["tldr_zh"] or "",
            abstract_zh=parts["abstract_zh"] or "",
            tldr_en=parts["tldr_en"] or "",
        )
        return translation, TranslationStatus.OK
    status = obj.get("translation")
    return None, TranslationStatus.OFF if status == "off" else TranslationStatus.FAILED


def item_from_json(obj: object, index: int) -> DigestItem:
    """Read one paper object of the JSON form."""
    where = f"papers[{index}]"
    if not isinstance(obj, dict):
        raise InvalidDigestJson(f"{where} must be an object")
    paper = Paper(
        arxiv_id=_text(obj, "id", where, required=True) or "",
        title=_text(obj, "title", where, required=True) or "",
        abstract=_text(obj, "abstract", where, required=True) or "",
        url=_text(obj, "url", where, required=True) or "",
        version=_version(obj, where),
        authors=_strings(obj, "authors", where),
        categories=_strings(obj, "categories", where),
        announce_type=_text(obj, "announce_type", where, required=False) or "new",
    )
    translation, status = _translation(obj, where)
    return DigestItem(paper=paper, translation=translation, status=status)


def _day(doc: dict[str, Any]) -> date | None:
    """Read the optional announcement day (YYYY-MM-DD)."""
    raw = doc.get("day")
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise InvalidDigestJson("day must be a date like 2024-02-06") from None


def digest_from_json(text: str) -> Digest:
    """Parse the JSON form; raise InvalidDigestJson naming the first problem."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidDigestJson(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("papers"), list):
        raise InvalidDigestJson('the top level must be an object with a "papers" list')
    items = tuple(item_from_json(obj, n) for n, obj in enumerate(doc["papers"]))
    return Digest(items=items, day=_day(doc), categories=_strings(doc, "categories", "digest"))
