"""The bot's own redis-server when REDIS_URL is not set: persistent, loopback only, password-protected, detached.

It runs with a lifetime of its own (daemonized, pid in DATA_DIR/redis.pid): every process of ours uses it, none
stops it on exit, and any of them starts it again when it is not running. Stop it with `kill $(cat redis.pid)`.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from pathlib import Path

from bot.errors import StoreUnavailable
from bot.redis_server import RedisServer, answers, free_port, pid_alive, read_pid, stop_detached

PASSWORD_FILE = "redis.password"
PORT_FILE = "redis.port"
PID_FILE = "redis.pid"
DATA_SUBDIR = "redis"
WAIT_FOR_RUNNING_SECONDS = 10.0  # a running server may still be loading its data


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (also when it existed with wider permissions)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(text)
    path.chmod(0o600)


def _password(data_dir: Path) -> str:
    """The password of this data directory's server, generated on first use and kept private."""
    path = data_dir / PASSWORD_FILE
    if path.is_file():
        return path.read_text(encoding="ascii").strip()
    password = secrets.token_urlsafe(24)
    _write_private(path, password)
    return password


def _recorded_port(data_dir: Path) -> int | None:
    """The port the server of this data directory was last started on."""
    try:
        return int((data_dir / PORT_FILE).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None


def tighten(data_dir: Path) -> None:
    """Make the data directory 0700 and everything the bot's Redis keeps in it 0600 (dirs 0700)."""
    data_dir.chmod(0o700)
    for name in (PASSWORD_FILE, PORT_FILE, PID_FILE):
        if (data_dir / name).is_file():
            (data_dir / name).chmod(0o600)
    redis_dir = data_dir / DATA_SUBDIR
    if redis_dir.is_dir():
        redis_dir.chmod(0o700)
        for root, dirs, files in os.walk(redis_dir):
            for name in dirs:
                Path(root, name).chmod(0o700)
            for name in files:
                Path(root, name).chmod(0o600)


def _url(password: str, port: int) -> str:
    """The client URL of the local server (contains the password: never log it)."""
    return f"redis://:{password}@127.0.0.1:{port}/0"


def ensure_local_redis(data_dir: Path) -> str:
    """Return the URL of this data directory's server, starting it detached when none answers."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tighten(data_dir)
    password = _password(data_dir)
    port = _recorded_port(data_dir)
    if port is not None and _answers_soon(data_dir, port, password):
        return _url(password, port)
    server = RedisServer(
        port=_reusable(port), password=password, data_dir=data_dir / DATA_SUBDIR, pidfile=data_dir / PID_FILE
    )
    server.start()
    _write_private(data_dir / PORT_FILE, str(server.port))
    tighten(data_dir)
    return server.url


def _answers_soon(data_dir: Path, port: int, password: str) -> bool:
    """True when the server answers, waiting a while if its process runs (loading its data); never kills it."""
    deadline = time.monotonic() + WAIT_FOR_RUNNING_SECONDS
    while not answers(port, password):
        pid = read_pid(data_dir / PID_FILE)
        if pid is None or not pid_alive(pid):
            return False
        if time.monotonic() > deadline:
            raise StoreUnavailable(
                f"the bot's own redis-server (pid {pid}) runs but does not answer on port {port}; "
                f"see {data_dir / DATA_SUBDIR / 'redis.log'}"
            )
        time.sleep(0.1)
    return True


def _reusable(port: int | None) -> int:
    """The port to start on: the recorded one when it is free (clients already know it), else a free one."""
    if port is not None:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                pass
    return free_port()


def stop_local_redis(data_dir: Path) -> None:
    """Stop this data directory's server (it saves its data first) and forget its port."""
    stop_detached(data_dir / PID_FILE)
    (data_dir / PORT_FILE).unlink(missing_ok=True)
