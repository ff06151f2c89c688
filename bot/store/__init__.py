"""Redis storage: the only package that imports redis; key names live in `keys.py`."""

from bot.store.availability import is_outage
from bot.store.base import Store
from bot.store.keys import translation_key

__all__ = ["Store", "is_outage", "translation_key"]
