"""The command line end to end: real subprocesses against fake arXiv and LLM servers and a real Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.redis_server import RedisServer
from tests.cli_runner import base_env, fakes_env, run_cli
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.llm_server import Behaviour, FakeLLM
from tests.seed_reader import SEEDS, seed_json_text

KEPT_BY_DEFAULT = 3  # the fixture's new and cross items; replacements and the duplicate are left out


@pytest.fixture(name="env")
async def fixture_env(tmp_path: Path, redis_server: RedisServer, arxiv: FakeArxiv, fake_llm: FakeLLM) -> dict[str, str]:
    """Settings for a subprocess: the fakes, the test Redis (flushed), and an LLM."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    return fakes_env(tmp_path, redis_server.url, arxiv, fake_llm, LLM_API_KEY="sk-test-secret-key")


def _no_llm(env: dict[str, str]) -> dict[str, str]:
    """The same settings with translations off."""
    return {k: v for k, v in env.items() if not k.startswith("LLM_")}


async def test_digest_prints_a_translated_markdown_digest(
    env: dict[str, str], tmp_path: Path, fake_llm: FakeLLM
) -> None:
    """`digest` prints the seed layout with each kept paper translated, one LLM call per paper."""
    run = await run_cli(["digest", "--categories", "cs.LG,stat.ML"], env, tmp_path)
    assert run.code == 0, run.err
    assert run.out.startswith("# 摘要\n\n| Ref | Title | Summary |\n| --- | --- | --- |\n")
    assert run.out.count("\n| [^") == KEPT_BY_DEFAULT
    assert "[^1]: 中文：Sparse Mixture-of-Experts Routing" in run.out
    assert "Announce Type" not in run.out
    assert "\n    In short: " in run.out, "the English one-sentence summary line is filled"
    assert fake_llm.count == KEPT_BY_DEFAULT
    assert "sk-test-secret-key" not in run.err + run.out


async def test_second_digest_uses_the_caches(
    env: dict[str, str], tmp_path: Path, fake_llm: FakeLLM, arxiv: FakeArxiv
) -> None:
    """A second run soon after makes no LLM call and no arXiv request: translations and listing are cached."""
    first = await run_cli(["digest", "--categories", "cs.LG,stat.ML"], env, tmp_path)
    calls, fetches = fake_llm.count, arxiv.count("rss")
    second = await run_cli(["digest", "--categories", "stat.ML,cs.LG"], env, tmp_path)
    assert second.code == 0, second.err
    assert second.out == first.out
    assert (fake_llm.count, arxiv.count("rss")) == (calls, fetches)


async def test_keywords_keep_only_matching_papers_and_json_goes_to_a_file(env: dict[str, str], tmp_path: Path) -> None:
    """--keywords narrows the digest and --format json --output writes the documented JSON form."""
    out = tmp_path / "digest.json"
    run = await run_cli(
        [
            "digest",
            "--categories",
            "cs.LG,stat.ML",
            "--keywords",
            "saliency,kernel two-sample",
            "--format",
            "json",
            "--output",
            str(out),
        ],
        env,
        tmp_path,
    )
    assert run.code == 0, run.err
    assert run.out == ""
    doc = json.loads(out.read_text(encoding="utf-8"))
    titles = [p["title"] for p in doc["papers"]]
    assert len(titles) == 2 and all("Saliency" in t or "Two-Sample" in t for t in titles)
    paper = doc["papers"][0]
    assert {"id", "url", "title", "title_zh", "tldr_zh", "abstract", "abstract_zh", "tldr_en"} <= set(paper)
    assert paper["id"] == "2403.15603" and paper["abstract"].startswith("Gradient-based saliency maps")


async def test_without_llm_the_digest_is_english_and_says_so(env: dict[str, str], tmp_path: Path) -> None:
    """With no LLM configured the digest still arrives, in English, and says translations are off."""
    run = await run_cli(["digest", "--categories", "cs.LG,stat.ML"], _no_llm(env), tmp_path)
    assert run.code == 0, run.err
    assert "translations are off" in run.err
    assert run.out.count("\n| [^") == KEPT_BY_DEFAULT
    assert "translations are off" in run.out
    assert "    Sparse Mixture-of-Experts Routing" in run.out


async def test_one_failing_translation_does_not_spoil_the_rest(
    env: dict[str, str], tmp_path: Path, fake_llm: FakeLLM
) -> None:
    """When the LLM keeps failing for one paper, it appears in English with a marker and the others are translated."""
    fake_llm.script_for("Saliency Maps", Behaviour(status=500))
    run = await run_cli(["digest", "--categories", "cs.LG,stat.ML"], {**env, "LLM_MAX_ATTEMPTS": "1"}, tmp_path)
    assert run.code == 0, run.err
    assert run.out.count("translation failed") >= 1
    assert run.out.count("[^") == 2 * KEPT_BY_DEFAULT
    assert run.out.count("中文：") == KEPT_BY_DEFAULT - 1
    assert "1 not translated" in run.err


async def test_empty_weekend_listing_is_reported_not_an_error(env: dict[str, str], tmp_path: Path) -> None:
    """An empty feed (weekend or holiday) exits 0, prints no digest, and says why."""
    run = await run_cli(["digest", "--categories", "cs.LG"], env, tmp_path)
    assert run.code == 0, run.err
    assert run.out == ""
    assert "empty" in run.err and "holidays" in run.err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["digest", "--categories", "cs.XX"], "unknown arXiv category"),
        (["digest", "--categories", "astro-ph.GA"], "404"),
        (["paper", "hello"], "2402.03478"),
        (["paper", "2501.99999"], "no paper"),
    ],
)
async def test_bad_input_gets_one_line_and_a_nonzero_exit(
    env: dict[str, str], tmp_path: Path, args: list[str], needle: str
) -> None:
    """An unknown category, an unreachable feed, a malformed or unknown id: one clear line, exit 1, no traceback."""
    run = await run_cli(args, env, tmp_path)
    assert run.code == 1
    assert needle in run.err
    assert "Traceback" not in run.err
    assert len([line for line in run.err.splitlines() if "error" in line]) == 1


async def test_paper_prints_the_bilingual_detail_block(env: dict[str, str], tmp_path: Path) -> None:
    """`paper` prints the seed's detail block for a paper looked up through the arXiv API."""
    run = await run_cli(["paper", "https://arxiv.org/abs/2402.03478"], env, tmp_path)
    assert run.code == 0, run.err
    lines = run.out.split("\n")
    assert lines[0].startswith("[^1]: 中文：")
    assert lines[4] == "    [https://arxiv.org/abs/2402.03478](https://arxiv.org/abs/2402.03478)"
    assert run.out.endswith("\n    \n")


async def test_paper_as_json(env: dict[str, str], tmp_path: Path) -> None:
    """`paper --format json` prints one paper object of the documented JSON form."""
    run = await run_cli(["paper", "arXiv:2402.03478", "--format", "json"], env, tmp_path)
    assert run.code == 0, run.err
    paper = json.loads(run.out)
    assert paper["id"] == "2402.03478" and paper["title_zh"].startswith("中文：")


async def test_render_reproduces_a_seed_from_its_json(tmp_path: Path) -> None:
    """`render` turns a seed's JSON (file or standard input) back into the seed's exact bytes."""
    seed = SEEDS[1]
    source = tmp_path / "seed.json"
    source.write_text(seed_json_text(seed), encoding="utf-8")
    from_file = await run_cli(["render", "--format", "markdown", "--input", str(source)], base_env(tmp_path), tmp_path)
    from_stdin = await run_cli(["render"], base_env(tmp_path), tmp_path, stdin=seed_json_text(seed))
    assert from_file.out.encode() == seed.read_bytes()
    assert from_stdin.out == from_file.out


@pytest.mark.parametrize(
    ("document", "needle"),
    [("not json", "not valid JSON"), ('{"items": []}', '"papers"'), ('{"papers": [{"id": "1"}]}', "papers[0].title")],
)
async def test_render_rejects_malformed_json_in_one_line(tmp_path: Path, document: str, needle: str) -> None:
    """Malformed input to `render` gets one line naming the problem and exit 1."""
    run = await run_cli(["render"], base_env(tmp_path), tmp_path, stdin=document)
    assert run.code == 1
    assert needle in run.err and "Traceback" not in run.err


async def test_malformed_setting_is_named(env: dict[str, str], tmp_path: Path) -> None:
    """A malformed variable is reported in one line naming it, not as a traceback."""
    run = await run_cli(["digest", "--categories", "cs.LG"], {**env, "LLM_CONCURRENCY": "lots"}, tmp_path)
    assert run.code == 2
    assert "LLM_CONCURRENCY" in run.err and "Traceback" not in run.err


@pytest.mark.parametrize("module", ["arxiv_digest", "bot"])
async def test_python_dash_m_is_the_same_program(tmp_path: Path, module: str) -> None:
    """`python -m arxiv_digest` and the older `python -m bot` answer like `arxiv-digest`."""
    import asyncio
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "render",
        cwd=tmp_path,
        env=base_env(tmp_path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate(seed_json_text(SEEDS[0]).encode())
    assert out == SEEDS[0].read_bytes()
