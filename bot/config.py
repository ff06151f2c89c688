"""Settings read from the environment and an optional `.env` by pydantic-settings; the only reader of the environment.

Every field of `Settings` is the variable of the same name in upper case (`redis_url` is REDIS_URL), documented
in deploy/.env.example. Values are stripped, an empty value counts as unset (so a copied .env.example hides
nothing), and every malformed value is named in one ConfigError that never shows a secret.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    NonNegativeInt,
    PositiveInt,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from bot.calendar import parse_holidays
from bot.errors import ConfigError

LLM_CONCURRENCY = 4
LLM_TIMEOUT = 120.0
LLM_MAX_ATTEMPTS = 3
DELIVERY_CLAIM_IDLE = 60.0
# Cached translations expire this many days after they were written: as long as a day's listing is kept (its
# digest's buttons, /digest and /like read it), so at most a month of translated papers stays in Redis (about
# 5 KB each). /paper of an older paper translates it again.
TRANSLATION_TTL_DAYS = 30
CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", *CLUSTER_SCHEMES)


class Secret(SecretStr):
    """A token, key or password that shows itself as stars in logs, reprs and error messages."""

    def reveal(self) -> str:
        """Return the secret value, for the one place that must send it."""
        return self.get_secret_value()


@dataclass(frozen=True)
class LLMSettings:
    """How to reach the OpenAI-compatible chat-completions endpoint that writes translations."""

    base_url: str
    api_key: Secret
    model: str
    concurrency: int = LLM_CONCURRENCY
    timeout: float = LLM_TIMEOUT
    max_attempts: int = LLM_MAX_ATTEMPTS
    cache_ttl_days: int = TRANSLATION_TTL_DAYS  # 0: cached translations never expire

    @property
    def cache_ttl_seconds(self) -> int | None:
        """How long a cached translation is kept, in seconds (None: for good)."""
        return self.cache_ttl_days * 86400 if self.cache_ttl_days > 0 else None


def _http_url(value: str) -> str:
    """An http(s) URL without its trailing slash."""
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


@dataclass(frozen=True)
class TelegramWebhook:
    """Where Telegram posts updates (the public HTTPS URL) and where this process serves them (listen:port)."""

    url: str
    secret: Secret
    listen: str
    port: int

    @property
    def path(self) -> str:
        """The URL's path, served as it is: a proxy in front forwards the path unchanged."""
        return urlsplit(self.url).path or "/"


def _https_url(value: str) -> str:
    """An https:// URL with a host (Telegram posts webhook updates only over HTTPS)."""
    if not value.startswith("https://") or not urlsplit(value).hostname:
        raise ValueError(f"must be an https:// URL (Telegram sends webhooks only over HTTPS), got {value!r}")
    return value


_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _secret_token(value: Secret) -> Secret:
    """Telegram's secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -."""
    if not _SECRET_TOKEN.fullmatch(value.reveal()):
        raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule for secret tokens)")
    return value


def _redis_url(value: Secret) -> Secret:
    """A redis://, rediss://, unix:// or redis+cluster:// URL whose port, if any, is a port number."""
    raw = value.reveal()
    shown = raw.split("@")[-1]  # never the password
    if not raw.startswith(REDIS_SCHEMES):
        raise ValueError(f"must start with {', '.join(REDIS_SCHEMES[:-1])} or {REDIS_SCHEMES[-1]}, got {shown!r}")
    if raw.startswith(CLUSTER_SCHEMES) and urlsplit(raw).path.strip("/") not in ("", "0"):
        raise ValueError(f"names a database other than 0, which a Redis Cluster does not have: {shown!r}")
    if not raw.startswith("unix://"):
        try:
            port = urlsplit(raw).port
        except ValueError:
            port = 0
        if port is not None and not 1 <= port <= 65535:
            raise ValueError(f"has a bad port: {shown!r} (a port is a number from 1 to 65535)")
    return value


def _words(value: object) -> object:
    """A text of items separated by commas or spaces, as a list of the items."""
    return value.replace(",", " ").split() if isinstance(value, str) else value


def _admin_id(item: str) -> str:
    """A numeric user id, optionally as platform:id."""
    if not item.rpartition(":")[2].lstrip("-").isdigit():
        raise ValueError(f"must list numeric user ids (optionally platform:id), got {item!r}")
    return item


def _shard_id(item: str) -> int:
    """One Discord shard number: 0 or more."""
    if not item.isdigit():
        raise ValueError(f"must list shard numbers (0, 1, 2, ...) separated by commas, got {item!r}")
    return int(item)


def _holidays(value: object) -> object:
    """ARXIV_HOLIDAYS as dates: YYYY-MM-DD separated by commas or spaces."""
    return parse_holidays(value) if isinstance(value, str) else value


def _or_default(default: float) -> Callable[[float], float]:
    """A validator turning 0 into the default (as the hand-written settings always did)."""
    return lambda value: value or default


Url = Annotated[str, AfterValidator(_http_url)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Port = Annotated[int, Field(ge=1, le=65535)]
ShardIds = Annotated[tuple[Annotated[int, BeforeValidator(_shard_id)], ...], NoDecode, BeforeValidator(_words)]
AdminIds = Annotated[frozenset[Annotated[str, AfterValidator(_admin_id)]], NoDecode, BeforeValidator(_words)]
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(lambda v: str(v).upper())
]


class Settings(BaseSettings):
    """Everything the bot can be configured with; see deploy/.env.example for each variable."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore", frozen=True)

    redis_url: Annotated[Secret, AfterValidator(_redis_url)] | None = None
    redis_cluster: bool = False
    data_dir: Path = Path("~/.local/share/arxiv-digest").expanduser()
    arxiv_rss_url: Url = "https://rss.arxiv.org/rss"
    arxiv_api_url: Url = "https://export.arxiv.org/api/query"
    arxiv_min_interval: Seconds = 3.0
    arxiv_holidays: Annotated[frozenset[date], NoDecode, BeforeValidator(_holidays)] = frozenset()
    llm_base_url: Url | None = None
    llm_api_key: Secret | None = None
    llm_model: str | None = None
    llm_concurrency: PositiveInt = LLM_CONCURRENCY
    llm_timeout: Annotated[Seconds, AfterValidator(_or_default(LLM_TIMEOUT))] = LLM_TIMEOUT
    llm_max_attempts: PositiveInt = LLM_MAX_ATTEMPTS
    translation_ttl_days: NonNegativeInt = TRANSLATION_TTL_DAYS
    paper_translations_per_user_hour: PositiveInt = 20
    paper_translations_per_user_day: PositiveInt = 100
    telegram_bot_token: Secret | None = None
    telegram_api_url: Url = "https://api.telegram.org/bot"
    telegram_max_rate: PositiveInt = 30
    telegram_webhook_url: Annotated[str, AfterValidator(_https_url)] | None = None
    telegram_webhook_secret: Annotated[Secret, AfterValidator(_secret_token)] | None = None
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: Port = 8443
    telegram_paid_broadcast: bool = False
    discord_bot_token: Secret | None = None
    discord_guild_id: PositiveInt | None = None
    discord_message_content: bool = False
    discord_shard_count: PositiveInt | None = None
    discord_shard_ids: ShardIds = ()
    delivery_claim_idle: Annotated[Seconds, AfterValidator(_or_default(DELIVERY_CLAIM_IDLE))] = DELIVERY_CLAIM_IDLE
    delivery_max_attempts: PositiveInt = 5
    delivery_concurrency: PositiveInt = 100
    metrics_port: Port | None = None
    metrics_host: str = "127.0.0.1"
    admin_ids: AdminIds = frozenset()
    log_level: LogLevel = "INFO"

    # Facts of the environment, not settings: where the default data directory is (see _data_dir).
    state_directory: str | None = Field(None, exclude=True, repr=False)  # set by systemd for StateDirectory=
    xdg_data_home: str | None = Field(None, exclude=True, repr=False)
    home: str = Field("~", exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _strip(cls, values: Any) -> Any:
        """Strip every value, drop the empty ones (unset), and choose the data directory."""
        if not isinstance(values, dict):
            return values
        values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
        values = {k: v for k, v in values.items() if v != ""}
        values["data_dir"] = _data_dir(values)
        return values

    @model_validator(mode="after")
    def _llm_complete(self) -> Settings:
        """Base URL and model are needed when any of the LLM trio is set."""
        if self.llm_base_url or self.llm_api_key or self.llm_model:
            missing = [name for name in ("LLM_BASE_URL", "LLM_MODEL") if not getattr(self, name.lower())]
            if missing:
                raise ValueError(
                    f"{' and '.join(missing)} must be set when any LLM_* variable is set (or unset them all)"
                )
        return self

    @model_validator(mode="after")
    def _webhook_has_token(self) -> Settings:
        """A webhook is for a Telegram bot: TELEGRAM_WEBHOOK_URL needs TELEGRAM_BOT_TOKEN."""
        if self.telegram_webhook_url and not self.telegram_bot_token:
            raise ValueError("TELEGRAM_WEBHOOK_URL is set but TELEGRAM_BOT_TOKEN is not (set both, or unset the URL)")
        return self

    @property
    def telegram_webhook(self) -> TelegramWebhook | None:
        """The webhook settings, or None to poll (TELEGRAM_WEBHOOK_URL unset).

        Without TELEGRAM_WEBHOOK_SECRET the secret is derived from the bot token, so every replica using the
        token computes the same one and nothing else can.
        """
        if self.telegram_webhook_url is None or self.telegram_bot_token is None:
            return None
        secret = self.telegram_webhook_secret or Secret(
            hashlib.sha256(b"arxiv-digest webhook\0" + self.telegram_bot_token.reveal().encode()).hexdigest()
        )
        return TelegramWebhook(
            self.telegram_webhook_url, secret, self.telegram_webhook_listen, self.telegram_webhook_port
        )

    @model_validator(mode="after")
    def _shards_valid(self) -> Settings:
        """DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT, and every id is below it, each once."""
        ids, count = self.discord_shard_ids, self.discord_shard_count
        if not ids:
            return self
        if count is None:
            raise ValueError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total number of shards of the bot)")
        if too_big := [n for n in ids if n >= count]:
            raise ValueError(
                f"DISCORD_SHARD_IDS lists {too_big[0]}, but with DISCORD_SHARD_COUNT={count} "
                f"shards are numbered 0 to {count - 1}"
            )
        if len(set(ids)) != len(ids):
            raise ValueError("DISCORD_SHARD_IDS lists a shard twice")
        return self

    @model_validator(mode="after")
    def _cluster_reachable(self) -> Settings:
        """A cluster is reached over TCP at the node REDIS_URL names, in database 0."""
        if not self.redis_cluster:
            return self
        if self.redis_url is None:
            raise ValueError("REDIS_CLUSTER=true needs REDIS_URL naming one node of the cluster")
        raw = self.redis_url.reveal()
        if raw.startswith("unix://"):
            raise ValueError(
                "REDIS_CLUSTER=true needs a redis:// or rediss:// REDIS_URL (a cluster is reached over TCP)"
            )
        try:
            _redis_url(Secret(raw if raw.startswith(CLUSTER_SCHEMES) else raw.replace("://", "+cluster://", 1)))
        except ValueError as exc:
            raise ValueError(f"REDIS_URL {exc}") from None
        return self

    @property
    def llm(self) -> LLMSettings | None:
        """The LLM settings, or None when LLM_BASE_URL, LLM_API_KEY and LLM_MODEL are all unset (English only)."""
        if self.llm_base_url is None or self.llm_model is None:
            return None
        return LLMSettings(
            base_url=self.llm_base_url,
            api_key=self.llm_api_key or Secret(""),
            model=self.llm_model,
            concurrency=self.llm_concurrency,
            timeout=self.llm_timeout,
            max_attempts=self.llm_max_attempts,
            cache_ttl_days=self.translation_ttl_days,
        )


def _data_dir(values: Mapping[str, Any]) -> Path:
    """Where the bot's own Redis keeps its data: DATA_DIR, else systemd's StateDirectory, else the XDG one."""
    if "data_dir" in values:
        return Path(values["data_dir"]).expanduser()
    if "state_directory" in values:
        return Path(str(values["state_directory"]).split(":")[0])
    if "xdg_data_home" in values:
        return Path(values["xdg_data_home"]).expanduser() / "arxiv-digest"
    return Path(values.get("home", "~")).expanduser() / ".local" / "share" / "arxiv-digest"


SECRETS = {"redis_url", "telegram_bot_token", "discord_bot_token", "llm_api_key", "telegram_webhook_secret"}


def _problem(error: Mapping[str, Any]) -> str:
    """One bad setting in words: the variable, what is wrong, and the value unless it is secret.

    Our own validators' messages (value errors) say all, showing no secret; pydantic's get the value added.
    """
    reason = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:
        return reason
    field = str(error["loc"][0])
    if error["type"] == "value_error":
        return f"{field.upper()} {reason}"
    if field in SECRETS or not isinstance(error["input"], str):
        return f"{field.upper()}: {reason}"
    return f"{field.upper()}: {reason}, got {error['input']!r}"


def _validated(build: Callable[[], Settings]) -> Settings:
    """Build Settings, turning pydantic's errors into one ConfigError naming every bad variable."""
    try:
        return build()
    except ValidationError as exc:
        raise ConfigError("; ".join(_problem(error) for error in exc.errors())) from None


class _MappingSource(EnvSettingsSource):
    """The variables of a given mapping, read as the environment's are."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._given = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        """The mapping instead of os.environ, with names matched case-insensitively like the environment's."""
        return {name.lower(): value for name, value in self._given.items()}


def settings_from_mapping(env: Mapping[str, str]) -> Settings:
    """Build Settings from a mapping of variables only (not the environment); ConfigError names every bad one."""
    sources: tuple[PydanticBaseSettingsSource, ...] = (_MappingSource(Settings, env),)
    return _validated(lambda: Settings(_build_sources=(sources, {})))


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read Settings from `.env` (if present) overlaid by the process environment; an empty value means unset.

    So a copied .env.example full of empty `NAME=` lines (in `.env` or systemd's EnvironmentFile=) hides nothing.
    """
    return _validated(lambda: Settings(_env_file=env_file))
