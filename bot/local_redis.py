"""The bot's own redis-server when REDIS_URL is not set: persistent, loopback only, password-protected."""

from __future__ import annotations

import secrets
from pathlib import Path

from bot.redis_server import RedisServer, answers, free_port

PASSWORD_FILE = "redis.password"
PORT_FILE = "redis.port"


def _password(data_dir: Path) -> str:
    """The password of this data directory's server, generated on first use and kept private."""
    path = data_dir / PASSWORD_FILE
    if path.is_file():
        return path.read_text(encoding="ascii").strip()
    password = secrets.token_urlsafe(24)
    path.touch(mode=0o600)
    path.write_text(password, encoding="ascii")
    return password


def _running_port(data_dir: Path, password: str) -> int | None:
    """The port of a server already serving this data directory (started by another bot process), if any."""
    try:
        port = int((data_dir / PORT_FILE).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None
    return port if answers(port, password) else None


def ensure_local_redis(data_dir: Path) -> tuple[str, RedisServer | None]:
    """Return a URL of this data directory's server, starting it when none runs; the server is ours to stop."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    password = _password(data_dir)
    port = _running_port(data_dir, password)
    if port is not None:
        return f"redis://:{password}@127.0.0.1:{port}/0", None
    server = RedisServer(port=free_port(), password=password, data_dir=data_dir / "redis")
    server.start()
    (data_dir / PORT_FILE).write_text(str(server.port), encoding="ascii")
    return server.url, server


def stop_local_redis(data_dir: Path, server: RedisServer) -> None:
    """Stop a server started by ensure_local_redis and forget its port."""
    server.stop()
    (data_dir / PORT_FILE).unlink(missing_ok=True)
