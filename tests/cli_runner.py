"""Run `arxiv-digest` as a real subprocess, with an environment that points it at the test's fakes."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.llm_server import FakeLLM

ARXIV_DIGEST = str(Path(sys.executable).parent / "arxiv-digest")


@dataclass(frozen=True)
class Run:
    """What a finished command printed and how it exited."""

    code: int
    out: str
    err: str


async def run_cli(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> Run:
    """Run `arxiv-digest ARGS` without blocking the event loop the fake servers run on."""
    proc = await asyncio.create_subprocess_exec(
        ARXIV_DIGEST,
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout=60)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def base_env(home: Path, **values: str) -> dict[str, str]:
    """A clean environment: no inherited settings, a private HOME, plus the given variables."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "ARXIV_MIN_INTERVAL": "0", **values}


def fakes_env(home: Path, redis_url: str, arxiv: FakeArxiv, llm: FakeLLM, **values: str) -> dict[str, str]:
    """A clean environment pointing the program at the test's Redis, fake arXiv and fake LLM, plus `values`."""
    return base_env(
        home,
        REDIS_URL=redis_url,
        ARXIV_RSS_URL=arxiv.rss_url,
        ARXIV_API_URL=arxiv.api_url,
        LLM_BASE_URL=llm.url,
        **{"LLM_MODEL": "fake-model", **values},
    )
