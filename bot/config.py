"""Settings read from the environment and an optional `.env`; the only module that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.calendar import parse_holidays
from bot.errors import ConfigError


class Secret:
    """A token or key that never shows itself in logs, reprs or error messages."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


DEFAULT_DATA_DIR = Path("~/.local/share/arxiv-digest").expanduser()


@dataclass(frozen=True)
class LLMSettings:
    """How to reach the OpenAI-compatible chat-completions endpoint that writes translations."""

    base_url: str
    api_key: Secret
    model: str
    concurrency: int = 4
    timeout: float = 120.0
    max_attempts: int = 3


@dataclass(frozen=True)
class Settings:
    """Everything the bot can be configured with; see deploy/.env.example for each variable."""

    redis_url: str | None = None
    arxiv_rss_url: str = "https://rss.arxiv.org/rss"
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    arxiv_min_interval: float = 3.0
    llm: LLMSettings | None = None
    telegram_bot_token: Secret | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    discord_bot_token: Secret | None = None
    discord_guild_id: int | None = None
    discord_message_content: bool = False
    data_dir: Path = DEFAULT_DATA_DIR
    log_level: str = "INFO"
    arxiv_holidays: frozenset[date] = frozenset()
    telegram_max_rate: int = 30
    delivery_claim_idle: float = 60.0
    delivery_max_attempts: int = 5
    delivery_concurrency: int = 100
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    admin_ids: frozenset[str] = frozenset()
    paper_translations_per_user_hour: int = 20
    paper_translations_per_user_day: int = 100


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    """Read a positive integer variable, naming it when it is malformed."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a positive whole number, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be a positive whole number, got {raw!r}")
    return value


def _non_negative_float(env: Mapping[str, str], name: str, default: float) -> float:
    """Read a non-negative number of seconds, naming the variable when it is malformed."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0 or value != value:
        raise ConfigError(f"{name} must be a non-negative number of seconds, got {raw!r}")
    return value


def _snowflake(env: Mapping[str, str], name: str) -> int | None:
    """Read an optional Discord id (a positive whole number), naming the variable when it is malformed."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a Discord server id (a positive whole number), got {raw!r}")
    return int(raw)


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    """Read an http(s) URL, without a trailing slash, naming the variable when it is malformed."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {raw!r}")
    return raw.rstrip("/")


def _secret(env: Mapping[str, str], name: str) -> Secret | None:
    """Read a token; empty means not set."""
    raw = env.get(name, "").strip()
    return Secret(raw) if raw else None


def _llm_settings(env: Mapping[str, str]) -> LLMSettings | None:
    """Read the LLM settings; all three of base URL, key and model, or none (translations off)."""
    names = ("LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL")
    given = {n: env.get(n, "").strip() for n in names}
    if not any(given.values()):
        return None
    missing = [n for n in ("LLM_BASE_URL", "LLM_MODEL") if not given[n]]
    if missing:
        raise ConfigError(f"{missing[0]} must be set when any LLM_* variable is set (or unset them all)")
    return LLMSettings(
        base_url=_url(env, "LLM_BASE_URL", ""),
        api_key=Secret(given["LLM_API_KEY"]),
        model=given["LLM_MODEL"],
        concurrency=_positive_int(env, "LLM_CONCURRENCY", 4),
        timeout=_non_negative_float(env, "LLM_TIMEOUT", 120.0) or 120.0,
        max_attempts=_positive_int(env, "LLM_MAX_ATTEMPTS", 3),
    )


def _redis_url(env: Mapping[str, str]) -> str | None:
    """Read REDIS_URL; unset means the bot starts its own redis-server."""
    raw = env.get("REDIS_URL", "").strip()
    shown = raw.split("@")[-1]  # never the password
    if raw and not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {shown!r}")
    if raw.startswith(("redis://", "rediss://")):
        try:
            port = urlsplit(raw).port
        except ValueError:
            port = 0
        if port is not None and not 1 <= port <= 65535:
            raise ConfigError(f"REDIS_URL has a bad port: {shown!r} (a port is a number from 1 to 65535)")
    return raw or None


def _log_level(env: Mapping[str, str]) -> str:
    """Read LOG_LEVEL, one of Python's level names."""
    raw = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if raw not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {raw!r}")
    return raw


def _flag(env: Mapping[str, str], name: str) -> bool:
    """Read a yes/no setting (true/false, yes/no, 1/0, on/off)."""
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _port(env: Mapping[str, str], name: str) -> int | None:
    """Read an optional TCP port number."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"{name} must be a port number from 1 to 65535, got {raw!r}")
    return int(raw)


def _admin_ids(env: Mapping[str, str]) -> frozenset[str]:
    """Read ADMIN_IDS: user ids, optionally as platform:id, separated by commas or spaces."""
    items = [item for item in env.get("ADMIN_IDS", "").replace(",", " ").split() if item]
    for item in items:
        if not item.rpartition(":")[2].lstrip("-").isdigit():
            raise ConfigError(f"ADMIN_IDS must list numeric user ids (optionally platform:id), got {item!r}")
    return frozenset(items)


def _holidays(env: Mapping[str, str]) -> frozenset[date]:
    """Read ARXIV_HOLIDAYS: listing days without announcement, as YYYY-MM-DD separated by commas or spaces."""
    try:
        return parse_holidays(env.get("ARXIV_HOLIDAYS", ""))
    except ValueError as exc:
        raise ConfigError(f"ARXIV_HOLIDAYS: {exc}") from None


def _data_dir(env: Mapping[str, str]) -> Path:
    """Where the bot's own Redis keeps its data: DATA_DIR, else systemd's StateDirectory, else the XDG one."""
    explicit = env.get("DATA_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    state = env.get("STATE_DIRECTORY", "").strip()  # set by systemd for a unit with StateDirectory=
    if state:
        return Path(state.split(":")[0])
    xdg = env.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path(env.get("HOME", "~")).expanduser() / ".local" / "share"
    return base / "arxiv-digest"


def settings_from_mapping(env: Mapping[str, str]) -> Settings:
    """Build Settings from a mapping of variables; raises ConfigError naming the first bad variable."""
    return Settings(
        redis_url=_redis_url(env),
        arxiv_rss_url=_url(env, "ARXIV_RSS_URL", Settings.arxiv_rss_url),
        arxiv_api_url=_url(env, "ARXIV_API_URL", Settings.arxiv_api_url),
        arxiv_min_interval=_non_negative_float(env, "ARXIV_MIN_INTERVAL", 3.0),
        llm=_llm_settings(env),
        telegram_bot_token=_secret(env, "TELEGRAM_BOT_TOKEN"),
        telegram_api_url=_url(env, "TELEGRAM_API_URL", Settings.telegram_api_url),
        discord_bot_token=_secret(env, "DISCORD_BOT_TOKEN"),
        discord_guild_id=_snowflake(env, "DISCORD_GUILD_ID"),
        discord_message_content=_flag(env, "DISCORD_MESSAGE_CONTENT"),
        data_dir=_data_dir(env),
        log_level=_log_level(env),
        arxiv_holidays=_holidays(env),
        telegram_max_rate=_positive_int(env, "TELEGRAM_MAX_RATE", 30),
        delivery_claim_idle=_non_negative_float(env, "DELIVERY_CLAIM_IDLE", 60.0) or 60.0,
        delivery_max_attempts=_positive_int(env, "DELIVERY_MAX_ATTEMPTS", 5),
        delivery_concurrency=_positive_int(env, "DELIVERY_CONCURRENCY", 100),
        metrics_port=_port(env, "METRICS_PORT"),
        metrics_host=env.get("METRICS_HOST", "").strip() or "127.0.0.1",
        admin_ids=_admin_ids(env),
        paper_translations_per_user_hour=_positive_int(env, "PAPER_TRANSLATIONS_PER_USER_HOUR", 20),
        paper_translations_per_user_day=_positive_int(env, "PAPER_TRANSLATIONS_PER_USER_DAY", 100),
    )


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read Settings from `.env` (if present) overlaid by the process environment; an empty value means unset.

    So a copied .env.example full of empty `NAME=` lines (in `.env` or systemd's EnvironmentFile=) hides nothing.
    """
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None and v.strip()})
    merged.update({k: v for k, v in os.environ.items() if v.strip()})
    return settings_from_mapping(merged)
