"""Start a chat adapter, turning each way a platform can refuse at start-up into one line naming what to fix."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from urllib.parse import urlsplit

import aiohttp
import discord
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

from bot.config import Settings
from bot.errors import DigestError
from bot.logs import RedactSecrets, settings_secrets
from bot.supervisor import Supervisor
from handlers.discord_bot import DiscordAdapter
from handlers.telegram_bot import TelegramAdapter


class StartupError(DigestError):
    """A chat platform could not be started; the message says what to fix and never holds a secret."""


async def start_telegram(adapter: TelegramAdapter, settings: Settings, polling: bool) -> None:
    """Start the Telegram adapter or raise StartupError: a rejected token, Telegram unreachable, or refusing."""
    try:
        await adapter.start(polling=polling)
    except InvalidToken:
        await _quietly(adapter.stop())
        raise StartupError(
            "Telegram rejected TELEGRAM_BOT_TOKEN: copy the whole token @BotFather gave you (123456789:AA…)"
        ) from None
    except NetworkError as exc:
        await _quietly(adapter.stop())
        raise StartupError(
            f"cannot reach Telegram at {_host(settings.telegram_api_url)} ({_reason(exc, settings)}): "
            "check the network, a proxy or TELEGRAM_API_URL"
        ) from None
    except TelegramError as exc:
        await _quietly(adapter.stop())
        raise StartupError(f"Telegram refused to start the bot ({_reason(exc, settings)})") from None


async def start_telegram_webhook(adapter: TelegramAdapter, settings: Settings) -> None:
    """Serve Telegram's webhook or raise StartupError: the port cannot be used, or Telegram refuses the URL."""
    webhook = settings.telegram_webhook
    assert webhook is not None
    try:
        await adapter.start_webhook(webhook)
    except OSError as exc:
        raise StartupError(
            f"cannot serve the Telegram webhook on {webhook.listen}:{webhook.port} ({exc.strerror or exc}): "
            "choose another TELEGRAM_WEBHOOK_PORT or TELEGRAM_WEBHOOK_LISTEN, or stop what uses it"
        ) from None
    except BadRequest as exc:  # a NetworkError too: caught first
        raise StartupError(f"Telegram refused TELEGRAM_WEBHOOK_URL ({_reason(exc, settings)})") from None
    except NetworkError as exc:
        raise StartupError(
            f"cannot reach Telegram at {_host(settings.telegram_api_url)} to set the webhook "
            f"({_reason(exc, settings)}): check the network, a proxy or TELEGRAM_API_URL"
        ) from None
    except TelegramError as exc:
        raise StartupError(f"Telegram refused to set the webhook ({_reason(exc, settings)})") from None


async def start_discord(
    adapter: DiscordAdapter, settings: Settings, gateway: bool, supervisor: Supervisor | None = None
) -> None:
    """Start the Discord adapter or raise StartupError: a rejected token, Discord unreachable, or refusing."""
    try:
        await adapter.start(gateway=gateway, supervisor=supervisor)
    except discord.LoginFailure:
        await _quietly(adapter.stop())
        raise StartupError(
            "Discord rejected DISCORD_BOT_TOKEN: copy the bot token from the Developer Portal "
            "(Applications → your app → Bot → Reset Token)"
        ) from None
    except discord.HTTPException as exc:
        await _quietly(adapter.stop())
        raise StartupError(f"Discord refused to start the bot (HTTP {exc.status})") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        await _quietly(adapter.stop())
        raise StartupError(f"cannot reach Discord ({_reason(exc, settings)}): check the network or a proxy") from None


def _host(url: str) -> str:
    """The host (and port) of a URL, without a path that could hold a token."""
    return urlsplit(url).netloc.rpartition("@")[2] or url


def _reason(exc: BaseException, settings: Settings) -> str:
    """A short reason naming the exception's innermost cause, without URLs or secrets (URLs can hold tokens)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    words = [word for word in str(exc).split() if "://" not in word and "/bot" not in word]
    text = RedactSecrets(settings_secrets(settings)).redact(" ".join(words))
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


async def _quietly(stopping: Awaitable[None]) -> None:
    """Await a clean-up step after a failed start; its own failure would only hide the real one."""
    with contextlib.suppress(Exception):
        await stopping
