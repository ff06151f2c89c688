"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, scriptable per test.

By default it answers every `POST /v1/chat/completions` with a valid translation derived from the
request's user message (the `Title: ...` / `Abstract: ...` layout of `bot.translate.build_messages`):
`title_zh = "中文：" + title`, `tldr_zh = "一句话：" + title`, `abstract_zh = "中文摘要：" + abstract`,
`tldr_en = "In short: " + title`. Tests change that with `script(...)` (a queue, one Behaviour per
request), `script_for(text, ...)` (a standing rule for requests mentioning `text`), `delay` and
`reject_response_format`. It records every request and the most requests it ever served at once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.loopback import LoopbackServer

DEFAULT_USAGE: Mapping[str, int] = {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
_PAPER_TEXT = re.compile(r"Title:\s*(?P<title>.*?)\s*\n\s*Abstract:\s*(?P<abstract>.*)", re.DOTALL)


def fenced(text: str) -> str:
    """Wrap an answer in a Markdown ```json fence, as some models do."""
    return f"```json\n{text}\n```"


def with_prose(text: str) -> str:
    """Surround an answer with chatty prose, as models without JSON mode do."""
    return f"Sure! Here is the translation you asked for:\n\n{text}\n\nLet me know if you need anything else."


@dataclass(frozen=True)
class Behaviour:
    """How the fake answers one request; the defaults give a valid translation at once."""

    status: int = 200
    content: str | Callable[[str], str] | None = None
    answer: Mapping[str, object] | None = None
    delay: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    usage: Mapping[str, int] | None = field(default_factory=lambda: dict(DEFAULT_USAGE))


OK = Behaviour()
NOT_JSON = Behaviour(content="I am sorry, I cannot produce JSON today.")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it (header names lower-cased)."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def user_message(self) -> str:
        """The text of the last user message."""
        users = [m["content"] for m in self.body.get("messages", []) if m.get("role") == "user"]
        return str(users[-1]) if users else ""


def default_answer(user_message: str) -> dict[str, object]:
    """The translation the fake derives from a user message."""
    match = _PAPER_TEXT.search(user_message)
    title, abstract = (match["title"], match["abstract"].strip()) if match else (user_message, user_message)
    return {
        "title_zh": "中文：" + title,
        "tldr_zh": "一句话：" + title,
        "abstract_zh": "中文摘要：" + abstract,
        "tldr_en": "In short: " + title,
    }


class FakeLLM(LoopbackServer):
    """An OpenAI-compatible chat-completions server on a free loopback port; `url` is its base URL."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[RecordedRequest] = []
        self.delay = 0.0
        self.reject_response_format = False
        self.in_flight = 0
        self.max_in_flight = 0
        self._queue: deque[Behaviour] = deque()
        self._rules: list[tuple[str, Behaviour]] = []
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        """The base URL to configure as LLM_BASE_URL."""
        return f"{self.root_url}/v1"

    def routes(self, app: web.Application) -> None:
        """Serve the chat-completions endpoint."""
        app.router.add_post("/v1/chat/completions", self._handle)

    @property
    def count(self) -> int:
        """How many requests were received."""
        return len(self.requests)

    def script(self, *behaviours: Behaviour) -> None:
        """Answer the next requests with these behaviours, in order, then go back to the default."""
        self._queue.extend(behaviours)

    def script_for(self, text: str, behaviour: Behaviour) -> None:
        """Answer every request whose user message contains `text` with `behaviour` (before the queue)."""
        self._rules.append((text, behaviour))

    def _next(self, request: RecordedRequest) -> Behaviour:
        """The behaviour for this request: a matching rule, else the queue's head, else the default."""
        for text, behaviour in self._rules:
            if text in request.user_message:
                return behaviour
        return self._queue.popleft() if self._queue else OK

    async def _handle(self, request: web.Request) -> web.Response:
        """Record a request and answer it as scripted."""
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "body is not JSON")
        recorded = RecordedRequest(request.path, body, {k.lower(): v for k, v in request.headers.items()})
        self.requests.append(recorded)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(recorded)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: RecordedRequest) -> web.Response:
        """Build the answer to one recorded request."""
        if self.reject_response_format and "response_format" in request.body:
            return _error(400, "response_format is not supported by this server")
        behaviour = self._next(request)
        delay = self.delay if behaviour.delay is None else behaviour.delay
        if delay:
            await asyncio.sleep(delay)
        if behaviour.status != 200:
            return _error(behaviour.status, "scripted failure", behaviour.headers)
        return web.json_response(self._completion(request, behaviour), headers=dict(behaviour.headers))

    def _completion(self, request: RecordedRequest, behaviour: Behaviour) -> dict[str, object]:
        """An OpenAI-shaped chat completion carrying the behaviour's content."""
        answer = behaviour.answer if behaviour.answer is not None else default_answer(request.user_message)
        text = json.dumps(answer, ensure_ascii=False)
        content = behaviour.content(text) if callable(behaviour.content) else behaviour.content or text
        completion: dict[str, object] = {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "model": request.body.get("model", ""),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        }
        if behaviour.usage is not None:
            completion["usage"] = dict(behaviour.usage)
        return completion


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """An OpenAI-shaped error answer."""
    body = {"error": {"message": message, "type": "fake_error", "code": status}}
    return web.json_response(body, status=status, headers=dict(headers or {}))


@pytest.fixture(name="fake_llm")
async def fixture_fake_llm() -> AsyncIterator[FakeLLM]:
    """A running FakeLLM, stopped after the test."""
    async with FakeLLM() as fake:
        yield fake
