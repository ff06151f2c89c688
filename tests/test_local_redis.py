"""The bot's own redis-server: persistent, password-protected, private, detached from the process starting it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.local_redis import ensure_local_redis, stop_local_redis


@pytest.fixture(name="data_dir")
def fixture_data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose detached server is stopped after the test."""
    data_dir = tmp_path / "data"
    yield data_dir
    stop_local_redis(data_dir)


def test_own_redis_keeps_data_across_restarts(data_dir: Path) -> None:
    """Data written to the bot's own server is still there after it is stopped and started again."""
    url = ensure_local_redis(data_dir)
    client = redis.Redis.from_url(url)
    client.set("subscriber", "kept")
    client.close()
    stop_local_redis(data_dir)

    url2 = ensure_local_redis(data_dir)
    client = redis.Redis.from_url(url2)
    assert client.get("subscriber") == b"kept"
    client.close()
    assert url2.split("@")[0] == url.split("@")[0], "the password is generated once and reused"


def test_second_process_reuses_the_running_server(data_dir: Path) -> None:
    """A second start while the server runs connects to it instead of starting a rival on the same files."""
    url = ensure_local_redis(data_dir)
    pid = (data_dir / "redis.pid").read_text()
    assert ensure_local_redis(data_dir) == url
    assert (data_dir / "redis.pid").read_text() == pid


def test_password_file_is_private(data_dir: Path) -> None:
    """The generated password file is readable by its owner only, and the server refuses clients without it."""
    url = ensure_local_redis(data_dir)
    assert (data_dir / "redis.password").stat().st_mode & 0o077 == 0
    no_password = redis.Redis(host="127.0.0.1", port=int(url.rsplit(":", 1)[1].split("/")[0]))
    with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
        no_password.ping()
    no_password.close()


def test_existing_data_dir_and_files_are_made_private(data_dir: Path) -> None:
    """A DATA_DIR that existed as 0755 becomes 0700, and the Redis data files and redis.port are 0600."""
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    url = ensure_local_redis(data_dir)
    client = redis.Redis.from_url(url)
    client.set("k", "v")
    client.close()
    assert data_dir.stat().st_mode & 0o777 == 0o700
    files = [data_dir / "redis.port", *[p for p in (data_dir / "redis").rglob("*") if p.is_file()]]
    assert any(p.name.endswith(".aof") for p in files)
    assert {p.name: p.stat().st_mode & 0o777 for p in files} == {p.name: 0o600 for p in files}
