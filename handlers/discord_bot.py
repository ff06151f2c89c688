"""The Discord adapter: slash commands, `!` text commands and buttons in; handler replies out as embeds."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import io
import json
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import aiohttp
import discord
from discord import app_commands

from bot.config import Secret
from bot.delivery import OnSent, SendResult
from bot.errors import ConfigError
from bot.models import Digest
from bot.render.discord_embeds import (
    BUTTON_PAPER,
    BUTTON_TEMPLATE,
    BUTTON_TEXT,
    BUTTONS_PER_ROW,
    CONTENT_LIMIT,
    DiscordMessage,
    Embed,
    button_id,
    digest_messages,
    file_messages,
    paper_messages,
    paper_of,
    text_messages,
)
from bot.render.fields import RATINGS, rating_data, rating_of_data
from bot.store import Store
from bot.store.limiter import bot_key
from bot.subscribers import ChatRef, Lang
from bot.supervisor import Supervisor
from handlers import texts
from handlers.commands import ADMIN_COMMANDS, Commands, Incoming
from handlers.replies import Reply, TextReply, render_with

log = logging.getLogger(__name__)
PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
ADMINS_ONLY = discord.Permissions(administrator=True)  # hides a command from ordinary members of a server
GLOBAL_MAX_RATE = 50  # requests a second per bot, across every process using its token
IDENTIFY_SECONDS = 5.0  # between two gateway sessions started by a bot (Discord: one IDENTIFY per 5 s), all processes
Interaction = discord.Interaction[Any]
Runner = Callable[[Interaction, str], Awaitable[None]]
PRIVILEGED_INTENT_MISSING = (
    "discord closed the gateway (4014): the bot asks for the privileged Message Content intent "
    '(DISCORD_MESSAGE_CONTENT=true) but the application may not use it: enable "Message Content Intent" under '
    "Bot → Privileged Gateway Intents in the Discord Developer Portal (https://discord.com/developers/applications), "
    "or unset DISCORD_MESSAGE_CONTENT"
)


def render_reply(reply: Reply) -> list[DiscordMessage]:
    """A platform-neutral reply as Discord messages."""
    return render_with(
        reply, paper_messages, digest_messages, text_messages, lambda f: file_messages(f.filename, f.data, f.caption)
    )


def to_embed(embed: Embed) -> discord.Embed:
    """The plain embed data as a discord.Embed (every field on its own line)."""
    result = discord.Embed(
        title=embed.title or None, url=embed.url or None, description=embed.description or None, colour=embed.colour
    )
    for field in embed.fields:
        result.add_field(name=field.name, value=field.value, inline=False)
    if embed.footer:
        result.set_footer(text=embed.footer)
    return result


class PaperButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=BUTTON_TEMPLATE):
    """A paper's "中文全文 / Full abstract" button; its custom_id carries the paper, so it works after a restart."""

    def __init__(self, paper_id: str, label: str = BUTTON_TEXT, row: int | None = None) -> None:
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            label=label, custom_id=button_id(paper_id), style=discord.ButtonStyle.secondary
        )
        super().__init__(button, row=row)
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PaperButton:
        """Rebuild the button from a pressed component's custom_id."""
        return cls(match["paper"], getattr(item, "label", None) or BUTTON_TEXT)

    async def callback(self, interaction: Interaction) -> None:
        """Hand the press to the adapter."""
        if isinstance(interaction.client, DigestClient):
            await interaction.client.adapter.on_button(interaction, self.paper_id)


RATING_TEMPLATE = "(?P<command>" + "|".join(c for _, c in RATINGS) + f"):(?P<paper>{BUTTON_PAPER.pattern})"


class RatingButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=RATING_TEMPLATE):
    """A 👍 or 👎 under a paper's abstract; its custom_id (`like:2402.03478`) carries the command and the paper."""

    def __init__(self, command: str, paper_id: str, label: str, row: int | None = None) -> None:
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            label=label, custom_id=rating_data(command, paper_id), style=discord.ButtonStyle.secondary
        )
        super().__init__(button, row=row)
        self.command, self.paper_id = command, paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RatingButton:
        """Rebuild the button from a pressed component's custom_id."""
        return cls(match["command"], match["paper"], getattr(item, "label", None) or "")

    async def callback(self, interaction: Interaction) -> None:
        """Hand the press to the adapter."""
        if isinstance(interaction.client, DigestClient):
            await interaction.client.adapter.on_rating(interaction, self.command, self.paper_id)


def view_of(message: DiscordMessage) -> discord.ui.View | None:
    """The message's buttons, five to a row; None when it has none."""
    papers = [(b.label, paper_of(b.custom_id)) for b in message.buttons]
    items: list[PaperButton | RatingButton] = [
        PaperButton(pid, label, n // BUTTONS_PER_ROW) for n, (label, pid) in enumerate(papers) if pid
    ]
    ratings = [(b.label, rating_of_data(b.custom_id)) for b in message.buttons]
    items += [RatingButton(*rating, label, 0) for label, rating in ratings if rating]
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def message_kwargs(message: DiscordMessage) -> dict[str, Any]:
    """Keyword arguments for `send()`: content, embeds, buttons, and no pings."""
    kwargs: dict[str, Any] = {
        "content": message.content or None,
        "embeds": [to_embed(e) for e in message.embeds],
        "allowed_mentions": NO_MENTIONS,
    }
    view = view_of(message)
    if view is not None:
        kwargs["view"] = view
    if message.file is not None:
        kwargs["file"] = discord.File(io.BytesIO(message.file[1]), filename=message.file[0])
    return kwargs


def can_manage(permissions: discord.Permissions) -> bool:
    """Whether these permissions allow changing a server channel's subscription."""
    return permissions.manage_channels or permissions.manage_guild or permissions.administrator


def tree_hash(tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake | None) -> str:
    """A hash of the commands exactly as a sync would send them for this scope (every command type)."""
    payload = [
        command.to_dict(tree)
        for kind in discord.AppCommandType
        for command in tree.get_commands(guild=guild, type=kind)
    ]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class DigestClient(discord.AutoShardedClient):
    """discord.py's sharded client with the command tree, button handler and message listener of the adapter.

    With `shard_count` None it asks Discord how many shards to run (GET /gateway/bot) and runs them all; with a
    count (and optionally this process's `shard_ids`) it runs those: one gateway connection per shard.
    """

    def __init__(
        self,
        adapter: DiscordAdapter,
        *,
        intents: discord.Intents,
        max_ratelimit_timeout: float,
        shard_count: int | None = None,
        shard_ids: Sequence[int] = (),
    ) -> None:
        super().__init__(
            intents=intents,
            max_ratelimit_timeout=max_ratelimit_timeout,
            allowed_mentions=NO_MENTIONS,
            shard_count=shard_count,
        )
        self.shard_ids = list(shard_ids) or None  # None: all of them (Settings checked them against the count)
        self.adapter = adapter
        self.tree = app_commands.CommandTree(self)
        self.sync_commands = False

    async def setup_hook(self) -> None:
        """After login: make buttons answer (also those sent before a restart) and register the slash commands."""
        self.add_dynamic_items(PaperButton, RatingButton)
        if self.sync_commands:
            await self.adapter.sync_commands()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait for the bot's next IDENTIFY turn: one every 5 s (by default) across every process running its shards."""
        await self.adapter.identify_turns.acquire()

    def own_shards(self) -> frozenset[int] | None:
        """The shards this process runs; None until discord.py knows how many there are."""
        if self.shard_ids:
            return frozenset(self.shard_ids)
        return None if self.shard_count is None else frozenset(range(self.shard_count))

    async def on_ready(self) -> None:
        """Log the gateway connection (every shard of this process is ready)."""
        log.info("discord gateway ready as %s in %d servers, shards %s", self.user, len(self.guilds), self.shard_ids)

    async def on_shard_ready(self, shard_id: int) -> None:
        """A shard received READY and its servers."""
        self.adapter.ready_shards.add(shard_id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        """A shard's gateway session resumed after a disconnect."""
        self.adapter.ready_shards.add(shard_id)

    async def on_shard_disconnect(self, shard_id: int) -> None:
        """A shard's connection dropped (discord.py reconnects by itself)."""
        self.adapter.ready_shards.discard(shard_id)

    async def on_message(self, message: discord.Message) -> None:
        """Hand text messages to the adapter."""
        await self.adapter.on_message(message)


def add_commands(tree: app_commands.CommandTree[Any], run: Runner) -> None:
    """Every chat command as a slash command with typed, described options; each runs its text form."""

    @tree.command(name="paper", description="论文双语摘要 · a paper's bilingual abstract")
    @app_commands.rename(paper_id="id")
    @app_commands.describe(paper_id="arXiv 编号或链接 · arXiv id or URL, e.g. 2402.03478")
    async def paper(interaction: Interaction, paper_id: app_commands.Range[str, 1, 200]) -> None:
        """/paper id: one paper's bilingual abstract."""
        await run(interaction, f"/paper {paper_id}")

    @tree.command(name="subscribe", description="订阅主题 · add a topic filter")
    @app_commands.rename(topic="filter")
    @app_commands.describe(topic='分类、关键词、"短语"、-排除、author: · e.g. cs.LG stat.ML, "diffusion model" -survey')
    async def subscribe(interaction: Interaction, topic: app_commands.Range[str, 1, 1000]) -> None:
        """/subscribe filter: add a topic filter."""
        await run(interaction, f"/subscribe {topic}")

    @tree.command(name="unsubscribe", description="删除过滤器 · remove a filter")
    @app_commands.describe(which="过滤器编号（见 /list）或 all · the filter's number (see /list) or all")
    async def unsubscribe(interaction: Interaction, which: app_commands.Range[str, 1, 10]) -> None:
        """/unsubscribe which: remove filter n, or all."""
        await run(interaction, f"/unsubscribe {which}")

    @tree.command(name="time", description="推送时间 · delivery time")
    @app_commands.describe(
        at="时间 HH:MM · time of day, e.g. 08:30",
        timezone="IANA 时区 · IANA timezone, e.g. Europe/Berlin (default: unchanged)",
    )
    async def time(
        interaction: Interaction,
        at: app_commands.Range[str, 1, 5],
        timezone: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        """/time at: [timezone:] set the delivery time."""
        await run(interaction, f"/time {at} {timezone or ''}".rstrip())

    @tree.command(name="lang", description="语言 · language")
    @app_commands.describe(lang="推送语言 · language of the digest")
    @app_commands.choices(
        lang=[
            app_commands.Choice(name="中文 · Chinese", value="zh"),
            app_commands.Choice(name="English", value="en"),
            app_commands.Choice(name="双语 · both", value="both"),
        ]
    )
    async def lang(interaction: Interaction, lang: app_commands.Choice[str]) -> None:
        """/lang lang: choose zh, en or both."""
        await run(interaction, f"/lang {lang.value}")

    @tree.command(name="broadcast", description="管理员：群发 · admins: send a text to every subscribed chat")
    @app_commands.default_permissions(ADMINS_ONLY)
    @app_commands.describe(text="要发送的内容 · the text to send")
    async def broadcast(interaction: Interaction, text: app_commands.Range[str, 1, 1000]) -> None:
        """/broadcast text: an administrator's message to every subscriber."""
        await run(interaction, f"/broadcast {text}")

    for name, description in [
        ("stats", "管理员：统计 · admins: statistics"),
        ("list", "过滤器与设置 · filters and settings"),
        ("stop", "退订并删除数据 · unsubscribe and delete"),
        ("help", "帮助 · help"),
        ("start", "开始 · welcome and help"),
    ]:
        command: app_commands.Command[Any, Any, Any] = app_commands.Command(
            name=name, description=description, callback=_plain(run, name)
        )
        command.default_permissions = ADMINS_ONLY if name in ADMIN_COMMANDS else None
        tree.add_command(command)


def add_ranking_commands(tree: app_commands.CommandTree[Any], run: Runner) -> None:
    """The ranking commands as slash commands: /like, /dislike, /interest, /rank, /limit, and /digest [all|file]."""
    ratings = (("like", "👍 评价论文 · rate a paper up"), ("dislike", "👎 评价论文 · rate a paper down"))
    for name, description in ratings:
        tree.add_command(app_commands.Command(name=name, description=description, callback=_rating(run, name)))

    @tree.command(name="interest", description="你的兴趣（留空查看，clear 清除） · what you want, in words")
    @app_commands.describe(text="例如 · e.g. uncertainty estimation for diffusion models; clear removes it")
    async def interest(interaction: Interaction, text: app_commands.Range[str, 1, 1000] | None = None) -> None:
        """/interest [text]: show, set or clear the interest."""
        await run(interaction, f"/interest {text or ''}".rstrip())

    @tree.command(name="rank", description="按相关性排序 · rank the digest best first")
    @app_commands.choices(on=[app_commands.Choice(name="on", value="on"), app_commands.Choice(name="off", value="off")])
    async def rank(interaction: Interaction, on: app_commands.Choice[str]) -> None:
        """/rank on|off."""
        await run(interaction, f"/rank {on.value}")

    @tree.command(name="limit", description="每期最多篇数 · papers per digest")
    @app_commands.describe(papers="1–1000 或 all · 1–1000 or all")
    async def limit(interaction: Interaction, papers: app_commands.Range[str, 1, 10]) -> None:
        """/limit n|all."""
        await run(interaction, f"/limit {papers}")

    @tree.command(name="digest", description="最新摘要 · the latest digest")
    @app_commands.describe(what="全部或文件 · all papers, or the whole day as a file")
    @app_commands.choices(
        what=[app_commands.Choice(name="all", value="all"), app_commands.Choice(name="file", value="file")]
    )
    async def digest(interaction: Interaction, what: app_commands.Choice[str] | None = None) -> None:
        """/digest [all|file]."""
        await run(interaction, f"/digest {what.value if what else ''}".rstrip())


def _rating(run: Runner, name: str) -> Callable[[Interaction, str], Coroutine[Any, Any, None]]:
    """The callback of /like or /dislike."""

    @app_commands.rename(paper_id="id")
    @app_commands.describe(paper_id="arXiv 编号或链接 · arXiv id or URL, e.g. 2402.03478")
    async def callback(interaction: Interaction, paper_id: app_commands.Range[str, 1, 200]) -> None:
        """Run the command's text form."""
        await run(interaction, f"/{name} {paper_id}")

    return callback


def _plain(run: Runner, name: str) -> Callable[[Interaction], Coroutine[Any, Any, None]]:
    """The callback of a command without options."""

    async def callback(interaction: Interaction) -> None:
        """Run the command's text form."""
        await run(interaction, f"/{name}")

    return callback


class DiscordAdapter:
    """Runs the bot on Discord: slash commands, `!` commands and buttons in, embeds out; pushes digests."""

    def __init__(
        self,
        commands: Commands,
        store: Store,
        token: Secret,
        *,
        guild_id: int | None = None,
        message_content: bool = False,
        max_ratelimit_timeout: float = 60.0,
        shard_count: int | None = None,
        shard_ids: Sequence[int] = (),
        identify_every: float = IDENTIFY_SECONDS,
    ) -> None:
        self._commands = commands
        self._store = store
        self._token = token
        self._guild_id = guild_id
        self._gateway: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self.ready_shards: set[int] = set()  # this process's shards between READY (or RESUMED) and a disconnect
        self._limiter = store.limiter(bot_key(PLATFORM, token.reveal()), GLOBAL_MAX_RATE)
        self.identify_turns = store.limiter(bot_key(PLATFORM, token.reveal()), 1 / identify_every, schedule="identify")
        self._logged_in = False
        intents = discord.Intents.default()
        intents.message_content = message_content
        # The bot never joins voice: discord.py's start-up warnings about missing voice libraries are noise.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        self._new_client = functools.partial(
            DigestClient,
            self,
            intents=intents,
            max_ratelimit_timeout=max_ratelimit_timeout,
            shard_count=shard_count,
            shard_ids=shard_ids,
        )
        self.client = self._build_client()

    def _build_client(self) -> DigestClient:
        """A new discord.py client with every slash command on its tree."""
        client = self._new_client()
        add_commands(client.tree, self.on_command)
        add_ranking_commands(client.tree, self.on_command)
        return client

    async def login(self, *, sync_commands: bool) -> None:
        """Log in over REST (and, with sync_commands, register the slash commands); no gateway yet."""
        self.client.sync_commands = sync_commands
        await self.client.login(self._token.reveal())
        self._logged_in = True

    async def start(self, gateway: bool = True, supervisor: Supervisor | None = None) -> None:
        """Log in; with the gateway, also sync commands and answer users (delivery-only workers only send).

        The gateway connection is supervised: when it ends (a close discord.py does not retry, such as missing
        privileged intents), it is logged once and opened again with a backoff of up to 30 s.
        """
        await self.login(sync_commands=gateway)
        if gateway:
            self._gateway = (supervisor or Supervisor()).spawn("discord gateway", self._connect, self._closing)
        log.info("discord logged in as %s (%s)", self.client.user, "gateway" if gateway else "REST only")

    async def _connect(self) -> None:
        """Hold every shard's gateway connection (discord.py reconnects by itself after ordinary disconnects).

        After a close it does not retry (missing intents, a wrong shard), discord.py's sharded client closes
        itself: the next attempt starts with a new one, logged in again.
        """
        if self.client.is_closed() and not self._closing.is_set():
            self.client = self._build_client()
            self.ready_shards.clear()
            await self.login(sync_commands=False)
        try:
            await self.client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            raise ConfigError(PRIVILEGED_INTENT_MISSING) from None

    def connected(self) -> bool:
        """True between login and stop while every shard of this process (when it has a gateway) is ready."""
        shards = self.client.own_shards()
        gateway_ok = self._gateway is None or (shards is not None and shards <= self.ready_shards)
        return self._logged_in and not self.client.is_closed() and gateway_ok

    async def stop(self) -> None:
        """Disconnect and close the HTTP session."""
        self._logged_in = False
        self._closing.set()
        await self.client.close()
        if self._gateway is not None:
            self._gateway.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._gateway

    async def sync_commands(self) -> None:
        """Register the slash commands: in one server when DISCORD_GUILD_ID is set (instant), else globally.

        Only when they changed since the last sync for this application and scope (their hash is kept in Redis):
        Discord rate-limits syncing, and discord.py's maintainers advise against syncing on every start.
        """
        tree = self.client.tree
        guild = discord.Object(id=self._guild_id) if self._guild_id else None
        if guild is not None:
            tree.copy_global_to(guild=guild)
        app, scope = str(self.client.application_id), str(self._guild_id or "global")
        digest = tree_hash(tree, guild)
        if await self._store.synced_commands_hash(PLATFORM, app, scope) == digest:
            log.info("discord: slash commands unchanged since the last sync; not synced again")
            return
        try:
            synced = await tree.sync(guild=guild)
        except discord.HTTPException as exc:
            log.error("discord: slash commands not synced: %s %s", exc.status, exc.text)
            return
        await self._store.put_synced_commands_hash(PLATFORM, app, scope, digest)
        log.info(
            "discord: %d slash commands synced %s", len(synced), f"to server {self._guild_id}" if guild else "globally"
        )

    def _incoming(self, interaction: Interaction, text: str) -> Incoming:
        """The platform-neutral message of an interaction: its channel, user, text and who may manage."""
        channel = interaction.channel
        is_group = interaction.guild_id is not None or (
            channel is not None and channel.type == discord.ChannelType.group
        )
        permissions = interaction.permissions

        async def may_manage() -> bool:
            """Server members with Manage Channels or Manage Server."""
            return interaction.guild_id is not None and can_manage(permissions)

        return Incoming(
            ChatRef(PLATFORM, str(interaction.channel_id)),
            str(interaction.user.id),
            text,
            is_group=is_group,
            can_manage=may_manage,
        )

    async def on_command(self, interaction: Interaction, text: str) -> None:
        """A slash command: acknowledge at once, then answer through the platform-neutral commands."""
        await interaction.response.defer(thinking=True)
        log.info("discord chat=%s command=%s", interaction.channel_id, text.split(" ", 1)[0][:40])
        await self._answer(interaction, text, ephemeral=False)

    async def on_button(self, interaction: Interaction, paper_id: str) -> None:
        """A paper button: that paper's bilingual abstract, seen only by the presser in a server."""
        ephemeral = interaction.guild_id is not None
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        log.info("discord chat=%s button paper=%s", interaction.channel_id, paper_id[:40])
        await self._answer(interaction, f"/paper {paper_id}", ephemeral=ephemeral)

    async def on_rating(self, interaction: Interaction, command: str, paper_id: str) -> None:
        """A 👍/👎 button: rate the paper as /like or /dislike would; the answer is seen only by the presser."""
        log.info("discord chat=%s button %s paper=%s", interaction.channel_id, command, paper_id[:40])
        try:
            replies = await self._commands.handle(self._incoming(interaction, f"/{command} {paper_id}"))
            answer = " ".join(r.text for r in replies if isinstance(r, TextReply)) or texts.FALLBACK
        except Exception as exc:  # the presser must get an answer whatever failed
            log.error("discord chat=%s: rating failed: %s: %s", interaction.channel_id, type(exc).__name__, exc)
            answer = texts.FALLBACK
        await interaction.response.send_message(answer[:CONTENT_LIMIT], ephemeral=True)

    async def _answer(self, interaction: Interaction, text: str, *, ephemeral: bool) -> None:
        """Run a deferred interaction's command and always end in a follow-up: an apology if anything fails."""
        try:
            interim = functools.partial(self._follow_up, interaction, ephemeral=ephemeral)
            replies = await self._commands.handle(self._incoming(interaction, text), interim)
            await self._follow_up(interaction, replies, ephemeral=ephemeral)
        except Exception as exc:  # whatever failed, the user must not be left on "thinking…"
            log.error("discord chat=%s: answer failed: %s: %s", interaction.channel_id, type(exc).__name__, exc)
            with contextlib.suppress(discord.DiscordException, aiohttp.ClientError, OSError):
                await interaction.followup.send(texts.FALLBACK, ephemeral=True)

    async def on_message(self, message: discord.Message) -> None:
        """A text message: `!paper ...` in servers (needs the message-content intent), any text in DMs."""
        me = self.client.user
        if message.author.bot or me is None:
            return
        text = re.sub(rf"^<@!?{me.id}>\s*", "", message.content.strip())
        author, channel = message.author, message.channel
        in_server = not isinstance(channel, discord.DMChannel)
        if in_server and not text.startswith("!"):
            return

        async def may_manage() -> bool:
            """Server members with Manage Channels or Manage Server in this channel."""
            if not isinstance(author, discord.Member) or isinstance(channel, discord.abc.PrivateChannel):
                return False
            return can_manage(channel.permissions_for(author))

        incoming = Incoming(
            ChatRef(PLATFORM, str(channel.id)), str(author.id), text, is_group=in_server, can_manage=may_manage
        )
        log.info("discord chat=%s text command=%s", channel.id, text.split(" ", 1)[0][:40])
        replies = await self._commands.handle(
            incoming, lambda early: self.send(channel.id, render_reply(*early), urgent=True)
        )
        await self.send(channel.id, [m for reply in replies for m in render_reply(reply)], urgent=True)

    async def _follow_up(self, interaction: Interaction, replies: Sequence[Reply], *, ephemeral: bool) -> None:
        """Send the replies as followups of a deferred interaction (the first fills the "thinking…" message).

        In a server, refusals and input errors are seen only by the user who typed: the public "thinking…"
        message is deleted and the answer follows as an ephemeral message.
        """
        messages = [m for reply in replies for m in render_reply(reply)]
        only_errors = bool(replies) and all(isinstance(r, TextReply) and r.error for r in replies)
        private = ephemeral or (interaction.guild_id is not None and only_errors)
        if not messages or private != ephemeral:
            await interaction.delete_original_response()
        for message in messages:
            await interaction.followup.send(**message_kwargs(message), ephemeral=private)

    async def deliver(
        self, chat: ChatRef, digest: Digest, lang: Lang, header: str, *, skip: int, on_sent: OnSent
    ) -> SendResult:
        """Push a scheduled digest to a DM or server channel (the delivery workers' entry point)."""
        messages = digest_messages(digest, lang.value, header)
        return await self.send(int(chat.chat_id), messages, skip=skip, on_sent=on_sent)

    async def send_text(self, chat: ChatRef, text: str) -> SendResult:
        """Send a plain text to a DM or channel (an administrator's broadcast)."""
        return await self.send(int(chat.chat_id), text_messages(text))

    async def send(
        self,
        channel_id: int,
        messages: Sequence[DiscordMessage],
        *,
        skip: int = 0,
        on_sent: OnSent | None = None,
        urgent: bool = False,
    ) -> SendResult:
        """Post messages to a channel in order after the first `skip`; unsubscribe it if the bot can't post there.

        Each post waits for a slot of the bot's global rate, shared by every process; `urgent` (an answer to a
        user's command) goes ahead of queued digests. Interaction answers are not under the global limit.
        """
        channel = self.client.get_partial_messageable(channel_id)
        for number, message in enumerate(messages[skip:], skip + 1):
            await self._limiter.acquire(urgent=urgent)
            try:
                await channel.send(**message_kwargs(message))
            except (discord.NotFound, discord.Forbidden) as exc:
                log.warning(
                    "discord channel=%s: cannot post (%s, code %s); unsubscribing", channel_id, exc.status, exc.code
                )
                await self._store.delete_subscriber(ChatRef(PLATFORM, str(channel_id)))
                return SendResult.GONE
            except discord.HTTPException as exc:
                log.error("discord channel=%s: message refused: %s %s", channel_id, exc.status, exc.text[:300])
                return SendResult.FAILED
            except (discord.RateLimited, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("discord channel=%s: send failed (%s); will retry later", channel_id, exc)
                return SendResult.FAILED
            if on_sent is not None:
                await on_sent(number)
        return SendResult.SENT
