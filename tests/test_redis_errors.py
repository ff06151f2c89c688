"""Redis problems as the user meets them: one line naming cause and server at start-up, an apology when frozen."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from pathlib import Path

from bot.redis_server import RedisServer, free_port, start_redis_server
from tests.cli_runner import ARXIV_DIGEST, base_env, run_cli

PASSWORD = "s3cret-Pa55word-of-redis"


async def _export_error(tmp_path: Path, url: str) -> str:
    """Run `arxiv-digest export` against `url`; it must fail with exactly one line on standard error."""
    result = await run_cli(["export"], base_env(tmp_path, REDIS_URL=url), tmp_path)
    assert result.code == 1, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert PASSWORD not in result.err
    return lines[0]


async def test_refused_connection_is_named_with_the_server(tmp_path: Path) -> None:
    """Nothing listening at REDIS_URL: the line says the connection was refused, and where."""
    port = free_port()
    line = await _export_error(tmp_path, f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    assert f"127.0.0.1:{port}" in line and "connection refused" in line


async def test_wrong_password_is_named_without_showing_it(tmp_path: Path, redis_server: RedisServer) -> None:
    """A wrong password in REDIS_URL: the line says the password was rejected, and never prints it."""
    line = await _export_error(tmp_path, f"redis://:{PASSWORD}@127.0.0.1:{redis_server.port}/0")
    assert f"127.0.0.1:{redis_server.port}" in line and "rejected the password" in line


async def test_a_server_that_never_answers_is_a_timeout(tmp_path: Path) -> None:
    """A server that accepts connections but never answers: the line says it timed out, within seconds."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        line = await _export_error(tmp_path, f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    assert f"127.0.0.1:{port}" in line and "timeout" in line
    assert time.monotonic() - started < 20


async def test_a_frozen_redis_gets_the_user_an_apology_within_seconds(tmp_path: Path) -> None:
    """SIGSTOP the Redis under `arxiv-digest chat`: a command is answered with the apology in seconds, not hung."""
    server = start_redis_server()
    assert server.process is not None
    proc = await asyncio.create_subprocess_exec(
        ARXIV_DIGEST,
        "chat",
        cwd=tmp_path,
        env=base_env(tmp_path, REDIS_URL=server.url),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"/list\n")
        await proc.stdin.drain()
        assert await asyncio.wait_for(proc.stdout.readline(), timeout=30)  # connected and answering
        os.kill(server.process.pid, signal.SIGSTOP)
        started = time.monotonic()
        proc.stdin.write(b"/list\n")
        await proc.stdin.drain()
        reply = b""
        while b"try again later" not in reply:
            reply += await asyncio.wait_for(proc.stdout.readline(), timeout=15)
        assert time.monotonic() - started < 12
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        proc.stdin.close()
        await asyncio.wait_for(proc.wait(), timeout=30)
        server.stop()
