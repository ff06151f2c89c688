"""How subscriptions, papers and listings are written into Redis values and read back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.filters import read_stored_filter
from bot.models import Listing, Paper
from bot.subscribers import ChatRef, Lang, Subscriber, parse_time


def subscriber_fields(sub: Subscriber) -> Mapping[Any, str]:
    """A subscription as the fields of its Redis hash."""
    return {
        "filters": json.dumps([f.canonical() for f in sub.filters], ensure_ascii=False),
        "time": sub.delivery_time.strftime("%H:%M"),
        "tz": sub.timezone,
        "lang": sub.lang.value,
    }


def subscriber_from_fields(chat: ChatRef, fields: Mapping[Any, Any]) -> Subscriber:
    """Rebuild a subscription from its Redis hash."""
    return Subscriber(
        chat=chat,
        filters=tuple(read_stored_filter(text) for text in json.loads(fields.get("filters", "[]"))),
        delivery_time=parse_time(fields.get("time", "09:00")),
        timezone=fields.get("tz", "Asia/Shanghai"),
        lang=Lang(fields.get("lang", "both")),
    )


def paper_to_dict(paper: Paper) -> dict[str, Any]:
    """A Paper as a JSON-ready dict (a shallow copy: dataclasses.asdict deep-copies, ten times slower on a day)."""
    return dict(vars(paper))


def paper_from_dict(data: dict[str, Any]) -> Paper:
    """Rebuild a Paper from its stored JSON object."""
    data = dict(data)
    data["authors"] = tuple(data.get("authors", ()))
    data["categories"] = tuple(data.get("categories", ()))
    return Paper(**data)


def listing_to_json(listing: Listing) -> str:
    """A listing as JSON text."""
    data = {
        "day": listing.day.isoformat() if listing.day else None,
        "categories": list(listing.categories),
        "papers": [paper_to_dict(p) for p in listing.papers],
    }
    return json.dumps(data, ensure_ascii=False)


def listing_from_json(raw: str) -> Listing:
    """A listing read back from its JSON text."""
    data = json.loads(raw)
    papers = tuple(paper_from_dict(p) for p in data["papers"])
    day = date.fromisoformat(data["day"]) if data.get("day") else None
    return Listing(papers=papers, day=day, categories=tuple(data["categories"]))
