"""Secrets never reach the log, whichever library writes the line."""

from __future__ import annotations

import logging

import pytest

from bot.config import settings_from_mapping
from bot.logs import MASK, RedactSecrets, settings_secrets

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_tokens_keys_and_redis_passwords_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    """A token, an API key, a bare token secret and a Redis URL password are masked in log lines and tracebacks."""
    settings = settings_from_mapping(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "LLM_BASE_URL": "http://x/v1", "LLM_MODEL": "m", "LLM_API_KEY": "sk-abc123xyz"}
    )
    logger = logging.getLogger("some.library")
    logger.addFilter(RedactSecrets(settings_secrets(settings)))
    with caplog.at_level(logging.DEBUG, logger="some.library"):
        logger.debug("POST https://api.telegram.org/bot%s/getMe", TOKEN)
        logger.info("key %s and secret part %s", "sk-abc123xyz", TOKEN.split(":")[1])
        logger.warning("connecting to redis://:hunter2hunter2@127.0.0.1:6379/0")
        try:
            raise RuntimeError(f"failed at /bot{TOKEN}/sendMessage")
        except RuntimeError:
            logger.exception("send failed")
    text = caplog.text
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert "sk-abc123xyz" not in text and "hunter2hunter2" not in text
    assert text.count(MASK) >= 5
