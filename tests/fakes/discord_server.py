"""A fake Discord HTTP API (v10) on 127.0.0.1 that the real discord.py 2.7 client talks to, plus interaction payloads.

Point discord.py at it with `discord.http.Route.BASE = fake.api_base` (the webhook and interaction routes use the
same base). Every answer carries `Content-Type: application/json` exactly: aiohttp's `json_response` appends a
charset, and discord.py then reads the body as text.

Served: `GET /users/@me`, `GET /oauth2/applications/@me` (login), `GET`/`PUT` global and guild application
commands (tree sync), `POST /channels/{id}/messages`, `POST /users/@me/channels` (open a DM),
`POST /interactions/{id}/{token}/callback` (defer or answer), `POST /webhooks/{app}/{token}` (followups) and
`GET`/`PATCH`/`DELETE /webhooks/{app}/{token}/messages/@original`. Every message is checked against Discord's
limits (content 2000, 10 embeds, title 256, description 4096, 25 fields of 256/1024, footer 2048, 6000 across a
message's embeds, 5 rows of 5 buttons, custom_id 100, label 80, unique custom_ids), counted in UTF-16 units,
and refused with Discord's 400 "Invalid Form Body" JSON when one is exceeded. Scripted failures: a channel that
answers 403 (50007 cannot DM, 50013 missing permissions) or 404 (10003 unknown channel), and 429s with a `Via`
header and a JSON `retry_after`, as Discord's edge sends them.

A minimal sharded gateway at `gateway_url` (`GET /gateway/bot` names it, with `shard_count` shards, 2 by default;
point `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY` at it for an explicit shard count): HELLO, IDENTIFY,
READY and heartbeats in plain JSON text frames. Each IDENTIFY must carry `"shard": [id, shard_count]` (4010
Invalid Shard otherwise; 4011 Sharding Required without it when there is more than one shard), and each shard
is told only of the servers it owns, `(guild_id >> 22) % shard_count`, as unavailable guilds in its READY and then
one GUILD_CREATE each. `close_gateway_with` makes it close every connection after IDENTIFY with a code (4014:
privileged intents not enabled), `drop_gateway()` drops the open ones (or one shard's). `slash()` and `press()`
build INTERACTION_CREATE payloads: `dispatch()` sends one over the shard that owns its server, as Discord does, or
a test hands it to `client._connection.parse_interaction_create` without a gateway.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from aiohttp import web

from tests.fakes.loopback import LoopbackServer

DEFAULT_TOKEN = "MTIz.fake-discord.token"
APP_ID = 1_100_000_000_000_000_001
BOT_NAME = "arxiv-digest-test"
EPHEMERAL = 64
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
SEND_MESSAGES = 1 << 11
EVERYONE_PERMISSIONS = (1 << 10) | SEND_MESSAGES | (1 << 16) | (1 << 31)  # view, send, history, use commands
ERROR_MESSAGES = {
    10003: "Unknown Channel",
    10008: "Unknown Message",
    10015: "Unknown Webhook",
    10062: "Unknown interaction",
    40060: "Interaction has already been acknowledged.",
    50001: "Missing Access",
    50006: "Cannot send an empty message",
    50007: "Cannot send messages to this user",
    50013: "Missing Permissions",
    50035: "Invalid Form Body",
}
LIMITS = {"content": 2000, "title": 256, "description": 4096, "name": 256, "value": 1024, "footer": 2048}
T = TypeVar("T")


def utf16_len(text: str) -> int:
    """The length in UTF-16 code units: stricter than code points, so within it is within Discord either way."""
    return len(text.encode("utf-16-le")) // 2


def snowflake_time() -> str:
    """An ISO timestamp as Discord writes them."""
    return datetime.now(UTC).isoformat()


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer with exactly `Content-Type: application/json` (no charset), as discord.py expects."""
    return web.Response(
        status=status, body=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )


def _error(status: int, code: int, errors: dict[str, Any] | None = None) -> web.Response:
    """Discord's error body: `{"code", "message"[, "errors"]}`."""
    body: dict[str, Any] = {"code": code, "message": ERROR_MESSAGES.get(code, f"{status}: error")}
    if errors:
        body["errors"] = errors
    return _json(body, status)


def limit_problems(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every Discord limit a message payload breaks, as (path, code, message) triples."""
    problems: list[tuple[str, str, str]] = []

    def too_long(path: str, text: Any, limit: int) -> None:
        if isinstance(text, str) and utf16_len(text) > limit:
            problems.append((path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."))

    too_long("content", payload.get("content"), LIMITS["content"])
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        problems.append(("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."))
    total = 0
    for n, embed in enumerate(embeds):
        too_long(f"embeds.{n}.title", embed.get("title"), LIMITS["title"])
        too_long(f"embeds.{n}.description", embed.get("description"), LIMITS["description"])
        too_long(f"embeds.{n}.footer.text", (embed.get("footer") or {}).get("text"), LIMITS["footer"])
        too_long(f"embeds.{n}.author.name", (embed.get("author") or {}).get("name"), LIMITS["title"])
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append((f"embeds.{n}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
        texts = [
            embed.get("title"),
            embed.get("description"),
            (embed.get("footer") or {}).get("text"),
            (embed.get("author") or {}).get("name"),
        ]
        for m, field in enumerate(fields):
            for key in ("name", "value"):
                text = field.get(key)
                if not isinstance(text, str) or not text.strip():
                    problems.append((f"embeds.{n}.fields.{m}.{key}", "BASE_TYPE_REQUIRED", "This field is required"))
                too_long(f"embeds.{n}.fields.{m}.{key}", text, LIMITS[key])
                texts.append(text)
        total += sum(utf16_len(t) for t in texts if isinstance(t, str))
    if total > 6000:
        problems.append(("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"))
    problems += _component_problems(payload.get("components") or [])
    return problems


def _component_problems(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The limits of action rows and buttons: 5 rows of 5, custom_id 100 and unique, label 80."""
    problems: list[tuple[str, str, str]] = []
    if len(rows) > 5:
        problems.append(("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."))
    seen: set[str] = set()
    for n, row in enumerate(rows):
        children = row.get("components") or []
        if row.get("type") != 1 or not 1 <= len(children) <= 5:
            problems.append((f"components.{n}", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."))
        for m, button in enumerate(children):
            custom_id = button.get("custom_id") or ""
            if button.get("style") != 5 and not 1 <= len(custom_id) <= 100:
                problems.append(
                    (
                        f"components.{n}.components.{m}.custom_id",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                )
            if custom_id in seen:
                problems.append(
                    (
                        f"components.{n}.components.{m}.custom_id",
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                )
            seen.add(custom_id)
            if utf16_len(button.get("label") or "") > 80:
                problems.append(
                    (f"components.{n}.components.{m}.label", "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length.")
                )
    return problems


def _nested_errors(problems: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Discord's nested `errors` object: each path segment a key, `_errors` at the leaf."""
    tree: dict[str, Any] = {}
    for path, code, message in problems:
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": code, "message": message})
    return tree


@dataclass
class _Interaction:
    """An interaction the fake issued: where it happened and how it was answered."""

    id: int
    token: str
    type: int
    channel_id: int
    guild_id: int | None
    response_type: int | None = None
    response_flags: int = 0
    original_used: bool = False


class FakeDiscord(LoopbackServer):
    """A fake Discord REST API on a free loopback port; `api_base` is what discord.http.Route.BASE should be."""

    def __init__(self, token: str = DEFAULT_TOKEN, app_id: int = APP_ID, shard_count: int = 2) -> None:
        super().__init__()
        self.token = token
        self.app_id = app_id
        self.shard_count = shard_count
        self.requests: list[tuple[str, str]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}  # "global" or a guild id -> registered commands
        self.command_puts: list[str] = []
        self.channel_messages: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        self.followups: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        self.callbacks: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.attachments: list[dict[str, Any]] = []  # uploaded files: filename, data
        self.dm_channels: dict[int, int] = {}
        self.guild_of: dict[int, int] = {}  # server channel id -> its server (guild) id
        self._ids = itertools.count(1_200_000_000_000_000_000)
        self._interactions: dict[str, _Interaction] = {}
        self._messages: dict[int, dict[str, Any]] = {}
        self._failures: dict[int, tuple[int, int]] = {}
        self._rate_limits: defaultdict[int, deque[float]] = defaultdict(deque)
        self.close_gateway_with: int | None = None
        self.identified: list[dict[str, Any]] = []
        self.identified_at: list[float] = []  # when each IDENTIFY arrived (time.monotonic)
        self.dispatched: list[tuple[int, str]] = []  # (shard, event) of every event sent over the gateway
        self.guilds: set[int] = set()  # servers the bot is in (each announced on the shard that owns it)
        self._sockets: set[web.WebSocketResponse] = set()
        self._shards: dict[int, web.WebSocketResponse] = {}  # shard id -> its open, identified connection
        self._sequence = itertools.count(1)
        self.posted_at: list[float] = []  # when each channel message request arrived (time.monotonic)

    # ----------------------------------------------------------------- lifecycle and routes

    @property
    def api_base(self) -> str:
        """The value for `discord.http.Route.BASE`."""
        return f"{self.root_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """The value for `DiscordWebSocket.DEFAULT_GATEWAY`."""
        return f"{self.root_url.replace('http://', 'ws://')}/gateway"

    def shard_of(self, guild_id: int | None) -> int:
        """The shard that carries a server's events (DMs: shard 0), by Discord's formula."""
        return 0 if guild_id is None else (guild_id >> 22) % self.shard_count

    def connected_shards(self) -> set[int]:
        """The shards with an open, identified gateway connection."""
        return {shard for shard, ws in self._shards.items() if not ws.closed}

    async def drop_gateway(self, code: int = 4000, shard: int | None = None) -> None:
        """Close every open gateway connection (or one shard's) with `code` (4000: resumable, discord.py reconnects)."""
        for ws in list(self._sockets):
            if shard is None or self._shards.get(shard) is ws:
                await ws.close(code=code)

    async def dispatch(self, event: str, payload: dict[str, Any]) -> int:
        """Send a gateway event (INTERACTION_CREATE, MESSAGE_CREATE...) over the shard owning its server; that shard."""
        guild_id = payload.get("guild_id")
        shard = self.shard_of(int(guild_id) if guild_id else None)
        ws = self._shards.get(shard)
        if ws is None or ws.closed:
            raise AssertionError(f"shard {shard} is not connected (connected: {sorted(self.connected_shards())})")
        await self._send(ws, event, payload)
        self.dispatched.append((shard, event))
        return shard

    async def before_close(self) -> None:
        """Close open gateway connections."""
        await self.drop_gateway(1001)

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        """One DISPATCH frame."""
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": next(self._sequence), "d": data}))

    def _guild(self, guild_id: int) -> dict[str, Any]:
        """A GUILD_CREATE payload: a server with one text channel, the bot its only member."""
        return {
            "id": str(guild_id),
            "name": f"server {guild_id}",
            "icon": None,
            "owner_id": "1",
            "unavailable": False,
            "member_count": 1,
            "roles": [{"id": str(guild_id), "name": "@everyone", "permissions": str(EVERYONE_PERMISSIONS)}],
            "channels": [],
            "threads": [],
            "members": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "preferred_locale": "en-US",
        }

    async def _identify(self, ws: web.WebSocketResponse, identify: dict[str, Any]) -> bool:
        """Answer an IDENTIFY: READY and the shard's servers, or a close (scripted, or for a wrong shard)."""
        self.identified.append(identify)
        self.identified_at.append(time.monotonic())
        shard = identify.get("shard")
        if self.close_gateway_with is not None:
            await ws.close(code=self.close_gateway_with)
            return False
        if shard is None and self.shard_count > 1:
            await ws.close(code=4011, message=b"Sharding required.")
            return False
        shard_id, count = shard or (0, 1)
        if count != self.shard_count or not 0 <= shard_id < count:
            await ws.close(code=4010, message=b"Invalid shard.")
            return False
        self._shards[shard_id] = ws
        owned = sorted(g for g in self.guilds if self.shard_of(g) == shard_id)
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": str(g), "unavailable": True} for g in owned],
            "session_id": f"fake-session-{shard_id}",
            "resume_gateway_url": self.gateway_url,
            "shard": [shard_id, count],
            "application": {"id": str(self.app_id), "flags": 0},
        }
        await self._send(ws, "READY", ready)
        for guild_id in owned:
            await self._send(ws, "GUILD_CREATE", self._guild(guild_id))
        return True

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        """HELLO, then READY after IDENTIFY (or a scripted close), then heartbeat ACKs."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
            async for message in ws:
                payload = json.loads(message.data)
                if payload["op"] == 2 and not await self._identify(ws, payload["d"]):
                    break
                if payload["op"] == 6:  # RESUME: the session cannot be resumed, identify again
                    await ws.send_str(json.dumps({"op": 9, "d": False}))
                elif payload["op"] == 1:
                    await ws.send_str(json.dumps({"op": 11}))
        finally:
            self._sockets.discard(ws)
        return ws

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        """GET /gateway/bot: where to connect and how many shards to run."""
        if not self._authorised(request):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": self.shard_count, "session_start_limit": limit})

    def routes(self, app: web.Application) -> None:
        """Discord's REST routes this fake implements; anything else is a 404 and recorded."""
        api = "/api/v10"
        r = app.router
        r.add_get("/gateway", self._gateway)
        r.add_get(f"{api}/gateway/bot", self._gateway_bot)
        r.add_get(f"{api}/users/@me", self._me)
        r.add_post(f"{api}/users/@me/channels", self._open_dm)
        r.add_get(f"{api}/oauth2/applications/@me", self._application)
        r.add_route("*", f"{api}/applications/{{app}}/commands", self._commands)
        r.add_route("*", f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._commands)
        r.add_post(f"{api}/channels/{{channel}}/messages", self._channel_message)
        r.add_post(f"{api}/interactions/{{iid}}/{{token}}/callback", self._callback)
        r.add_post(f"{api}/webhooks/{{app}}/{{token}}", self._followup)
        r.add_route("*", f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._original)
        r.add_route("*", "/{tail:.*}", self._unknown)

    def _authorised(self, request: web.Request) -> bool:
        """Record the request; True when it carries the bot token (webhook routes carry theirs in the path)."""
        self.requests.append((request.method, request.path))
        return request.headers.get("Authorization") == f"Bot {self.token}"

    # ----------------------------------------------------------------- scripting

    def fail_channel(self, channel_id: int, status: int, code: int) -> None:
        """From now on, answer messages to this channel with this error (403/50007, 403/50013, 404/10003...)."""
        self._failures[channel_id] = (status, code)

    def server_channel(self, channel_id: int, guild_id: int) -> None:
        """Declare a channel to be in a server, so messages posted there carry its guild_id."""
        self.guild_of[channel_id] = guild_id

    def busiest_second(self) -> int:
        """The most channel message requests that arrived within any one second (Discord allows 50 a bot)."""
        times, most, first = sorted(self.posted_at), 0, 0
        for last, at in enumerate(times):
            while times[first] <= at - 1.0:
                first += 1
            most = max(most, last - first + 1)
        return most

    def rate_limit(self, channel_id: int, retry_after: float = 0.2, times: int = 1) -> None:
        """Answer the next `times` messages to this channel with a 429 asking to wait `retry_after` seconds."""
        self._rate_limits[channel_id].extend([retry_after] * times)

    def user(self, user_id: int, name: str = "ada") -> dict[str, Any]:
        """A user object."""
        return {
            "id": str(user_id),
            "username": f"{name}{user_id}",
            "discriminator": "0",
            "global_name": name,
            "avatar": None,
            "public_flags": 0,
            "bot": False,
        }

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's own user object."""
        return {
            "id": str(self.app_id),
            "username": BOT_NAME,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
        }

    def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        channel_id: int,
        user_id: int,
        guild_id: int | None = None,
        permissions: int = EVERYONE_PERMISSIONS,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for a registered slash command, option types taken from its registration."""
        command = self._registered(name, guild_id)
        declared = {o["name"]: o for o in command.get("options", [])}
        given = []
        for key, value in (options or {}).items():
            if key not in declared:
                raise AssertionError(f"/{name} has no option {key!r}; registered: {sorted(declared)}")
            given.append({"name": key, "type": declared[key]["type"], "value": value})
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": given}
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return self._interaction(2, data, channel_id, user_id, guild_id, permissions)

    def press(
        self,
        message_id: int,
        custom_id: str,
        *,
        user_id: int,
        permissions: int = EVERYONE_PERMISSIONS,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for pressing a button on a message the bot sent."""
        message = self._messages.get(message_id)
        if message is None:
            raise AssertionError(f"the bot sent no message {message_id}")
        buttons = [b for row in message.get("components", []) for b in row.get("components", [])]
        if custom_id not in [b.get("custom_id") for b in buttons]:
            raise AssertionError(f"message {message_id} has no button {custom_id!r}")
        data = {"custom_id": custom_id, "component_type": 2}
        guild_id = message.get("guild_id")
        payload = self._interaction(
            3, data, int(message["channel_id"]), user_id, int(guild_id) if guild_id else None, permissions
        )
        payload["message"] = message
        return payload

    def _registered(self, name: str, guild_id: int | None) -> dict[str, Any]:
        """The command as registered for this guild (guild commands first) or globally."""
        scopes = ([str(guild_id)] if guild_id else []) + ["global"]
        for scope in scopes:
            for command in self.commands.get(scope, []):
                if command["name"] == name:
                    return command
        raise AssertionError(f"/{name} is not registered for guild {guild_id}; registered: {self.commands}")

    def _interaction(
        self, kind: int, data: dict[str, Any], channel_id: int, user_id: int, guild_id: int | None, permissions: int
    ) -> dict[str, Any]:
        """The common part of an interaction payload, in a server channel or a DM."""
        interaction = _Interaction(next(self._ids), f"itoken-{next(self._ids)}", kind, channel_id, guild_id)
        if guild_id is not None:
            self.server_channel(channel_id, guild_id)
        self._interactions[interaction.token] = interaction
        user = self.user(user_id)
        payload: dict[str, Any] = {
            "id": str(interaction.id),
            "application_id": str(self.app_id),
            "type": kind,
            "data": data,
            "token": interaction.token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
            "app_permissions": str(EVERYONE_PERMISSIONS),
            "channel_id": str(channel_id),
        }
        if guild_id is None:
            payload.update(
                user=user,
                context=1,
                authorizing_integration_owners={"1": str(user_id)},
                channel={"id": str(channel_id), "type": 1, "last_message_id": None, "flags": 0, "recipients": [user]},
            )
            return payload
        payload.update(
            guild_id=str(guild_id),
            guild={"id": str(guild_id), "locale": "en-US", "features": []},
            guild_locale="en-US",
            context=0,
            authorizing_integration_owners={"0": str(guild_id)},
            member={
                "user": user,
                "roles": [],
                "joined_at": "2024-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "pending": False,
                "nick": None,
                "avatar": None,
                "premium_since": None,
                "communication_disabled_until": None,
                "permissions": str(permissions),
            },
            channel={
                "id": str(channel_id),
                "type": 0,
                "guild_id": str(guild_id),
                "name": "papers",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
                "permissions": str(permissions),
            },
        )
        return payload

    # ----------------------------------------------------------------- what tests look at

    def sent_to(self, channel_id: int) -> list[dict[str, Any]]:
        """The messages posted to a channel through `POST /channels/{id}/messages`, oldest first."""
        return list(self.channel_messages.get(channel_id, []))

    def answers(self, token: str) -> list[dict[str, Any]]:
        """The messages sent in answer to an interaction (the deferred original, then followups)."""
        return list(self.followups.get(token, []))

    def callback_of(self, token: str) -> dict[str, Any]:
        """How the interaction with this token was acknowledged."""
        return next(c for c in self.callbacks if c["token"] == token)

    async def wait_for(self, check: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Wait until `check()` returns something truthy, and return it."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; requests so far: {self.requests[-10:]}")
            await asyncio.sleep(0.01)

    async def wait_for_answers(self, token: str, count: int) -> list[dict[str, Any]]:
        """Wait until the interaction has `count` answer messages."""
        return await self.wait_for(lambda: self.answers(token) if len(self.answers(token)) >= count else None)

    # ----------------------------------------------------------------- handlers

    async def _me(self, request: web.Request) -> web.Response:
        """GET /users/@me: the bot user (401 for a wrong token, as login expects)."""
        if not self._authorised(request):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        return _json(self.bot_user)

    async def _application(self, request: web.Request) -> web.Response:
        """GET /oauth2/applications/@me: the application, without an interactions endpoint URL."""
        if not self._authorised(request):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        owner = self.user(1, "owner")
        return _json(
            {
                "id": str(self.app_id),
                "name": BOT_NAME,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": owner,
                "team": None,
                "flags": 0,
                "tags": [],
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "approximate_guild_count": 1,
            }
        )

    async def _commands(self, request: web.Request) -> web.Response:
        """GET or PUT (bulk overwrite) global or guild application commands."""
        if not self._authorised(request):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        guild = request.match_info.get("guild")
        scope = guild or "global"
        if request.method == "GET":
            return _json(self.commands.get(scope, []))
        if request.method != "PUT":
            return _json({"message": "405: Method Not Allowed", "code": 0}, 405)
        registered = []
        for command in await request.json():
            full = {
                "id": str(next(self._ids)),
                "application_id": str(self.app_id),
                "version": str(next(self._ids)),
                "type": 1,
                "default_member_permissions": None,
                "nsfw": False,
                "options": [],
                **command,
            }
            if guild:
                full["guild_id"] = guild
            registered.append(full)
        self.commands[scope] = registered
        self.command_puts.append(scope)
        return _json(registered)

    async def _open_dm(self, request: web.Request) -> web.Response:
        """POST /users/@me/channels: the DM channel with a user (one per user)."""
        if not self._authorised(request):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        user_id = int((await request.json())["recipient_id"])
        channel_id = self.dm_channels.setdefault(user_id, next(self._ids))
        return _json(
            {"id": str(channel_id), "type": 1, "last_message_id": None, "flags": 0, "recipients": [self.user(user_id)]}
        )

    def _message(self, payload: dict[str, Any], channel_id: int, guild_id: int | None, flags: int) -> dict[str, Any]:
        """Store and return the message object Discord would create from a payload."""
        message: dict[str, Any] = {
            "id": str(next(self._ids)),
            "channel_id": str(channel_id),
            "author": self.bot_user,
            "content": payload.get("content") or "",
            "timestamp": snowflake_time(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [
                {
                    "id": str(next(self._ids)),
                    "filename": name,
                    "size": 1,
                    "url": "https://cdn.invalid/a",
                    "proxy_url": "https://cdn.invalid/a",
                }
                for name in payload.get("_files", [])
            ],
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": flags,
            "allowed_mentions": payload.get("allowed_mentions"),
        }
        guild_id = guild_id or self.guild_of.get(channel_id)
        if guild_id is not None:
            message["guild_id"] = str(guild_id)
        self._messages[int(message["id"])] = message
        return message

    async def _payload(self, request: web.Request) -> dict[str, Any]:
        """A message payload: JSON, or multipart (`payload_json` plus `files[n]`), its files kept in `attachments`."""
        if request.content_type != "multipart/form-data":
            body: dict[str, Any] = await request.json()
            return body
        form = await request.post()
        payload: dict[str, Any] = json.loads(str(form["payload_json"]))
        files = [(key, value) for key, value in form.items() if key.startswith("files[")]
        payload["_files"] = []
        for key, part in files:
            name = getattr(part, "filename", key)
            self.attachments.append({"filename": name, "data": part.file.read() if hasattr(part, "file") else b""})
            payload["_files"].append(name)
        return payload

    def _refusal(self, payload: dict[str, Any]) -> web.Response | None:
        """A 400 for a payload breaking Discord's limits or empty, recorded; None when it is acceptable."""
        if not (payload.get("content") or payload.get("embeds") or payload.get("components") or payload.get("_files")):
            self.refused.append(payload)
            return _error(400, 50006)
        problems = limit_problems(payload)
        if problems:
            self.refused.append({**payload, "problems": problems})
            return _error(400, 50035, _nested_errors(problems))
        return None

    async def _channel_message(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/messages: scripted failures and 429s first, then limits, then the message."""
        if not self._authorised(request):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        self.posted_at.append(time.monotonic())
        channel_id = int(request.match_info["channel"])
        if channel_id in self._failures:
            status, code = self._failures[channel_id]
            return _error(status, code)
        if self._rate_limits[channel_id]:
            wait = self._rate_limits[channel_id].popleft()
            return _json(
                {"message": "You are being rate limited.", "retry_after": wait, "global": False},
                429,
                {"Via": "1.1 google", "Retry-After": str(max(1, round(wait))), "X-RateLimit-Scope": "user"},
            )
        payload = await self._payload(request)
        refusal = self._refusal(payload)
        if refusal is not None:
            return refusal
        message = self._message(payload, channel_id, None, payload.get("flags") or 0)
        self.channel_messages[channel_id].append(message)
        return _json(message)

    async def _callback(self, request: web.Request) -> web.Response:
        """POST /interactions/{id}/{token}/callback: a defer (5, 6) or an immediate answer (4), once only."""
        interaction = self._interactions.get(request.match_info["token"])
        self.requests.append((request.method, request.path))
        if interaction is None or str(interaction.id) != request.match_info["iid"]:
            return _error(404, 10062)
        if interaction.response_type is not None:
            return _error(400, 40060)
        body = await request.json()
        kind, data = body["type"], body.get("data") or {}
        if kind == 4 and (refusal := self._refusal(data)) is not None:
            return refusal
        interaction.response_type, interaction.response_flags = kind, data.get("flags") or 0
        self.callbacks.append({"token": interaction.token, "type": kind, "flags": interaction.response_flags})
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(interaction.response_flags & EPHEMERAL),
            },
            "resource": {"type": kind},
        }
        if kind == 4:
            message = self._message(data, interaction.channel_id, interaction.guild_id, interaction.response_flags)
            interaction.original_used = True
            self.followups[interaction.token].append(message)
            answer["resource"]["message"] = message
        return _json(answer)

    async def _followup(self, request: web.Request) -> web.Response:
        """POST /webhooks/{app}/{token}: a followup; the first after a defer fills the deferred message."""
        self.requests.append((request.method, request.path))
        interaction = self._interactions.get(request.match_info["token"])
        if interaction is None or interaction.response_type is None or request.match_info["app"] != str(self.app_id):
            return _error(404, 10015)
        payload = await self._payload(request)
        refusal = self._refusal(payload)
        if refusal is not None:
            return refusal
        flags = payload.get("flags") or 0
        if interaction.response_type == 5 and not interaction.original_used:
            flags, interaction.original_used = interaction.response_flags, True
        message = self._message(payload, interaction.channel_id, interaction.guild_id, flags)
        self.followups[interaction.token].append(message)
        if request.query.get("wait", "false").lower() not in ("true", "1"):
            return web.Response(status=204)
        return _json(message)

    async def _original(self, request: web.Request) -> web.Response:
        """GET, PATCH or DELETE the interaction's original (deferred) answer."""
        self.requests.append((request.method, request.path))
        interaction = self._interactions.get(request.match_info["token"])
        if interaction is None or interaction.response_type is None:
            return _error(404, 10015)
        answers = self.followups[interaction.token]
        original = answers[0] if interaction.original_used and answers else None
        if request.method == "DELETE":
            interaction.original_used = True
            return web.Response(status=204)
        if request.method == "GET":
            return _json(original) if original else _error(404, 10008)
        payload = await self._payload(request)
        refusal = self._refusal(payload)
        if refusal is not None:
            return refusal
        if original is None:
            original = self._message(payload, interaction.channel_id, interaction.guild_id, interaction.response_flags)
            answers.insert(0, original)
            interaction.original_used = True
        else:
            original.update({k: payload[k] for k in ("content", "embeds", "components") if k in payload})
            original["edited_timestamp"] = snowflake_time()
        return _json(original)

    async def _unknown(self, request: web.Request) -> web.Response:
        """Anything else: recorded and answered 404, so a test sees what the client tried."""
        self.requests.append((request.method, request.path))
        return _json({"message": "404: Not Found", "code": 0}, 404)


@pytest.fixture(name="fake_discord")
async def fixture_fake_discord() -> AsyncIterator[FakeDiscord]:
    """A running FakeDiscord with the default token."""
    async with FakeDiscord() as fake:
        yield fake
