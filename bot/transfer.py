"""Export and import of subscriptions as JSON, for moving the bot between servers."""

from __future__ import annotations

import json
from typing import Any

from bot.errors import DigestError, InvalidTransferFile
from bot.filters import parse_filter
from bot.store import Store
from bot.subscribers import ChatRef, Subscriber, parse_lang, parse_time, parse_timezone

FORMAT = "arxiv-digest/subscribers"
VERSION = 1


def subscriber_to_json(sub: Subscriber) -> dict[str, Any]:
    """One subscription as a JSON object."""
    return {
        "chat": sub.chat.key,
        "filters": [f.canonical() for f in sub.filters],
        "time": sub.delivery_time.strftime("%H:%M"),
        "timezone": sub.timezone,
        "lang": sub.lang.value,
    }


def subscriber_from_json(obj: object, index: int) -> Subscriber:
    """Read one subscription, naming the entry and field on any problem."""
    where = f"subscribers[{index}]"
    if not isinstance(obj, dict):
        raise InvalidTransferFile(f"{where} must be an object")
    try:
        platform, _, chat_id = str(obj["chat"]).partition(":")
        if not platform or not chat_id:
            raise InvalidTransferFile(f"{where}.chat must look like telegram:12345")
        return Subscriber(
            chat=ChatRef(platform, chat_id),
            filters=tuple(parse_filter(str(text), check_typos=False) for text in obj.get("filters", [])),
            delivery_time=parse_time(str(obj.get("time", "09:00"))),
            timezone=parse_timezone(str(obj.get("timezone", "Asia/Shanghai"))),
            lang=parse_lang(str(obj.get("lang", "both"))),
        )
    except KeyError as exc:
        raise InvalidTransferFile(f"{where}.{exc.args[0]} is missing") from None
    except DigestError as exc:
        raise InvalidTransferFile(f"{where}: {exc}") from None


def ranking_from_json(obj: object, index: int) -> dict[str, Any] | None:
    """A subscription's ranking data (settings, profile, and ratings as id -> [+1 or -1, epoch minute]), checked."""
    if not isinstance(obj, dict) or "ranking" not in obj:
        return None
    data = obj["ranking"]
    where = f"subscribers[{index}].ranking"
    settings, ratings = (data.get("settings", {}), data.get("ratings", {})) if isinstance(data, dict) else (0, 0)
    if not isinstance(settings, dict) or not isinstance(ratings, dict):
        raise InvalidTransferFile(f"{where} must be an object with settings and ratings objects")
    for paper, value in ratings.items():
        if not (isinstance(value, list) and len(value) == 2 and value[0] in (1, -1) and isinstance(value[1], int)):
            raise InvalidTransferFile(f"{where}.ratings.{paper} must be [1 or -1, epoch minute]")
    return {"settings": settings, "ratings": ratings, "profile": str(data.get("profile", ""))}


async def export_subscribers(store: Store) -> str:
    """Every subscription as a JSON document, with each chat's ranking settings and ratings."""
    subscribers = await store.all_subscribers()
    ratings = store.ratings
    entries = []
    for sub in subscribers:
        entry, ranking = subscriber_to_json(sub), await ratings.export(sub.chat)
        if ranking["settings"] or ranking["ratings"]:
            entry["ranking"] = ranking
        entries.append(entry)
    doc = {"format": FORMAT, "version": VERSION, "subscribers": entries}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def parse_export(text: str) -> list[Subscriber]:
    """Read and check a whole export before anything is written."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidTransferFile(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("subscribers"), list):
        raise InvalidTransferFile(f'not a subscribers export (expected "format": "{FORMAT}" and a subscribers list)')
    if doc.get("version") != VERSION:
        raise InvalidTransferFile(f"export version {doc.get('version')!r} is not supported (expected {VERSION})")
    return [subscriber_from_json(obj, n) for n, obj in enumerate(doc["subscribers"])]


async def import_subscribers(store: Store, text: str) -> int:
    """Store every subscription of an export (replacing those of the same chats); returns how many."""
    subscribers = parse_export(text)
    rankings = [ranking_from_json(obj, n) for n, obj in enumerate(json.loads(text)["subscribers"])]
    for sub, ranking in zip(subscribers, rankings, strict=True):
        await store.save_subscriber(sub)
        if ranking is not None:
            await store.ratings.restore(sub.chat, ranking)
    return len(subscribers)
