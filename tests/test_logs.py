"""Secrets never reach the log, whichever library writes the line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.config import settings_from_mapping
from bot.logs import MASK, QUIET_LIBRARIES, ROUTINE_LIBRARIES, configure_logging

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture(name="restored_logging")
def fixture_restored_logging() -> Iterator[None]:
    """Put back the root handlers and the logger levels that configure_logging changes."""
    root = logging.getLogger()
    names = (*QUIET_LIBRARIES, *ROUTINE_LIBRARIES)
    handlers, level, levels = root.handlers[:], root.level, [logging.getLogger(n).level for n in names]
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in zip(names, levels, strict=True):
        logging.getLogger(name).setLevel(old)


@pytest.mark.usefixtures("restored_logging")
def test_tokens_keys_and_redis_passwords_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    """A token, an API key, a bare token secret and a Redis URL password are masked in log lines and tracebacks."""
    settings = settings_from_mapping(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "LLM_BASE_URL": "http://x/v1",
            "LLM_MODEL": "m",
            "LLM_API_KEY": "sk-abc123xyz",
            "LOG_LEVEL": "DEBUG",
        }
    )
    configure_logging(settings)  # as `run`, `worker` and `chat` do: a library's lines reach the root handler
    logger = logging.getLogger("some.library")
    logger.debug("POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logger.info("key %s and secret part %s", "sk-abc123xyz", TOKEN.split(":")[1])
    logger.warning("connecting to redis://:hunter2hunter2@127.0.0.1:6379/0")
    try:
        raise RuntimeError(f"failed at /bot{TOKEN}/sendMessage")
    except RuntimeError:
        logger.exception("send failed")
    text = capsys.readouterr().err
    assert "getMe" in text and "send failed" in text and "RuntimeError" in text, text
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert "sk-abc123xyz" not in text and "hunter2hunter2" not in text
    assert text.count(MASK) >= 5
