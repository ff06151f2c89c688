"""A fake Telegram Bot API server on 127.0.0.1 that the real python-telegram-bot 22.8 can poll against.

python-telegram-bot sends every call as `POST <base_url><TOKEN>/<method>` through httpx with
`data=RequestData.json_parameters`, i.e. an `application/x-www-form-urlencoded` body in which string
values are sent as they are and every other value (ints, bools, lists, dicts such as `reply_markup`)
is `json.dumps`-ed; a call without arguments has an empty body, and only file uploads switch to
`multipart/form-data`. It reads `{"ok": true, "result": ...}` on 2xx; on other statuses it maps
`parameters.migrate_to_chat_id` to ChatMigrated, `parameters.retry_after` to RetryAfter, then 403 to
Forbidden, 401/404 to InvalidToken, 400 to BadRequest, 409 to Conflict and anything else to NetworkError.

The fake answers getMe, setWebhook, deleteWebhook, getWebhookInfo, getUpdates (long polling, capped at
`max_poll_wait`; 409 Conflict while a webhook is set, as Telegram answers),
setMyCommands, getMyCommands, sendMessage, sendDocument (kept in `documents`), editMessageText, editMessageReplyMarkup,
answerCallbackQuery, getChatMember, getChatAdministrators, getChat, sendChatAction and deleteMessage;
anything else is recorded and answered 404. Messages in HTML parse mode are validated the way Telegram
does (allowed tags, balanced tags, escaped `<` and `&`) and stored as the plain text plus entities.
A getUpdates that starts while another is pending ends the pending one with 409 Conflict, as Telegram does.
Tests script users (`user_sends`, `user_presses`), failures (`block`, `migrate`, `retry_after`) and
can check or enforce Telegram's rate limits (`limit_violations`, `enforce_limits=True`): 1 message a second
per private chat, 20 a minute per group, 30 a second overall, and 1,000 a second overall for messages sent
with `allow_paid_broadcast` (counted in `paid_sent`; the free ones count toward the 1,000 too). In webhook mode
the test plays Telegram's side itself: `message_update` builds an update and `post_update` posts it to a replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import httpx
import pytest
from aiohttp import web

from tests.fakes.loopback import LoopbackServer

DEFAULT_TOKEN = "123456:TEST-token"
BOT_USERNAME = "arxiv_digest_test_bot"
BOT_FIRST_NAME = "arXiv Digest (test)"
MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_ENTITIES = 100  # Telegram renders only about 100; the fake refuses more so a bot never relies on the rest
MAX_KEYBOARD_BUTTONS = 100

PRIVATE_CHAT_PER_SECOND = 1
GROUP_PER_MINUTE = 20
GLOBAL_PER_SECOND = 30
PAID_PER_SECOND = 1000  # with allow_paid_broadcast; the others still count toward GLOBAL_PER_SECOND

MemberStatus = Literal["creator", "administrator", "member", "restricted", "left", "kicked"]
LimitKind = Literal["private_chat_per_second", "group_per_minute", "global_per_second", "paid_per_second"]

# Parameters whose string values are never JSON: everything else arriving as a string is JSON-decoded
# when it parses (python-telegram-bot json.dumps-es every non-string value).
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "url",
        "data",
        "action",
        "query",
        "title",
        "description",
        "short_description",
        "name",
        "language_code",
        "emoji",
        "secret_token",
        "ip_address",
    }
)
# Parameters that are structured: decoded from a JSON string even when sent in a JSON body.
_JSON_PARAMS = frozenset(
    {"reply_markup", "entities", "commands", "scope", "allowed_updates", "link_preview_options", "reply_parameters"}
)

_TAG_TYPES: Mapping[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
}
_NAMED_ENTITIES: Mapping[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(?P<named>lt|gt|amp|quot)|#(?P<dec>[0-9]{1,7})|#[xX](?P<hex>[0-9a-fA-F]{1,6}));")
_PATH_RE = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z_]+)/?$")
_BUTTON_URL_RE = re.compile(r"^(https?|tg)://\S+$", re.IGNORECASE)
# What Telegram turns into entities in plain text by itself (a simplified subset of its rules).
_AUTO_ENTITY_RES = (
    ("url", re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"]+")),
    ("email", re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{4,31}\b")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
    ("cashtag", re.compile(r"(?<![\w$])\$[A-Z]{1,8}\b")),
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")),
)
_NO_AUTO_ENTITIES_IN = frozenset({"code", "pre", "text_link", "url", "email"})


class EntityParseError(ValueError):
    """Telegram's "can't parse entities" error; the message is the part after that prefix."""


class SentMessage(TypedDict):
    """One message the bot sent successfully, as the fake recorded it."""

    chat_id: int | str
    message_id: int
    text: str
    raw_text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    entities: list[dict[str, Any]]
    sent_at: float
    message: dict[str, Any]
    paid: bool  # sent with allow_paid_broadcast


@dataclass(frozen=True)
class LimitViolation:
    """A send that broke one of Telegram's rate limits (`count` messages inside the window, this one included)."""

    kind: LimitKind
    chat_id: int | str
    at: float
    count: int


@dataclass
class _OpenTag:
    """An HTML start tag waiting for its end tag."""

    name: str
    start: int
    attrs: dict[str, str]
    language: str | None = None


@dataclass
class _ApiError(Exception):
    """An error answer of the Bot API."""

    status: int
    description: str
    parameters: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram sends with this error."""
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _webhook_conflict() -> _ApiError:
    """Telegram's answer to getUpdates while a webhook is set."""
    return _ApiError(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    )


async def post_update(
    client: httpx.AsyncClient, url: str, update: Mapping[str, Any], secret: str | None
) -> httpx.Response:
    """POST an update to a bot's webhook as Telegram does (JSON, the secret in X-Telegram-Bot-Api-Secret-Token)."""
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    return await client.post(url, json=update, headers=headers)


def utf16_len(text: str) -> int:
    """The length of `text` in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    """The UTF-8 byte offset of character `index`, as Telegram reports positions."""
    return len(source[:index].encode("utf-8"))


def _decode_entity(match: re.Match[str]) -> str | None:
    """The character an HTML entity stands for, or None when it names no valid code point."""
    if match["named"]:
        return _NAMED_ENTITIES[match["named"]]
    code = int(match["dec"]) if match["dec"] else int(match["hex"], 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _unescape_attribute(raw: str) -> str:
    """Decode the entities Telegram supports inside an attribute value, leaving anything else as it is."""
    return _ENTITY_RE.sub(lambda m: _decode_entity(m) or m[0], raw)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into plain text and entities, raising EntityParseError as Telegram would."""
    out: list[str] = []
    position = 0  # in UTF-16 code units
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(source)

    def emit(chunk: str) -> None:
        """Append plain text to the output."""
        nonlocal position
        out.append(chunk)
        position += utf16_len(chunk)

    while i < n:
        char = source[i]
        if char == "&":
            match = _ENTITY_RE.match(source, i)
            decoded = _decode_entity(match) if match else None
            if match is None or decoded is None:
                raise EntityParseError(
                    f'Unsupported HTML entity or unescaped "&" at byte offset {_byte_offset(source, i)}; '
                    'escape it as "&amp;"'
                )
            emit(decoded)
            i = match.end()
            continue
        if char != "<":
            stop = min((p for p in (source.find("<", i), source.find("&", i)) if p != -1), default=n)
            emit(source[i:stop])
            i = stop
            continue
        offset = _byte_offset(source, i)
        if source.startswith("</", i):
            end = source.find(">", i)
            if end == -1:
                raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
            name = source[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
            tag = stack.pop()
            if name != tag.name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", found "</{name}>"'
                )
            entity = _close_tag(tag, position, stack)
            if entity is not None:
                entities.append(entity)
            i = end + 1
            continue
        j = i + 1
        while j < n and not source[j].isspace() and source[j] != ">":
            j += 1
        name = source[i + 1 : j].lower()
        if name not in _TAG_TYPES:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and source[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
            if source[j] == ">":
                j += 1
                break
            k = j
            while k < n and not source[k].isspace() and source[k] not in "=>":
                k += 1
            attr_name = source[j:k].lower()
            if not attr_name:
                raise EntityParseError(f'Empty attribute name in the tag "{name}" at byte offset {offset}')
            j = k
            while j < n and source[j].isspace():
                j += 1
            value = ""
            if j < n and source[j] == "=":
                j += 1
                while j < n and source[j].isspace():
                    j += 1
                if j >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
                if source[j] in "'\"":
                    close = source.find(source[j], j + 1)
                    if close == -1:
                        raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
                    value = _unescape_attribute(source[j + 1 : close])
                    j = close + 1
                else:
                    k = j
                    while k < n and not source[k].isspace() and source[k] != ">":
                        k += 1
                    value = _unescape_attribute(source[j:k])
                    j = k
            attrs[attr_name] = value
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        stack.append(_OpenTag(name=name, start=position, attrs=attrs))
        i = j
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def detect_entities(text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add the links, e-mails, mentions, hashtags, cashtags and commands Telegram finds in a text by itself.

    Nothing is found inside code, pre or a link; the result is sorted as Telegram sorts entities.
    """
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _NO_AUTO_ENTITIES_IN]
    found = list(entities)
    for kind, pattern in _AUTO_ENTITY_RES:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group())
            if any(start < right and left < end for left, right in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    found.sort(key=lambda e: (e["offset"], -e["length"]))
    return found


def _close_tag(tag: _OpenTag, position: int, stack: list[_OpenTag]) -> dict[str, Any] | None:
    """The entity a just-closed tag produces, or None (empty tags, `<a>` without href, a pre's language code)."""
    length = position - tag.start
    language = tag.attrs.get("class", "")
    in_pre = bool(stack) and stack[-1].name == "pre" and stack[-1].start == tag.start
    if tag.name == "code" and in_pre and language.startswith("language-"):
        stack[-1].language = language.removeprefix("language-")
        return None
    if length <= 0:
        return None
    kind = _TAG_TYPES[tag.name]
    entity: dict[str, Any] = {"type": kind, "offset": tag.start, "length": length}
    if kind == "text_link":
        href = tag.attrs.get("href")
        if not href:
            return None
        entity["url"] = href
    elif kind == "pre" and tag.language:
        entity["language"] = tag.language
    elif kind == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def _decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Turn form or JSON parameters into Python values: JSON-encoded non-string values are decoded."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and (key in _JSON_PARAMS or key not in _STRING_PARAMS):
            try:
                params[key] = json.loads(value)
                continue
            except ValueError:
                if key in _JSON_PARAMS:
                    raise _ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
        params[key] = value
    return params


def _uploaded(value: Any) -> dict[str, Any]:
    """A multipart file part as the fake keeps it: its file name and bytes."""
    return {"filename": getattr(value, "filename", ""), "data": value.file.read() if hasattr(value, "file") else b""}


def _int_param(params: Mapping[str, Any], key: str, *, required: bool = True) -> int | None:
    """An integer parameter, with Telegram's errors when it is missing or malformed."""
    value = params.get(key)
    if value is None:
        if required:
            raise _ApiError(400, f"Bad Request: {key} is empty")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _ApiError(400, f"Bad Request: invalid {key} specified")
    try:
        return int(value)
    except ValueError:
        raise _ApiError(400, f"Bad Request: invalid {key} specified") from None


def _validate_reply_markup(markup: Any) -> None:
    """Check an inline keyboard the way Telegram does (at most 100 buttons, button data 1-64 bytes, a valid URL)."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _ApiError(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    if sum(len(row) for row in rows) > MAX_KEYBOARD_BUTTONS:
        raise _ApiError(400, "Bad Request: REPLY_MARKUP_TOO_LONG")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not _BUTTON_URL_RE.match(str(url)):
                raise _ApiError(400, f"Bad Request: inline keyboard button URL '{url}' is invalid: BUTTON_URL_INVALID")


class FakeTelegram(LoopbackServer):
    """A fake Telegram Bot API on a free loopback port; `url + "/bot"` is the base_url for python-telegram-bot.

    Scripted users default to user_id = chat_id in private chats and 777 in groups; chats the bot writes to
    without having been seen are private for positive ids, supergroups for "-100..." ids, groups otherwise.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        enforce_limits: bool = False,
        max_poll_wait: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.enforce_limits = enforce_limits
        self.max_poll_wait = max_poll_wait
        self.clock = clock
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[SentMessage] = []
        self.edits: list[dict[str, Any]] = []
        self.deleted: list[tuple[int | str, int]] = []
        self.chat_actions: list[tuple[int | str, str]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.documents: list[dict[str, Any]] = []  # sendDocument calls: chat_id, filename, data, caption
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.limit_violations: list[LimitViolation] = []
        self.rate_limited = 0  # 429s answered for breaking a limit (enforce_limits), not the scripted ones
        self.webhook_deleted = 0
        self.webhook: dict[str, Any] | None = None  # what the last setWebhook set (url, secret_token, ...)
        self._closing = False
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._callback_ids = itertools.count(1)
        self._open_callbacks: set[str] = set()
        self._message_ids: dict[int | str, itertools.count[int]] = {}
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._members: dict[tuple[int | str, int], MemberStatus] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._blocked: set[int | str] = set()
        self.refused_chats: set[int | str] = set()
        self.conflicts = 0  # getUpdates answered 409 because another one started meanwhile
        self._poll_number = 0  # sends to these fail with 400 "chat not found" until removed
        self._migrated: dict[int | str, int] = {}
        self._retry_after: deque[int] = deque()
        self._recent_global: deque[float] = deque()
        self._recent_any: deque[float] = deque()  # paid and free messages alike, for the paid broadcast limit
        self.paid_sent = 0  # messages accepted with allow_paid_broadcast
        self._recent_by_chat: defaultdict[int | str, deque[float]] = defaultdict(deque)
        self._updates_changed = asyncio.Event()
        self._sent_changed = asyncio.Event()
        self.sends_open = asyncio.Event()  # clear it to hold sendMessage requests unprocessed (in flight)
        self.sends_open.set()
        self.send_delay = 0.0  # seconds each sendMessage takes before Telegram takes and answers it (a slow API)

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The server's root URL, `http://127.0.0.1:PORT`."""
        return self.root_url

    def routes(self, app: web.Application) -> None:
        """Route every path to the Bot API dispatcher."""
        app.router.add_route("*", "/{tail:.*}", self._handle)

    async def before_close(self) -> None:
        """Release pending long polls."""
        self._closing = True
        self.sends_open.set()
        self._wake_pollers()

    async def stop(self) -> None:
        """Release pending long polls and stop serving."""
        await self.close()

    @property
    def base_url(self) -> str:
        """The `base_url` to give python-telegram-bot (the token is appended to it)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """The `base_file_url` to give python-telegram-bot (file downloads are not served)."""
        return f"{self.url}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's User object as getMe returns it."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ----------------------------------------------------------------- scripting

    def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: Literal["private", "group", "supergroup"] = "private",
        first_name: str = "Ada",
        username: str | None = None,
        title: str | None = None,
    ) -> int:
        """Queue a user's message update as Telegram sends it (bot_command entity for "/..."); returns its update_id."""
        user = self._user(
            chat_id if user_id is None and chat_type == "private" else user_id or 777, first_name, username
        )
        chat = self._chat(chat_id, chat_type=chat_type, title=title, first_name=first_name, username=username)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        self._messages[(chat_id, message["message_id"])] = message
        return self._enqueue({"message": message})

    def message_update(self, chat_id: int, text: str) -> dict[str, Any]:
        """A private chat's message as Telegram would post it to a webhook, with a new update_id (not queued)."""
        update_id = self.user_sends(chat_id, text)
        update = self._updates.pop()  # taken back from the getUpdates queue: the test posts it itself
        assert update["update_id"] == update_id
        return update

    def user_presses(self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None) -> int:
        """Queue a callback_query update for a button on a message the bot sent; returns its update_id."""
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise AssertionError(
                f"the bot sent no message {message_id} to chat {chat_id}; sent: {self._describe_sent()}"
            )
        chat = message["chat"]
        if user_id is None:
            user_id = chat_id if chat.get("type") == "private" else 777
        query_id = f"cbq-{next(self._callback_ids)}"
        self._open_callbacks.add(query_id)
        return self._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id),
                    "message": message,
                    "chat_instance": f"ci{chat_id}",
                    "data": data,
                }
            }
        )

    def set_member_status(self, chat_id: int, user_id: int, status: MemberStatus) -> None:
        """Set what getChatMember answers for this user in this chat (default "member")."""
        self._members[(chat_id, user_id)] = status

    def block(self, chat_id: int | str) -> None:
        """Make sends to this chat fail with 403 "Forbidden: bot was blocked by the user"."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int | str) -> None:
        """Undo `block`."""
        self._blocked.discard(chat_id)

    def migrate(self, chat_id: int | str, new_chat_id: int) -> None:
        """Make sends to this group fail with 400 and `migrate_to_chat_id`, as after an upgrade to a supergroup."""
        self._migrated[chat_id] = new_chat_id
        old = self._chats.get(chat_id, {})
        self._chat(new_chat_id, chat_type="supergroup", title=old.get("title"))

    def retry_after(self, seconds: int, times: int = 1) -> None:
        """Make the next `times` sendMessage calls fail with 429 and `retry_after=seconds`."""
        self._retry_after.extend([seconds] * times)

    def sent_to(self, chat_id: int | str) -> list[SentMessage]:
        """The messages sent to one chat, in order."""
        return [m for m in self.sent if m["chat_id"] == chat_id]

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every request to `method` (case-insensitive), in order."""
        return [params for name, params in self.requests if name.lower() == method.lower()]

    def my_commands(self, scope: Mapping[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """The commands last set for a scope (default scope when None) and language."""
        return self.commands.get(self._commands_key(scope, language_code), [])

    async def wait_for_sent(self, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """Wait until at least `count` messages were sent in total; AssertionError listing them on timeout."""
        await self._wait_until(lambda: len(self.sent) >= count, timeout, f"{count} sent message(s)")
        return list(self.sent)

    async def wait_for_sent_to(self, chat_id: int | str, count: int = 1, timeout: float = 5.0) -> list[SentMessage]:
        """Wait until at least `count` messages were sent to `chat_id`; AssertionError listing all sent on timeout."""
        await self._wait_until(
            lambda: len(self.sent_to(chat_id)) >= count, timeout, f"{count} message(s) to chat {chat_id}"
        )
        return self.sent_to(chat_id)

    # ----------------------------------------------------------------- internals

    async def _wait_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait for a condition on the sent messages."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not done():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}; sent {len(self.sent)}: {self._describe_sent()}; "
                    f"last requests: {self.requests[-10:]}"
                )
            event = self._sent_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _describe_sent(self) -> str:
        """A short listing of the sent messages for assertion messages."""
        return repr([(m["chat_id"], m["message_id"], m["text"][:80]) for m in self.sent])

    def _enqueue(self, payload: dict[str, Any]) -> int:
        """Add an update to the queue and wake long polls."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **payload})
        self._wake_pollers()
        return update_id

    def _wake_pollers(self) -> None:
        """Wake every pending getUpdates."""
        event, self._updates_changed = self._updates_changed, asyncio.Event()
        event.set()

    def _notify_sent(self) -> None:
        """Wake every wait_for_sent."""
        event, self._sent_changed = self._sent_changed, asyncio.Event()
        event.set()

    def _user(self, user_id: int, first_name: str = "Ada", username: str | None = None) -> dict[str, Any]:
        """The User object for an id, created on first use."""
        if user_id == self.bot_id:
            return {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
            if username:
                user["username"] = username
            self._users[user_id] = user
        return user

    def _chat(
        self,
        chat_id: int | str,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        first_name: str = "Ada",
        username: str | None = None,
    ) -> dict[str, Any]:
        """The Chat object for an id, created on first use (type guessed from the id's sign when not given)."""
        chat = self._chats.get(chat_id)
        if chat is not None and (chat_type is None or chat["type"] == chat_type):
            return chat
        if chat_type is None:
            if isinstance(chat_id, str):
                chat_type = "channel"
            elif chat_id > 0:
                chat_type = "private"
            else:
                chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
            if username:
                chat["username"] = username
        else:
            chat["title"] = title or f"Test {chat_type} {chat_id}"
        self._chats[chat_id] = chat
        return chat

    def _next_message_id(self, chat_id: int | str) -> int:
        """The next message_id in a chat (shared by the user's and the bot's messages, as in Telegram)."""
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    @staticmethod
    def _commands_key(scope: Mapping[str, Any] | None, language_code: str | None) -> str:
        """The key under which commands for a scope and language are stored."""
        return json.dumps([scope or {"type": "default"}, language_code or ""], sort_keys=True)

    async def _handle(self, request: web.Request) -> web.Response:
        """Route one HTTP request to a Bot API method."""
        match = _PATH_RE.match(request.path)
        if match is None:
            return web.json_response(_ApiError(404, "Not Found").body(), status=404)
        method = match["method"]
        try:
            params = await self._read_params(request)
        except _ApiError as error:
            self.requests.append((method, {}))
            return web.json_response(error.body(), status=error.status)
        self.requests.append((method, params))
        if match["token"] != self.token:
            return web.json_response(_ApiError(401, "Unauthorized").body(), status=401)
        handler = self._handlers().get(method.lower())
        if handler is None:
            return web.json_response(_ApiError(404, "Not Found").body(), status=404)
        if method.lower() == "sendmessage":
            await self.sends_open.wait()
            await asyncio.sleep(self.send_delay)
        try:
            result = await handler(params)
        except _ApiError as error:
            return web.json_response(error.body(), status=error.status)
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        """Read the query string plus a JSON, urlencoded or multipart body into decoded parameters."""
        raw: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _ApiError(400, "Bad Request: can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise _ApiError(400, "Bad Request: JSON body must be an object")
                raw.update(body)
            else:
                form = await request.post()
                raw.update({key: value if isinstance(value, str) else _uploaded(value) for key, value in form.items()})
        return _decode_params(raw)

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        """The Bot API methods the fake implements, by lower-cased name."""
        return {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "senddocument": self._send_document,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "getchat": self._get_chat,
            "sendchataction": self._send_chat_action,
            "deletemessage": self._delete_message,
        }

    async def _true(self, params: dict[str, Any]) -> bool:
        """Methods that just succeed."""
        return True

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        """getMe: the bot user."""
        return self.bot_user

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        """setWebhook: an HTTPS URL (and a valid secret_token, if any) replaces the webhook; getUpdates then fails."""
        url = params.get("url")
        if not isinstance(url, str) or not url:
            return await self._delete_webhook(params)  # an empty URL removes the webhook, as in Telegram
        if not url.startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = params
        self._wake_pollers()  # a pending getUpdates ends with 409 Conflict
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """getWebhookInfo: the webhook's URL (empty when polling) and how many updates wait."""
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = int(self.webhook.get("max_connections") or 40)
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        """deleteWebhook: always succeeds; drop_pending_updates drops the queue."""
        self.webhook_deleted += 1
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """getUpdates: confirm updates below `offset`, then long-poll up to min(timeout, max_poll_wait) seconds."""
        if self.webhook is not None:
            raise _webhook_conflict()
        offset = _int_param(params, "offset", required=False)
        limit = _int_param(params, "limit", required=False) or 100
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates") or None
        if offset is not None and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_number += 1
        mine = self._poll_number
        self._wake_pollers()  # as Telegram does, a new getUpdates terminates a pending one with 409 Conflict

        def ready() -> list[dict[str, Any]]:
            """The updates to deliver now."""
            found = [u for u in self._updates if allowed is None or any(k in u for k in allowed)]
            return found[: max(1, min(limit, 100))]

        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(timeout, self.max_poll_wait)
        while not (found := ready()) and not self._closing:
            if self.webhook is not None:
                raise _webhook_conflict()
            if self._poll_number != mine:
                self.conflicts += 1
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            event = self._updates_changed
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                break
        return found

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        """setMyCommands: record the commands for their scope and language."""
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, 'Bad Request: parameter "commands" is required')
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params.get("scope"), params.get("language_code"))] = commands
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """getMyCommands: the commands recorded for the scope and language."""
        return self.my_commands(params.get("scope"), params.get("language_code") or "")

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        """deleteMyCommands: forget the commands for the scope and language."""
        self.commands.pop(self._commands_key(params.get("scope"), params.get("language_code")), None)
        return True

    def _chat_id(self, params: Mapping[str, Any]) -> int | str:
        """The chat_id parameter (an int, or an "@channel" string)."""
        value = params.get("chat_id")
        if isinstance(value, str) and value.startswith("@"):
            return value
        chat_id = _int_param(params, "chat_id")
        assert chat_id is not None
        return chat_id

    def _check_deliverable(self, chat_id: int | str) -> None:
        """Raise the scripted failures for a chat: blocked (403) or migrated (400 + migrate_to_chat_id)."""
        if chat_id in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.refused_chats:
            raise _ApiError(400, "Bad Request: chat not found")
        if chat_id in self._migrated:
            raise _ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )

    @staticmethod
    def _parse_text(params: Mapping[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
        """Validate a message text: (raw text, text after entity parsing, entities)."""
        raw = params.get("text")
        if raw is None:
            raise _ApiError(400, "Bad Request: message text is empty")
        raw = str(raw)
        parse_mode = params.get("parse_mode")
        if isinstance(parse_mode, str) and parse_mode.lower() == "html":
            try:
                text, entities = parse_html(raw)
            except EntityParseError as error:
                raise _ApiError(400, f"Bad Request: can't parse entities: {error}") from None
        else:
            text, entities = raw, list(params.get("entities") or [])
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        entities = detect_entities(text, entities)
        if utf16_len(text) > MAX_MESSAGE_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        if len(entities) > MAX_ENTITIES:
            raise _ApiError(400, f"Bad Request: {len(entities)} entities; Telegram renders only {MAX_ENTITIES}")
        return raw, text, entities

    def _check_limits(self, chat_id: int | str, now: float, paid: bool = False) -> None:
        """Record (and, when enforcing, refuse with 429) sends beyond Telegram's rate limits."""
        chat_type = self._chat(chat_id)["type"]
        per_chat = self._recent_by_chat[chat_id]
        while per_chat and per_chat[0] <= now - 60:
            per_chat.popleft()
        for recent in (self._recent_global, self._recent_any):
            while recent and recent[0] <= now - 1:
                recent.popleft()
        broken: list[tuple[LimitKind, int, float]] = []
        if chat_type == "private":
            last_second = [t for t in per_chat if t > now - 1]
            if len(last_second) >= PRIVATE_CHAT_PER_SECOND:
                broken.append(("private_chat_per_second", len(last_second) + 1, last_second[0] + 1 - now))
        elif len(per_chat) >= GROUP_PER_MINUTE:
            broken.append(("group_per_minute", len(per_chat) + 1, per_chat[-GROUP_PER_MINUTE] + 60 - now))
        if not paid and len(self._recent_global) >= GLOBAL_PER_SECOND:
            wait = self._recent_global[-GLOBAL_PER_SECOND] + 1 - now
            broken.append(("global_per_second", len(self._recent_global) + 1, wait))
        if len(self._recent_any) >= PAID_PER_SECOND:
            wait = self._recent_any[-PAID_PER_SECOND] + 1 - now
            broken.append(("paid_per_second", len(self._recent_any) + 1, wait))
        for kind, count, _ in broken:
            self.limit_violations.append(LimitViolation(kind=kind, chat_id=chat_id, at=now, count=count))
        if broken and self.enforce_limits:
            self.rate_limited += 1
            seconds = max(1, math.ceil(max(wait for _, _, wait in broken)))
            raise _ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        per_chat.append(now)
        self._recent_any.append(now)
        if paid:
            self.paid_sent += 1
        else:
            self._recent_global.append(now)

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendMessage: scripted failures, validation, rate limits, then a full Message object."""
        if self._retry_after:
            seconds = self._retry_after.popleft()
            raise _ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        chat_id = self._chat_id(params)
        self._check_deliverable(chat_id)
        raw, text, entities = self._parse_text(params)
        markup = params.get("reply_markup")
        _validate_reply_markup(markup)
        now = self.clock()
        paid = params.get("allow_paid_broadcast") is True
        self._check_limits(chat_id, now, paid)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": self._user(self.bot_id),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        self.sent.append(
            SentMessage(
                chat_id=chat_id,
                message_id=message["message_id"],
                text=text,
                raw_text=raw,
                parse_mode=params.get("parse_mode"),
                reply_markup=markup if isinstance(markup, dict) else None,
                entities=entities,
                sent_at=now,
                message=message,
                paid=paid,
            )
        )
        self._notify_sent()
        return message

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendDocument: a multipart upload of one file with an optional caption (at most 1024 characters)."""
        chat_id = self._chat_id(params)
        self._check_deliverable(chat_id)
        document = params.get("document")
        if not isinstance(document, dict) or not document.get("data"):
            raise _ApiError(400, "Bad Request: there is no document in the request")
        caption = str(params.get("caption", ""))
        if utf16_len(caption) > 1024:
            raise _ApiError(400, "Bad Request: message caption is too long")
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": self._user(self.bot_id),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "caption": caption,
            "document": {
                "file_id": f"doc{len(self.documents)}",
                "file_unique_id": f"u{len(self.documents)}",
                "file_name": document["filename"],
                "file_size": len(document["data"]),
            },
        }
        self.documents.append(
            {"chat_id": chat_id, "filename": document["filename"], "data": document["data"], "caption": caption}
        )
        self._notify_sent()
        return message

    def _existing_message(self, params: Mapping[str, Any], verb: str) -> dict[str, Any]:
        """The bot's message named by chat_id and message_id, or Telegram's "not found" error."""
        chat_id = self._chat_id(params)
        self._check_deliverable(chat_id)
        message_id = _int_param(params, "message_id")
        assert message_id is not None
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _ApiError(400, f"Bad Request: message to {verb} not found")
        return message

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        """editMessageText: same validation as sendMessage; 400 "message is not modified" for identical content."""
        raw, text, entities = self._parse_text(params)
        markup = params.get("reply_markup")
        _validate_reply_markup(markup)
        if params.get("inline_message_id"):
            self.edits.append({"inline_message_id": params["inline_message_id"], "text": text, "raw_text": raw})
            return True
        message = self._existing_message(params, "edit")
        new_markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == new_markup
        ):
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
            )
        message["text"] = text
        message["edit_date"] = int(time.time())
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        if new_markup is not None:
            message["reply_markup"] = new_markup
        else:
            message.pop("reply_markup", None)
        self.edits.append(
            {
                "chat_id": message["chat"]["id"],
                "message_id": message["message_id"],
                "text": text,
                "raw_text": raw,
                "parse_mode": params.get("parse_mode"),
                "reply_markup": new_markup,
                "edited_at": self.clock(),
            }
        )
        return message

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        """editMessageReplyMarkup: replace (or remove) a message's inline keyboard."""
        markup = params.get("reply_markup")
        _validate_reply_markup(markup)
        if params.get("inline_message_id"):
            return True
        message = self._existing_message(params, "edit")
        new_markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if message.get("reply_markup") == new_markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
            )
        if new_markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        self.edits.append(
            {"chat_id": message["chat"]["id"], "message_id": message["message_id"], "reply_markup": new_markup}
        )
        return message

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        """answerCallbackQuery: record the answer; unknown or already answered ids are a 400 as in Telegram."""
        query_id = params.get("callback_query_id")
        if query_id not in self._open_callbacks:
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self._open_callbacks.discard(query_id)
        self.callback_answers.append(params)
        return True

    def _member(self, chat_id: int | str, user_id: int) -> dict[str, Any]:
        """A ChatMember object for the status set with set_member_status."""
        status = self._members.get((chat_id, user_id), "member")
        member: dict[str, Any] = {"status": status, "user": self._user(user_id)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": True,
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        elif status == "restricted":
            member.update(
                {
                    "is_member": True,
                    "can_change_info": False,
                    "can_invite_users": False,
                    "can_pin_messages": False,
                    "can_send_messages": False,
                    "can_send_audios": False,
                    "can_send_documents": False,
                    "can_send_photos": False,
                    "can_send_videos": False,
                    "can_send_video_notes": False,
                    "can_send_voice_notes": False,
                    "can_send_polls": False,
                    "can_send_other_messages": False,
                    "can_add_web_page_previews": False,
                    "can_manage_topics": False,
                    "until_date": 0,
                }
            )
        return member

    async def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        """getChatMember: the status from the table set by set_member_status (default "member")."""
        chat_id = self._chat_id(params)
        user_id = _int_param(params, "user_id")
        assert user_id is not None
        return self._member(chat_id, user_id)

    async def _get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """getChatAdministrators: every user set as creator or administrator of the chat."""
        chat_id = self._chat_id(params)
        if self._chat(chat_id)["type"] == "private":
            raise _ApiError(400, "Bad Request: there are no administrators in the private chat")
        return [
            self._member(chat, user)
            for (chat, user), status in self._members.items()
            if chat == chat_id and status in ("creator", "administrator")
        ]

    async def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        """getChat: a ChatFullInfo with the fields python-telegram-bot requires."""
        chat = self._chat(self._chat_id(params))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        """sendChatAction: record the action."""
        chat_id = self._chat_id(params)
        self._check_deliverable(chat_id)
        self.chat_actions.append((chat_id, str(params.get("action", ""))))
        return True

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        """deleteMessage: forget the message; 400 "message to delete not found" for unknown ones."""
        message = self._existing_message(params, "delete")
        key = (message["chat"]["id"], message["message_id"])
        del self._messages[key]
        self.deleted.append(key)
        return True


@pytest.fixture(name="fake_telegram")
async def fixture_fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A running FakeTelegram with the default token."""
    async with FakeTelegram() as fake:
        yield fake
