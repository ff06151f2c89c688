"""Logging set-up: one line per event on standard error, with every known secret masked."""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType

from bot.config import Settings

MASK = "********"
QUIET_LIBRARIES = ("httpx", "httpcore", "urllib3", "arxiv", "aiohttp.access")
# Libraries that log routine work below WARNING (APScheduler: "Running job…" every 30 s): heard only at DEBUG.
ROUTINE_LIBRARIES = ("apscheduler",)
_URL_PASSWORD = re.compile(r"(redis|rediss)://([^:@/]*):([^@/]+)@")


class RedactSecrets(logging.Filter):
    """Replace every secret in a log record's final text, whichever library logged it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """The text with secrets and URL passwords masked."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _URL_PASSWORD.sub(rf"\1://\2:{MASK}@", text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record's message (and traceback text) in place; never drop the record."""
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret value the settings hold, and the parts of a token that could be logged on their own."""
    values = [s.reveal() for s in (settings.telegram_bot_token, settings.discord_bot_token) if s]
    if settings.llm is not None and settings.llm.api_key:
        values.append(settings.llm.api_key.reveal())
    if settings.telegram_webhook is not None:
        values.append(settings.telegram_webhook.secret.reveal())
    parts = [part for value in values for part in value.split(":") if len(part) >= 16]
    return values + parts


def configure_logging(settings: Settings) -> None:
    """Log to standard error at the configured level, masking secrets; keep chatty HTTP libraries quiet."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(settings_secrets(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for routine in ROUTINE_LIBRARIES:
        logging.getLogger(routine).setLevel(logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING)


def describe_crash(exc: BaseException, redact: RedactSecrets, *, debug: bool) -> str:
    """An unexpected exception as one masked line; with LOG_LEVEL=DEBUG its masked traceback follows."""
    line = " ".join(f"unexpected {type(exc).__name__}: {exc}".split())
    text = line + "\n" + "".join(traceback.format_exception(exc)).rstrip() if debug else line
    return redact.redact(text)


def install_exception_hooks(redact: RedactSecrets, *, debug: bool) -> None:
    """Make exceptions nobody catches (main thread, other threads, `Exception ignored in …`) print masked."""

    def report(exc: BaseException | None, where: str = "") -> None:
        if exc is not None:
            print(f"arxiv-digest: {where}{describe_crash(exc, redact, debug=debug)}", file=sys.stderr)

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        report(exc)

    sys.excepthook = excepthook
    sys.unraisablehook = lambda unraisable: report(unraisable.exc_value, "ignored in clean-up: ")
    threading.excepthook = lambda args: report(args.exc_value, f"in thread {args.thread.name if args.thread else ''}: ")
