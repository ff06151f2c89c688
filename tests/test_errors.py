"""The exception tree drawn at the top of bot/errors.py is the whole tree of the core."""

from __future__ import annotations

import importlib
import pkgutil

import bot
from bot import errors
from bot.errors import DigestError


def test_every_kind_of_core_error_is_drawn_in_the_tree() -> None:
    """Each error bot/ raises on purpose is a child of DigestError in bot/errors.py, drawn there, or a grandchild."""
    for module in pkgutil.walk_packages(bot.__path__, "bot."):
        importlib.import_module(module.name)
    children = [kind for kind in DigestError.__subclasses__() if kind.__module__.startswith("bot.")]
    assert {kind.__module__ for kind in children} == {"bot.errors"}, [(k.__module__, k.__name__) for k in children]
    drawn = errors.__doc__ or ""
    assert all(f"── {kind.__name__} " in drawn for kind in children), [k.__name__ for k in children]
