"""The command line ranks too: `digest --interest --like --dislike --limit`, in a real subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.test_cli import fixture_env  # noqa: F401  (the `env` fixture)


async def test_cli_digest_ranks_by_like_and_interest_and_limits(env: dict[str, str], tmp_path: Path) -> None:
    """`digest --like ID --limit 1` prints the liked paper's kind; --interest ranks too; both say how many are left."""
    liked = await run_cli(
        ["digest", "--categories", "cs.LG,stat.ML", "--like", "2403.15210", "--limit", "1"], env, tmp_path
    )
    assert liked.code == 0, liked.err
    assert liked.out.count("\n| [^") == 1 and "Kernel Two-Sample Tests" in liked.out
    assert "2 more papers matched" in liked.err
    interest = await run_cli(
        ["digest", "--categories", "cs.LG,stat.ML", "--interest", "saliency maps quantisation", "--limit", "2"],
        env,
        tmp_path,
    )
    assert interest.code == 0, interest.err
    assert interest.out.index("Saliency") < interest.out.index("Sparse Mixture")
    assert "1 more paper matched; without --limit it is kept" in interest.err


@pytest.mark.parametrize(
    ("options", "needle"),
    [(["--limit", "0"], "at least 1"), (["--like", "nonsense"], "nonsense"), (["--interest", "x" * 501], "500")],
)
async def test_cli_ranking_mistakes_are_one_line(
    env: dict[str, str], tmp_path: Path, options: list[str], needle: str
) -> None:
    """A bad --limit, --like or --interest is one line on stderr and a non-zero exit, never a traceback."""
    run = await run_cli(["digest", "--categories", "cs.LG,stat.ML", *options], env, tmp_path)
    assert run.code != 0 and needle in run.err and "Traceback" not in run.err
