"""Whether an error means Redis is unreachable, and a one-line reason naming the cause and the server."""

from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any

from redis.exceptions import AuthenticationError, ClusterDownError, RedisClusterException, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.errors import StoreUnavailable

OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    ClusterDownError,  # a cluster that lost a master (or has not finished forming)
    RedisTimeoutError,
    StoreUnavailable,
    ConnectionError,
    TimeoutError,
)
_AUTH_WORDS = ("WRONGPASS", "NOAUTH", "invalid username-password", "authenticated", "Authentication required")


def is_outage(exc: BaseException) -> bool:
    """True when the error says Redis cannot be reached (down, frozen, refusing us), not that a command was wrong."""
    exc = _unwrapped(exc)
    return isinstance(exc, OUTAGE_ERRORS) or _is_auth_failure(exc)


def _unwrapped(exc: BaseException) -> BaseException:
    """The cause a cluster client wraps when no node of the cluster could be reached (else the error itself)."""
    if isinstance(exc, RedisClusterException) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


def _is_auth_failure(exc: BaseException) -> bool:
    """True when Redis refused the credentials."""
    if isinstance(exc, AuthenticationError):
        return True
    return isinstance(exc, ResponseError) and any(word in str(exc) for word in _AUTH_WORDS)


def server_location(connection_kwargs: Mapping[str, Any]) -> str:
    """The server a pool connects to, as host:port or a socket path (never the password)."""
    path = connection_kwargs.get("path")
    if path:
        return str(path)
    return f"{connection_kwargs.get('host', 'localhost')}:{connection_kwargs.get('port', 6379)}"


def _refused(exc: BaseException) -> bool:
    """True when the connection was refused (nothing listens there)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or getattr(seen, "errno", None) == errno.ECONNREFUSED:
            return True
        seen = seen.__cause__ or seen.__context__
    return "Error 111 " in str(exc) or "Connection refused" in str(exc)


def describe_outage(exc: BaseException, where: str, timeout: float) -> str:
    """One line saying why Redis at `where` cannot be used: refused, timed out, wrong password, or else what."""
    exc = _unwrapped(exc)
    if _is_auth_failure(exc):
        if "HELLO must be called" in str(exc) or "NOAUTH" in str(exc) or "required" in str(exc):
            return f"Redis at {where} requires a password: put it in REDIS_URL (redis://:PASSWORD@host:port/0)"
        return f"Redis at {where} rejected the password: check the one in REDIS_URL"
    if isinstance(exc, RedisTimeoutError | TimeoutError):
        return f"Redis at {where} did not answer within {timeout:g} s (timeout): is it overloaded or frozen?"
    if _refused(exc):
        return f"cannot reach Redis at {where}: connection refused (is redis-server running there?)"
    if isinstance(exc, StoreUnavailable):
        return str(exc)
    reason = str(exc).split(" connecting to ")[-1] if str(exc) else type(exc).__name__
    return f"cannot reach Redis at {where}: {reason}"
