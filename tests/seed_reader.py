"""Read a seed digest back into the project's JSON form, so golden tests can render it again."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SEEDS = sorted((Path(__file__).parent / "fixtures" / "seeds").glob("*.txt"))
ROW = re.compile(r"^\| \[\^(\d+)\] \| \[(.*)\]\((\S+)\) \| (.*) \|$")
BLOCK_START = re.compile(r"(?m)^(?=\[\^\d+\]: )")


def _unindent(line: str) -> str:
    """Drop the four-space footnote indent."""
    assert line.startswith("    "), line
    return line[4:]


def _block_fields(block: str) -> dict[str, str]:
    """Take the fields of one detail block, which is fifteen lines with blank separators."""
    lines = block.split("\n")
    title_zh = lines[0].split(": ", 1)[1]
    title, link, tldr_zh, tldr_en, abstract_zh, abstract = (_unindent(lines[i]) for i in (2, 4, 6, 8, 10, 12))
    url = re.fullmatch(r"\[(\S+)\]\(\1\)", link)
    assert url, link
    return {
        "title_zh": title_zh,
        "title": title,
        "url": url.group(1),
        "tldr_zh": tldr_zh,
        "tldr_en": tldr_en,
        "abstract_zh": abstract_zh,
        "abstract": abstract,
    }


def seed_to_json(text: str) -> dict[str, Any]:
    """Parse a seed digest into `{"papers": [...]}` with the documented paper keys."""
    summary, detail = text.split("\n# 详细\n\n")
    rows = [ROW.match(line) for line in summary.split("\n") if line.startswith("| [^")]
    blocks = [b for b in BLOCK_START.split(detail) if b]
    papers = []
    for row, block in zip(rows, blocks, strict=True):
        assert row is not None
        fields = _block_fields(block)
        assert row.group(3) == fields["url"] and row.group(4) == fields["tldr_zh"]
        papers.append({"id": fields["url"].rsplit("/", 1)[1], **fields})
    return {"papers": papers}


def seed_json_text(path: Path) -> str:
    """The seed at `path` in the JSON form, as text."""
    return json.dumps(seed_to_json(path.read_text(encoding="utf-8")), ensure_ascii=False)
