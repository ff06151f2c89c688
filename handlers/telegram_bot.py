"""The Telegram adapter: python-telegram-bot updates in, handler replies out as HTML messages with buttons."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.config import Secret, TelegramWebhook
from bot.delivery import OnSent, SendResult
from bot.models import Digest
from bot.render.fields import rating_of_data
from bot.render.telegram_html import ChatMessage, digest_messages, document_messages, paper_messages, text_messages
from bot.store import Store, is_outage
from bot.store.limiter import bot_key
from bot.subscribers import ChatRef, Lang
from handlers import texts
from handlers.commands import Commands, Incoming
from handlers.pacing import ChatPacer
from handlers.replies import DigestReply, Reply, TextReply, render_with
from handlers.update_order import PerChatUpdateProcessor

log = logging.getLogger(__name__)
PLATFORM = "telegram"
BUTTON_PREFIX = "paper:"
SLOW_COMMANDS = frozenset({"digest", "paper"})  # they may fetch from arXiv and wait for translations
BUTTONS_PER_ROW = 6
MAX_SEND_ATTEMPTS = 4
CALLBACK_ANSWER_LIMIT = 200  # Telegram shows at most 200 characters of a button's answer
PAID_BROADCAST_RATE = 1000  # messages a second with allow_paid_broadcast (0.1 Telegram Star each)
CONCURRENT_UPDATES = 256  # chats answered at once (most wait on I/O); one chat's own updates run in order
ALLOWED_UPDATES = ["message", "callback_query"]
WEBHOOK_BOOTSTRAP_RETRIES = 3  # setWebhook attempts at start-up beyond the first, a second apart
TAKE_UPDATE_TIMEOUT = 1.0  # seconds to ask Redis whether an update is new; past it the update is answered anyway
BOT_COMMANDS = [
    ("subscribe", "订阅主题 · add a topic filter"),
    ("list", "过滤器与设置 · filters and settings"),
    ("unsubscribe", "删除过滤器 · remove a filter"),
    ("paper", "论文双语摘要 · a paper's bilingual abstract"),
    ("digest", "最新摘要（all 全部，file 文件） · the latest digest (all, file)"),
    ("like", "👍 评价论文 · rate a paper up"),
    ("dislike", "👎 评价论文 · rate a paper down"),
    ("interest", "你的兴趣 · what you want, in words"),
    ("limit", "每期最多篇数 · papers per digest"),
    ("rank", "按相关性排序 on|off · rank best first"),
    ("time", "推送时间 · delivery time"),
    ("lang", "语言 · language"),
    ("stop", "退订并删除数据 · unsubscribe and delete"),
    ("help", "帮助 · help"),
]


def render_reply(reply: Reply) -> list[ChatMessage]:
    """A platform-neutral reply as Telegram messages."""
    return render_with(
        reply,
        paper_messages,
        digest_messages,
        text_messages,
        lambda f: document_messages(f.filename, f.data, f.caption),
    )


def keyboard(message: ChatMessage) -> InlineKeyboardMarkup | None:
    """One button per paper in the message, opening its full bilingual abstract; then its other buttons (👍/👎)."""
    if not message.buttons and not message.actions:
        return None
    buttons = [InlineKeyboardButton(label, callback_data=BUTTON_PREFIX + pid) for label, pid in message.buttons]
    rows = [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
    if message.actions:
        rows.append([InlineKeyboardButton(label, callback_data=data) for label, data in message.actions])
    return InlineKeyboardMarkup(rows)


class PollingRequest(HTTPXRequest):
    """The getUpdates connection; tells its owner whenever a poll is answered, so a cleared problem is noticed."""

    def __init__(self, on_answer: Callable[[int], None]) -> None:
        super().__init__(connection_pool_size=1)
        self._on_answer = on_answer

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """Send the request and report the HTTP status."""
        status, payload = await super().do_request(*args, **kwargs)
        self._on_answer(status)
        return status, payload


Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
ErrorCallback = Callable[[object, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def build_application(
    token: str,
    base_url: str,
    on_poll_answer: Callable[[int], None],
    on_command: Callable[[str], Callback],
    on_other_text: Callback,
    on_button: Callback,
    on_error: ErrorCallback,
) -> Application:  # type: ignore[type-arg]
    """The python-telegram-bot application: one CommandHandler per command, HTML and no link previews by default.

    CommandHandler checks the `@botname` suffix itself, so `/stop@otherbot` in a group reaches no command;
    any other text (an unknown command, plain words) goes to `on_other_text`.
    """
    app: Application = (  # type: ignore[type-arg]
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .concurrent_updates(PerChatUpdateProcessor(CONCURRENT_UPDATES))
        .get_updates_request(PollingRequest(on_poll_answer))
        .build()
    )
    for name in Commands.names():
        app.add_handler(CommandHandler(name, on_command(name), filters.UpdateType.MESSAGE))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, on_other_text))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_error_handler(on_error)
    return app


def chat_ref(chat_id: int) -> ChatRef:
    """The platform-neutral reference of a Telegram chat."""
    return ChatRef(PLATFORM, str(chat_id))


class TelegramAdapter:
    """Runs the bot on Telegram: polls updates, hands them to the commands, sends the replies."""

    def __init__(
        self,
        commands: Commands,
        store: Store,
        token: Secret,
        base_url: str = "https://api.telegram.org/bot",
        *,
        pacer: ChatPacer | None = None,
        max_rate: int = 30,
        paid_broadcast: bool = False,
    ) -> None:
        self._commands = commands
        self._store = store
        self._pacer = pacer or ChatPacer()
        # Messages only: Telegram does not count chat actions, callback answers or reads toward the 30/s.
        self._limiter = store.limiter(bot_key(PLATFORM, token.reveal()), max_rate)
        # With paid broadcasts, digests have a schedule of their own at Telegram's 1,000 a second (paid in Stars).
        self._paid_limiter = (
            store.limiter(bot_key(PLATFORM, token.reveal()), PAID_BROADCAST_RATE, schedule="paid")
            if paid_broadcast
            else None
        )
        self._started = False
        self._polling = False
        self._webhook = False  # serving updates posted by Telegram (any number of replicas): each is taken once
        self._taken_updates = store.updates(bot_key(PLATFORM, token.reveal()))
        self._poll_problem: str | None = None  # why polling fails (409: another poller), logged once
        self._background: set[asyncio.Task[None]] = set()
        self.app = build_application(
            token.reveal(),
            base_url,
            self._poll_answered,
            self.command_callback,
            self.on_other_text,
            self.on_button,
            self.on_error,
        )
        # Before any handler, inside the per-chat ordering (update_order.py): a duplicate never reaches a command.
        self.app.add_handler(TypeHandler(Update, self._take_update), group=-1)

    async def start(self, polling: bool = True) -> None:
        """Connect; with polling, also announce the command list and answer users (workers only send)."""
        await self.app.initialize()
        if polling:
            await self.start_polling()
        self._started = True
        log.info("telegram connected as @%s", self.app.bot.username)

    async def _start_answering(self) -> None:
        """Announce the command list and start handling updates (before polling or serving a webhook)."""
        await self.app.bot.set_my_commands([BotCommand(name, text) for name, text in BOT_COMMANDS])
        if not self.app.running:
            await self.app.start()

    async def start_polling(self) -> None:
        """Announce the command list and answer users (the one process that polls this token)."""
        await self._start_answering()
        assert self.app.updater is not None
        await self.app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, error_callback=self._poll_failed)
        self._polling = True
        log.info("telegram: polling for updates")

    async def start_webhook(self, webhook: TelegramWebhook) -> None:
        """Point Telegram at the webhook and answer the updates posted to it, with python-telegram-bot's server.

        Every replica calls setWebhook at start with the same URL and secret (idempotent), takes no poller lease,
        and handles an update only if no replica took its update_id before (Telegram retries, a proxy's repeats).
        The server answers 403 to a request without the secret in X-Telegram-Bot-Api-Secret-Token.
        """
        await self._start_answering()
        assert self.app.updater is not None
        self._webhook = True
        try:
            await self.app.updater.start_webhook(
                listen=webhook.listen,
                port=webhook.port,
                url_path=webhook.path,
                webhook_url=webhook.url,
                secret_token=webhook.secret.reveal(),
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=WEBHOOK_BOOTSTRAP_RETRIES,
            )
        except BaseException:
            self._webhook = False
            raise
        log.info("telegram: serving webhook updates on http://%s:%d%s", webhook.listen, webhook.port, webhook.path)

    async def _take_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """In webhook mode, stop an update some replica took already; during a Redis outage answer it anyway."""
        if not self._webhook:
            return
        try:
            async with asyncio.timeout(TAKE_UPDATE_TIMEOUT):
                first = await self._taken_updates.take(update.update_id)
        except Exception as exc:
            if not is_outage(exc):
                raise
            return  # the commands answer with an apology; better a rare double answer than none
        if not first:
            log.debug("telegram update=%s: taken already (a retry, or by another replica); skipped", update.update_id)
            raise ApplicationHandlerStop

    async def stop_polling(self) -> None:
        """Stop answering users (another process polls now); sending goes on."""
        self._polling = False
        self._poll_problem = None
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()

    def _poll_failed(self, exc: TelegramError) -> None:
        """A failed getUpdates: one line when polling starts failing (409 names the cause), none per retry."""
        if self._poll_problem is not None:
            return
        if isinstance(exc, Conflict):
            self._poll_problem = "conflict"
            log.error(
                "telegram: another process polls this bot token (409 Conflict): stop it, or let only one "
                "`arxiv-digest run` use the token; answering users is unreliable meanwhile"
            )
        else:
            self._poll_problem = type(exc).__name__
            log.warning("telegram: polling failed (%s: %s); retrying", type(exc).__name__, exc.message)

    def _poll_answered(self, status: int) -> None:
        """Telegram answered a poll; a 200 ends a polling problem."""
        if status == 200 and self._poll_problem is not None:
            log.warning("telegram: polling works again")
            self._poll_problem = None

    async def stop(self) -> None:
        """Stop polling or serving the webhook (which stays set for the other replicas) and disconnect."""
        self._started = False
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    def command_callback(self, name: str) -> Callback:
        """The CommandHandler callback of one command: answer it, showing "typing…" first when it is slow."""

        async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await self._answer(update, slow=name in SLOW_COMMANDS)

        return on_command

    async def on_other_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text no command handler took (plain words, an unknown command): the commands say what to do with it."""
        await self._answer(update, slow=False)

    async def _answer(self, update: Update, *, slow: bool) -> None:
        """Answer a text message through the platform-neutral commands."""
        message = update.effective_message
        if message is None or message.text is None or update.effective_chat is None:
            return
        incoming = Incoming(
            chat=chat_ref(update.effective_chat.id),
            user_id=str(message.from_user.id if message.from_user else 0),
            text=message.text,
            is_group=update.effective_chat.type != ChatType.PRIVATE,
            can_manage=lambda: self._is_manager(message),
            prefixes="/",  # `!` commands are a Discord feature; here they are not commands
            bot_username=self.app.bot.username,
        )
        log.info("telegram chat=%s command=%s", incoming.chat.chat_id, message.text.split(" ", 1)[0][:40])
        if slow:
            typing = asyncio.create_task(self._show_typing(update.effective_chat.id))  # never delays the answer
            self._background.add(typing)
            typing.add_done_callback(self._background.discard)
        interim = functools.partial(self.send, update.effective_chat.id, is_group=incoming.is_group, urgent=True)
        replies = await self._commands.handle(incoming, interim)
        await self.send(update.effective_chat.id, replies, incoming.is_group, urgent=True)

    async def _show_typing(self, chat_id: int) -> None:
        """Show "typing…" while a slow command (fetching, translating) is prepared; never fail because of it."""
        try:
            await self.app.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:
            log.debug("telegram chat=%s: no typing indicator (%s)", chat_id, exc.message)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A paper button was pressed: acknowledge it and send that paper's bilingual abstract."""
        query = update.callback_query
        if query is None:
            return
        if (rating := rating_of_data(query.data or "")) is not None:
            await self._rate(update, query, *rating)
            return
        if not (query.data or "").startswith(BUTTON_PREFIX):
            await query.answer(texts.STALE_BUTTON)  # a button the bot did not make: stop its spinner all the same
            return
        await query.answer()
        chat = update.effective_chat
        if chat is None:
            return
        paper_id = (query.data or "").removeprefix(BUTTON_PREFIX)
        incoming = Incoming(
            chat_ref(chat.id), str(query.from_user.id), f"/paper {paper_id}", is_group=chat.type != ChatType.PRIVATE
        )
        log.info("telegram chat=%s button paper=%s", chat.id, paper_id[:40])
        interim = functools.partial(self.send, chat.id, is_group=incoming.is_group, urgent=True)
        await self.send(chat.id, await self._commands.handle(incoming, interim), incoming.is_group, urgent=True)

    async def _rate(self, update: Update, query: CallbackQuery, command: str, paper_id: str) -> None:
        """A 👍/👎 button: rate the paper as /like or /dislike would, and say so in the button's answer."""
        chat = update.effective_chat
        if chat is None:
            await query.answer(texts.STALE_BUTTON)
            return

        async def can_manage() -> bool:
            member = await chat.get_member(query.from_user.id)
            return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

        incoming = Incoming(
            chat_ref(chat.id),
            str(query.from_user.id),
            f"/{command} {paper_id}",
            is_group=chat.type != ChatType.PRIVATE,
            can_manage=can_manage,
        )
        log.info("telegram chat=%s button %s paper=%s", chat.id, command, paper_id[:40])
        replies = await self._commands.handle(incoming)
        answer = " ".join(r.text for r in replies if isinstance(r, TextReply))
        await query.answer(answer[:CALLBACK_ANSWER_LIMIT] or None)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log an error no handler caught, without tokens (never the request URL)."""
        log.error("telegram update failed: %s: %s", type(context.error).__name__, context.error)

    async def _is_manager(self, message: Message) -> bool:
        """True for a group's administrators and owner, including anonymous admins posting as the group."""
        if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
            return True
        if message.from_user is None:
            return False
        member = await message.chat.get_member(message.from_user.id)
        return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

    async def deliver(
        self, chat: ChatRef, digest: Digest, lang: Lang, header: str, *, skip: int, on_sent: OnSent
    ) -> SendResult:
        """Push a scheduled digest to a chat (the delivery workers' entry point)."""
        chat_id = int(chat.chat_id)
        reply = DigestReply(digest, lang, header)
        paid = self._paid_limiter is not None
        return await self.send(chat_id, [reply], is_group=chat_id < 0, skip=skip, on_sent=on_sent, paid=paid)

    async def send_text(self, chat: ChatRef, text: str) -> SendResult:
        """Send a plain text to a chat (a broadcast)."""
        chat_id = int(chat.chat_id)
        return await self.send(chat_id, [TextReply(text)], is_group=chat_id < 0)

    def connected(self) -> bool:
        """True between a successful start and stop, and, when polling or serving a webhook, while that runs.

        Polling also needs its polls to succeed (no 409 Conflict).
        """
        receiving = self._polling or self._webhook
        receiving_ok = not receiving or (self.app.updater is not None and self.app.updater.running)
        return self._started and receiving_ok and self._poll_problem is None

    async def send(
        self,
        chat_id: int,
        replies: Sequence[Reply],
        is_group: bool = False,
        *,
        skip: int = 0,
        on_sent: OnSent | None = None,
        urgent: bool = False,
        paid: bool = False,
    ) -> SendResult:
        """Send replies to one chat in order and paced, after the first `skip` messages; stop if the chat is gone.

        `urgent` (an answer to the user's own command) takes the bot's next free send slot ahead of queued digests;
        `paid` sends as a paid broadcast, in the paid schedule (only with TELEGRAM_PAID_BROADCAST).
        """
        messages = [m for reply in replies for m in render_reply(reply)]
        chat = chat_ref(chat_id)
        async with self._pacer.lock(chat.key):
            for number, message in enumerate(messages[skip:], skip + 1):
                await self._pacer.wait_turn(chat.key, is_group)
                result, chat_id = await self._send_one(chat_id, message, is_group, urgent, paid)
                if result is not SendResult.SENT:
                    return result
                self._pacer.sent(chat.key, is_group)
                if on_sent is not None:
                    await on_sent(number)
        return SendResult.SENT

    async def _send_one(
        self, chat_id: int, message: ChatMessage, is_group: bool, urgent: bool, paid: bool = False
    ) -> tuple[SendResult, int]:
        """Send one message in its slot, waiting out RetryAfter, following a migration, unsubscribing a blocked chat."""
        paid_limiter = self._paid_limiter if paid else None
        limiter = paid_limiter or self._limiter
        flag = True if paid_limiter is not None else None  # None: the parameter is left out of the request
        for attempt in range(MAX_SEND_ATTEMPTS):
            await limiter.acquire(chat_ref(chat_id).key, self._pacer.interval(is_group), urgent=urgent)
            try:
                if message.document is not None:
                    await self.app.bot.send_document(
                        chat_id,
                        InputFile(message.document[1], message.document[0]),
                        caption=message.html,
                        allow_paid_broadcast=flag,
                    )
                    return SendResult.SENT, chat_id
                await self.app.bot.send_message(
                    chat_id, message.html, reply_markup=keyboard(message), allow_paid_broadcast=flag
                )
                return SendResult.SENT, chat_id
            except RetryAfter as exc:
                delay = exc.retry_after if isinstance(exc.retry_after, int | float) else exc.retry_after.total_seconds()
                log.warning("telegram chat=%s: flood control, pausing every send of this bot %.0f s", chat_id, delay)
                await self._limiter.pause(delay)
                if self._paid_limiter is not None:
                    await self._paid_limiter.pause(delay)
            except Forbidden as exc:
                log.warning("telegram chat=%s: cannot send (%s); unsubscribing", chat_id, exc.message)
                await self._store.delete_subscriber(chat_ref(chat_id))
                return SendResult.GONE, chat_id
            except ChatMigrated as exc:
                log.info("telegram chat=%s migrated to %s; subscription moved", chat_id, exc.new_chat_id)
                await self._store.move_subscriber(chat_ref(chat_id), chat_ref(exc.new_chat_id))
                chat_id = exc.new_chat_id
            except BadRequest as exc:
                log.error("telegram chat=%s: message refused: %s", chat_id, exc.message)
                return SendResult.FAILED, chat_id
            except NetworkError as exc:
                log.warning("telegram chat=%s: network error (%s), attempt %d", chat_id, exc.message, attempt + 1)
                await asyncio.sleep(2**attempt)
            except TelegramError as exc:
                log.error("telegram chat=%s: send failed: %s", chat_id, exc.message)
                return SendResult.FAILED, chat_id
        return SendResult.FAILED, chat_id
