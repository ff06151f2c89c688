"""The Markdown digest: golden tests against the seeds, escaping, and untranslated papers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.models import Digest, DigestItem, Paper, Translation, TranslationStatus
from bot.render.json_form import digest_from_json, digest_to_json
from bot.render.markdown import render_digest, render_paper
from tests.seed_reader import SEEDS, seed_json_text, seed_to_json


def _paper(title: str = "A Title", abstract: str = "An abstract.") -> Paper:
    """A paper with the given English text."""
    return Paper(
        arxiv_id="2402.03478", version=1, title=title, abstract=abstract, url="https://arxiv.org/abs/2402.03478"
    )


def _translated(paper: Paper, tldr_zh: str = "一句话总结。") -> DigestItem:
    """An item carrying a complete translation."""
    tr = Translation(title_zh="中文标题", tldr_zh=tldr_zh, abstract_zh="中文摘要。", tldr_en="One sentence.")
    return DigestItem(paper, tr, TranslationStatus.OK)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_rendering_a_seeds_own_data_gives_back_its_bytes(seed: Path) -> None:
    """Rendering the data of each seed digest reproduces that seed byte for byte."""
    digest = digest_from_json(seed_json_text(seed))
    assert render_digest(digest).encode("utf-8") == seed.read_bytes()


def test_seeds_survive_a_round_trip_through_our_json_form() -> None:
    """Writing a seed's digest as our JSON and reading it back renders the same bytes."""
    seed = SEEDS[0]
    digest = digest_from_json(seed_json_text(seed))
    again = digest_from_json(digest_to_json(digest))
    assert render_digest(again).encode("utf-8") == seed.read_bytes()


def test_legacy_suffix_is_dropped_in_the_table_and_kept_in_the_detail() -> None:
    """A title with the old RSS suffix shows without it in the table and with it in the detail block."""
    title = "Ventricular Segmentation: A Brief Comparison of U-Net Derivatives. (arXiv:2401.09980v1 [eess.IV])"
    text = render_digest(Digest((_translated(_paper(title)),)))
    table, detail = text.split("# 详细")
    assert "[Ventricular Segmentation: A Brief Comparison of U-Net Derivatives.](" in table
    assert "(arXiv:2401.09980v1" not in table
    assert f"    {title}\n" in detail


def test_table_special_characters_do_not_break_the_table() -> None:
    """Pipes, brackets and newlines in a title or summary are escaped so each row keeps its three cells."""
    paper = _paper("Is [MASK] | all\nyou need?")
    text = render_digest(Digest((_translated(paper, tldr_zh="总结 | 含[括号]\n换行"),)))
    row = next(line for line in text.split("\n") if line.startswith("| [^1]"))
    assert row == (
        "| [^1] | [Is \\[MASK\\] \\| all you need?](https://arxiv.org/abs/2402.03478) | 总结 \\| 含\\[括号\\] 换行 |"
    )
    assert row.replace("\\|", "").count("|") == 4


def test_full_abstract_and_english_summary_are_shown() -> None:
    """A long abstract is shown whole (never cut at 1000 characters) and the English summary line is filled."""
    abstract = "Word " * 400 + "The end."
    block = render_paper(_translated(_paper(abstract=abstract)))
    assert "The end." in block
    assert "\n    One sentence.\n" in block


def test_multi_paragraph_abstract_stays_inside_its_footnote() -> None:
    """Every line of a multi-line abstract is indented so it stays part of the footnote."""
    block = render_paper(_translated(_paper(abstract="First paragraph.\n\nSecond paragraph.")))
    assert "    First paragraph.\n    \n    Second paragraph.\n" in block


@pytest.mark.parametrize(
    ("status", "marker"),
    [(TranslationStatus.FAILED, "translation failed"), (TranslationStatus.OFF, "translations are off")],
)
def test_untranslated_paper_appears_in_english_with_a_marker(status: TranslationStatus, marker: str) -> None:
    """A paper without translation is shown in English with a marker saying why, next to translated ones."""
    items = (_translated(_paper("Translated one")), DigestItem(_paper("Plain English"), None, status))
    text = render_digest(Digest(items))
    assert "中文标题" in text
    assert "[^2]: 〔" in text and marker in text
    assert "    Plain English\n" in text
    assert text.count("| [^") == 2


def test_json_form_is_the_documented_shape() -> None:
    """The JSON form carries the documented keys for every paper and null Chinese fields when untranslated."""
    items = (_translated(_paper()), DigestItem(_paper(), None, TranslationStatus.FAILED))
    doc = json.loads(digest_to_json(Digest(items)))
    required = {"id", "url", "title", "title_zh", "tldr_zh", "abstract", "abstract_zh", "tldr_en"}
    assert all(required <= set(p) for p in doc["papers"])
    assert doc["papers"][0]["title_zh"] == "中文标题"
    assert doc["papers"][1]["title_zh"] is None and doc["papers"][1]["translation"] == "failed"


def test_seed_reader_finds_every_paper() -> None:
    """The seed reader sees every table row of every seed, so the golden tests cover all papers."""
    counts = [len(seed_to_json(p.read_text(encoding="utf-8"))["papers"]) for p in SEEDS]
    assert counts == [5, 6, 73, 9]
