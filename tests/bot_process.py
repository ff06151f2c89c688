"""A long-running `arxiv-digest run` / `worker` subprocess whose log lines the test can wait for."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.cli_runner import ARXIV_DIGEST


class BotProcess:
    """An `arxiv-digest COMMAND` process; its standard error is collected line by line as it is written."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, command: str, env: dict[str, str], cwd: Path) -> BotProcess:
        """Start the process."""
        proc = await asyncio.create_subprocess_exec(
            ARXIV_DIGEST,
            command,
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def _read(self) -> None:
        """Collect standard error."""
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def log(self) -> str:
        """Everything logged so far."""
        return "\n".join(self.lines)

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.returncode is None

    def count(self, text: str) -> int:
        """How many log lines contain `text`."""
        return sum(text in line for line in self.lines)

    async def wait_for_line(self, text: str, timeout: float = 30.0) -> None:
        """Wait until a log line contains `text`; AssertionError with the log on timeout or exit."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.count(text):
            if asyncio.get_running_loop().time() > deadline or (not self.alive and self._reader.done()):
                raise AssertionError(f"no log line with {text!r} (alive={self.alive}):\n{self.log}")
            await asyncio.sleep(0.1)

    async def stop(self) -> int:
        """SIGTERM the process (if it still runs) and return its exit status."""
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout=30)
        await self._reader
        return code

    async def kill(self) -> None:
        """SIGKILL the process."""
        if self.alive:
            self.proc.kill()
        await self.proc.wait()
        await self._reader
