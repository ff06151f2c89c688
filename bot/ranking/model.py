"""A chat's taste as a small profile of weighted hashed terms, learned one rating at a time (Rocchio's method).

A like adds the paper's unit term vector, a dislike subtracts half of it, rating again first takes the earlier
rating back. Only the PROFILE_TERMS heaviest terms are kept, packed into 6 bytes each, so the whole model of
a chat fits in a few hundred bytes of Redis. The day's papers supply the rest at scoring time: each term is
weighted by its rarity that day (see `index.py`), so terms every paper shares count for little.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from bot.ranking.features import text_vector

LIKE = 1
DISLIKE = -1
DISLIKE_WEIGHT = 0.5  # a dislike says less about what a chat wants than a like does
INTEREST_WEIGHT = 2.0  # the interest text counts as two liked papers
PROFILE_TERMS = 32


@dataclass(frozen=True, eq=False)
class Profile:
    """The learned weights of a chat's heaviest terms, as two parallel arrays sorted by term id."""

    ids: npt.NDArray[np.uint32]
    values: npt.NDArray[np.float64]

    @classmethod
    def of(cls, weights: Mapping[int, float]) -> Profile:
        """A profile holding these term weights."""
        items = sorted(weights.items())
        return cls(
            np.fromiter((t for t, _ in items), dtype=np.uint32, count=len(items)),
            np.fromiter((w for _, w in items), dtype=np.float64, count=len(items)),
        )

    @cached_property
    def weights(self) -> dict[int, float]:
        """Term id -> weight (for learning and explaining; scoring uses the arrays)."""
        return dict(zip(self.ids.tolist(), self.values.tolist(), strict=True))

    def pack(self) -> str:
        """The profile as compact ASCII text (base64 of 6 bytes a term) for a Redis value."""
        weights = self.values.astype("<f2")  # half precision: the order of scores survives
        return base64.b64encode(self.ids.astype("<u4").tobytes() + weights.tobytes()).decode()

    @classmethod
    def unpack(cls, text: str) -> Profile:
        """Read a packed profile back; anything unreadable is an empty profile."""
        try:
            raw = binascii.a2b_base64(text, strict_mode=True)  # what b64decode(validate=True) calls
        except ValueError:
            return EMPTY
        count = len(raw) // 6
        ids = np.frombuffer(raw, dtype="<u4", count=count)
        weights = np.frombuffer(raw, dtype="<f2", count=count, offset=4 * count)
        return cls(ids.astype(np.uint32, copy=False), weights.astype(np.float64))


EMPTY = Profile.of({})


def contribution(rating: int) -> float:
    """How much one rating moves the profile toward (+) or away from (-) a paper."""
    if rating == LIKE:
        return 1.0
    if rating == DISLIKE:
        return -DISLIKE_WEIGHT
    return 0.0


def update(profile: Profile, vector: Mapping[int, float], old: int, new: int) -> Profile:
    """The profile after a paper's rating changed from `old` to `new` (0 for none), trimmed to its heaviest terms."""
    step = contribution(new) - contribution(old)
    weights = dict(profile.weights)
    for term, x in vector.items():
        weights[term] = weights.get(term, 0.0) + step * x
    return trimmed(weights)


def learn(liked: Sequence[Mapping[int, float]], disliked: Sequence[Mapping[int, float]]) -> Profile:
    """A profile learned from scratch from liked and disliked papers' vectors (the CLI's --like and --dislike)."""
    profile = EMPTY
    for rating, vectors in ((LIKE, liked), (DISLIKE, disliked)):
        for vector in vectors:
            profile = update(profile, vector, 0, rating)
    return profile


def trimmed(weights: Mapping[int, float], size: int = PROFILE_TERMS) -> Profile:
    """The `size` terms of largest weight (by magnitude), zero weights dropped."""
    heaviest = sorted(((t, w) for t, w in weights.items() if abs(w) > 1e-4), key=lambda tw: -abs(tw[1]))
    return Profile.of(dict(heaviest[:size]))


def interest_terms(interest: str) -> Profile:
    """The interest text's unit term vector, as stored beside it (packed: what is read back is what is used)."""
    return Profile.unpack(Profile.of(text_vector(interest)).pack()) if interest else EMPTY


def with_interest(profile: Profile, interest: str, terms: Profile | None = None) -> Profile:
    """The profile to score with: the learned one plus the interest text as an extra liked paper.

    `terms` are the interest's stored `interest_terms`; without them (data stored before they were) the text is
    turned into terms here, the same way but at about 50 µs a chat rather than none.
    """
    if not interest:
        return profile
    added = interest_terms(interest) if terms is None else terms
    ids = np.concatenate((profile.ids, added.ids))
    values = np.concatenate((profile.values, INTEREST_WEIGHT * added.values))
    merged, at = np.unique(ids, return_inverse=True)
    sums = np.bincount(at, weights=values, minlength=len(merged)).astype(np.float64, copy=False)  # float64 already
    return Profile(merged.astype(np.uint32, copy=False), sums)
