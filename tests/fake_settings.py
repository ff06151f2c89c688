"""Settings that point the real service at the test's fake arXiv and fake LLM."""

from __future__ import annotations

from bot.config import Settings, settings_from_mapping
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.llm_server import FakeLLM


def fake_settings(arxiv: FakeArxiv, llm: FakeLLM, **extra: str) -> Settings:
    """The fakes' URLs, no arXiv spacing, a test key and model, plus `extra` settings on top."""
    return settings_from_mapping(
        {
            "ARXIV_RSS_URL": arxiv.rss_url,
            "ARXIV_API_URL": arxiv.api_url,
            "ARXIV_MIN_INTERVAL": "0",
            "LLM_BASE_URL": llm.url,
            "LLM_API_KEY": "sk-test",
            "LLM_MODEL": "fake-model",
            **extra,
        }
    )
