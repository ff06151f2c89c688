"""The project's exception tree; every error a user can cause or meet is one of these.

DigestError
├── ConfigError            a setting is missing or malformed (names the variable)
├── InvalidArxivId         text that is no arXiv identifier or URL
├── PaperNotFound          a well-formed identifier arXiv does not know
├── SourceUnavailable      arXiv could not be reached or answered badly
│    └── FeedParseError    the RSS or API answer was not the expected XML
├── TranslationError       the LLM failed or answered something unusable (carries the status)
├── InvalidFilter          a topic filter that cannot be parsed
├── InvalidDigestJson      a digest JSON document that does not follow the documented form
├── InvalidSetting         a chat command's argument (/time, /lang, ...) that cannot be used (in Chinese and English)
├── InvalidTransferFile    an import file that is not a subscribers export
└── StoreUnavailable       Redis could not be reached or started
"""

from __future__ import annotations


class DigestError(Exception):
    """Base of every error this project raises on purpose; its message is meant for the user."""


class ConfigError(DigestError):
    """A setting is missing or malformed; the message names the variable."""


class InvalidArxivId(DigestError):
    """The text is not an arXiv identifier or arXiv URL."""


class PaperNotFound(DigestError):
    """arXiv does not know this (well-formed) identifier."""


class SourceUnavailable(DigestError):
    """arXiv could not be reached or answered with an error."""


class FeedParseError(SourceUnavailable):
    """arXiv answered, but not with the XML we expected."""


class TranslationError(DigestError):
    """The LLM call failed or its answer could not be used."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class InvalidFilter(DigestError):
    """A topic filter that cannot be parsed or names an unknown category."""


class InvalidDigestJson(DigestError):
    """A digest JSON document that does not follow the documented form."""


class InvalidSetting(DigestError):
    """A /time, /lang or similar argument that cannot be used; its message is in Chinese and English."""


class InvalidTransferFile(DigestError):
    """An import file that is not a subscribers export."""


class StoreUnavailable(DigestError):
    """Redis could not be reached, or no redis-server could be started."""
