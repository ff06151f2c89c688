"""Topic filters (being split into modules named for what they hold)."""

from bot.filters.language import *  # noqa: F403
from bot.filters.language import MAX_LENGTH, MAX_TERMS, CompiledMatcher, Filter, filter_from_options, fold, matching_papers, parse_filter, words  # noqa: F401
