"""The bot's own redis-server: persistent across restarts, password-protected, shared by concurrent processes."""

from __future__ import annotations

from pathlib import Path

import redis

from bot.local_redis import ensure_local_redis, stop_local_redis


def test_own_redis_keeps_data_across_restarts(tmp_path: Path) -> None:
    """Data written to the bot's own server is still there after it is stopped and started again."""
    url, server = ensure_local_redis(tmp_path)
    assert server is not None
    client = redis.Redis.from_url(url)
    client.set("subscriber", "kept")
    client.close()
    stop_local_redis(tmp_path, server)

    url2, server2 = ensure_local_redis(tmp_path)
    assert server2 is not None
    try:
        client = redis.Redis.from_url(url2)
        assert client.get("subscriber") == b"kept"
        client.close()
    finally:
        stop_local_redis(tmp_path, server2)
    assert url2.split("@")[0] == url.split("@")[0], "the password is generated once and reused"


def test_second_process_reuses_the_running_server(tmp_path: Path) -> None:
    """A second start while the server runs connects to it instead of starting a rival on the same files."""
    url, server = ensure_local_redis(tmp_path)
    try:
        url2, server2 = ensure_local_redis(tmp_path)
        assert server2 is None
        assert url2 == url
    finally:
        assert server is not None
        stop_local_redis(tmp_path, server)


def test_password_file_is_private(tmp_path: Path) -> None:
    """The generated password file is readable by its owner only, and the server refuses clients without it."""
    _url, server = ensure_local_redis(tmp_path)
    assert server is not None
    try:
        assert (tmp_path / "redis.password").stat().st_mode & 0o077 == 0
        no_password = redis.Redis(host="127.0.0.1", port=server.port)
        try:
            no_password.ping()
            refused = False
        except redis.AuthenticationError:
            refused = True
        except redis.ResponseError:
            refused = True
        no_password.close()
        assert refused
    finally:
        stop_local_redis(tmp_path, server)
