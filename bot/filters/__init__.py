"""Topic filters: the language (`language`), the reference matcher (`reference`), the compiled matcher (`compiled`).

`words` holds the one notion of a word they share. Callers import from `bot.filters`.
"""

from bot.filters.compiled import CompiledMatcher, PreparedPapers, matching_papers
from bot.filters.language import MAX_LENGTH, MAX_TERMS, Filter, filter_from_options, parse_filter
from bot.filters.stored import read_stored_filter
from bot.filters.words import fold, words

__all__ = [
    "MAX_LENGTH",
    "MAX_TERMS",
    "CompiledMatcher",
    "Filter",
    "PreparedPapers",
    "filter_from_options",
    "fold",
    "matching_papers",
    "parse_filter",
    "read_stored_filter",
    "words",
]
