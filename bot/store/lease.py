"""A lease in Redis: one owner at a time, renewed while held, expiring when its owner dies, released atomically."""

from __future__ import annotations

import hashlib

from bot.store.connection import Client
from bot.store.keys import POLLER_LEASE_KEY

# Take the lease when it is free, extend it when we hold it already.
HOLD_SCRIPT = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# Delete the lease only if we still hold it (never another owner's).
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    """A named lease in Redis held by `owner` for `ttl_ms` after each successful `hold()`."""

    def __init__(self, client: Client, key: str, owner: str, ttl_ms: int) -> None:
        self.key = key
        self.owner = owner
        self._ttl_ms = ttl_ms
        self._hold = client.register_script(HOLD_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)

    async def hold(self) -> bool:
        """Take or extend the lease; True if `owner` holds it now."""
        return bool(await self._hold(keys=[self.key], args=[self.owner, self._ttl_ms]))

    async def release(self) -> None:
        """Give the lease up, if it is still ours (compare-and-delete in one step)."""
        await self._release(keys=[self.key], args=[self.owner])


def poller_lease(client: Client, token: str, owner: str, ttl_ms: int) -> Lease:
    """The lease that lets one process poll a Telegram token; the key holds a hash of the token, never the token."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return Lease(client, POLLER_LEASE_KEY.format(token_hash=digest), owner, ttl_ms)
