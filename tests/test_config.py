"""Settings: defaults, the LLM trio, malformed values named by variable, secrets that never print."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Secret, load_settings, settings_from_mapping
from bot.errors import ConfigError


def test_defaults_point_at_arxiv_and_leave_translations_off() -> None:
    """With nothing set the bot reads arXiv's real endpoints and runs in English."""
    settings = settings_from_mapping({"HOME": "/home/u"})
    assert settings.arxiv_rss_url == "https://rss.arxiv.org/rss"
    assert settings.arxiv_api_url == "https://export.arxiv.org/api/query"
    assert settings.llm is None
    assert settings.redis_url is None
    assert settings.data_dir == Path("/home/u/.local/share/arxiv-digest")


def test_llm_settings_are_read_together() -> None:
    """Base URL, key and model together enable translations; trailing slashes are dropped."""
    settings = settings_from_mapping(
        {"LLM_BASE_URL": "http://127.0.0.1:9/v1/", "LLM_API_KEY": "sk-secret", "LLM_MODEL": "m", "LLM_CONCURRENCY": "7"}
    )
    assert settings.llm is not None
    assert settings.llm.base_url == "http://127.0.0.1:9/v1"
    assert settings.llm.api_key.reveal() == "sk-secret"
    assert settings.llm.concurrency == 7


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"LLM_CONCURRENCY": "many", "LLM_BASE_URL": "http://x/v1", "LLM_MODEL": "m"}, "LLM_CONCURRENCY"),
        ({"LLM_API_KEY": "k"}, "LLM_BASE_URL"),
        ({"LLM_BASE_URL": "http://x/v1"}, "LLM_MODEL"),
        ({"LLM_BASE_URL": "ftp://x", "LLM_MODEL": "m"}, "LLM_BASE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"ARXIV_RSS_URL": "rss.arxiv.org"}, "ARXIV_RSS_URL"),
        ({"ARXIV_MIN_INTERVAL": "-1"}, "ARXIV_MIN_INTERVAL"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_malformed_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    """A missing or malformed setting raises one error whose message names the variable."""
    with pytest.raises(ConfigError, match=variable):
        settings_from_mapping(env)


def test_secrets_never_show_in_repr_or_errors() -> None:
    """Tokens and keys print as stars, also inside the settings' repr."""
    env = {"LLM_BASE_URL": "http://x/v1", "LLM_API_KEY": "sk-very-secret", "LLM_MODEL": "m"}
    settings = settings_from_mapping({**env, "TELEGRAM_BOT_TOKEN": "123:ABC"})
    assert "sk-very-secret" not in repr(settings)
    assert "123:ABC" not in repr(settings)
    assert "xyzzy" not in f"{Secret('xyzzy')} {Secret('xyzzy')!r}"


def test_redis_url_error_hides_the_password() -> None:
    """A malformed REDIS_URL is reported without the password it may contain."""
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({"REDIS_URL": "http://:hunter2@db:6379"})
    assert "hunter2" not in str(info.value)


def test_env_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Variables come from .env, and the process environment overrides them."""
    env_file = tmp_path / ".env"
    env_file.write_text("LLM_BASE_URL=http://from-file/v1\nLLM_MODEL=file-model\nLOG_LEVEL=debug\n")
    monkeypatch.setenv("LLM_MODEL", "env-model")
    monkeypatch.delenv("LLM_BASE_URL", raising=False)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    settings = load_settings(env_file)
    assert settings.llm is not None
    assert settings.llm.base_url == "http://from-file/v1"
    assert settings.llm.model == "env-model"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(("raw", "expected"), [("", False), ("true", True), ("Yes", True), ("0", False)])
def test_discord_message_content_flag(raw: str, expected: bool) -> None:
    """DISCORD_MESSAGE_CONTENT accepts the usual spellings of yes and no."""
    assert settings_from_mapping({"DISCORD_MESSAGE_CONTENT": raw}).discord_message_content is expected


def test_discord_message_content_flag_rejects_nonsense() -> None:
    """A value that is neither yes nor no is named in the error."""
    with pytest.raises(ConfigError, match="DISCORD_MESSAGE_CONTENT"):
        settings_from_mapping({"DISCORD_MESSAGE_CONTENT": "maybe"})


def test_every_bad_setting_is_named_in_one_error() -> None:
    """Several malformed settings are all named in one error, so the operator fixes them in one go."""
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({"LOG_LEVEL": "LOUD", "METRICS_PORT": "0", "TELEGRAM_MAX_RATE": "fast"})
    message = str(info.value)
    assert all(name in message for name in ("LOG_LEVEL", "METRICS_PORT", "TELEGRAM_MAX_RATE")), message
    assert "\n" not in message


def test_redis_password_never_shows_in_the_settings() -> None:
    """The password in REDIS_URL prints as stars with the rest of the settings, and is still used as given."""
    settings = settings_from_mapping({"REDIS_URL": "redis://:hunter2@db:6379/0"})
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    assert settings.redis_url is not None and settings.redis_url.reveal() == "redis://:hunter2@db:6379/0"


def test_blank_values_count_as_unset() -> None:
    """A variable set to spaces keeps its default, as an empty one does."""
    settings = settings_from_mapping({"TELEGRAM_MAX_RATE": "  ", "LOG_LEVEL": "", "TELEGRAM_BOT_TOKEN": " "})
    assert (settings.telegram_max_rate, settings.log_level, settings.telegram_bot_token) == (30, "INFO", None)
