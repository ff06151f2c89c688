"""The layering rules, read from the source: who may import what, and who may touch Redis."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> Iterator[tuple[Path, ast.Module]]:
    """Every module of a package under the project root, parsed."""
    for path in sorted((ROOT / package).rglob("*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def _imported(tree: ast.Module) -> set[str]:
    """The top-level package of every module a module imports, wherever the import statement sits."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _outside_store(package: str) -> Iterator[tuple[Path, ast.Module]]:
    """The modules of a package, bot/store/ left out."""
    store = ROOT / "bot" / "store"
    return ((path, tree) for path, tree in _modules(package) if store not in path.parents)


def test_only_the_store_reaches_redis() -> None:
    """Outside bot/store/ no module imports redis or reaches a raw Redis client through the store."""
    offenders = []
    for package in ("bot", "handlers"):
        for path, tree in _outside_store(package):
            if "redis" in _imported(tree):
                offenders.append(f"{path.relative_to(ROOT)} imports redis")
            raw = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} & {"redis", "redis_for_tests"}
            offenders += [f"{path.relative_to(ROOT)} uses .{name}" for name in sorted(raw)]
    assert offenders == []


def test_lua_scripts_live_in_the_store() -> None:
    """Only bot/store/ registers Lua scripts, so each is registered once per Store."""
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("bot", "handlers")
        for path, tree in _outside_store(package)
        if any(isinstance(n, ast.Attribute) and n.attr == "register_script" for n in ast.walk(tree))
    ]
    assert offenders == []


def test_the_core_imports_no_adapter() -> None:
    """bot/ imports neither handlers/ nor the composition root nor a chat library, so it runs without them."""
    forbidden = {"handlers", "arxiv_digest", "telegram", "discord"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported(tree) & forbidden)
        for path, tree in _modules("bot")
        if _imported(tree) & forbidden
    }
    assert offenders == {}


def test_adapters_reach_no_network_client_of_their_own() -> None:
    """handlers/ imports neither redis nor httpx: the store and the service are handed to it."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported(tree) & {"redis", "httpx"})
        for path, tree in _modules("handlers")
        if _imported(tree) & {"redis", "httpx"}
    }
    assert offenders == {}


def test_the_matching_process_starts_without_the_chat_bot() -> None:
    """What a spawned matching process imports (the console script's module, then its jobs) leaves the bot out."""
    heavy = ("telegram", "discord", "bot.service", "bot.delivery", "arxiv_digest.app")
    probe = (
        "import sys, arxiv_digest.entry, bot.matching_process; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == ""
