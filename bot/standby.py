"""Do a job only while this process holds its lease: take it when free, renew it, stand by while another holds it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Protocol

from bot.store import is_outage
from bot.supervisor import Component, Work

log = logging.getLogger(__name__)


class Holdable(Protocol):
    """A lease (bot.store.lease.Lease)."""

    async def hold(self) -> bool:
        """Take or extend the lease; True when held."""

    async def release(self) -> None:
        """Give the lease up if still held."""


@dataclass
class Standby:
    """Runs `lead` when this process gets the lease and `follow` when it loses it; renews it every `every` s."""

    lease: Holdable
    job: str
    lead: Work
    follow: Work
    status: Component
    every: float = 5.0
    leading: bool = False

    async def run(self, stop: asyncio.Event) -> None:
        """Hold or wait for the lease until `stop`; during a Redis outage keep doing what this process does."""
        standing_by = False
        while not stop.is_set():
            try:
                held = await self.lease.hold()
            except Exception as exc:
                if not is_outage(exc):
                    raise
                self.status.failed(exc)  # nobody can take the lease meanwhile: go on as before
            else:
                self.status.succeeded()
                if held and not self.leading:
                    if standing_by:
                        log.warning("%s: the other process stopped; taking over", self.job)
                    await self.lead()
                    self.leading, standing_by = True, False
                elif not held and (self.leading or not standing_by):
                    log.warning("%s: another process does it; standing by as a hot spare", self.job)
                    if self.leading:
                        await self.follow()
                    self.leading, standing_by = False, True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)
        await self.step_down()

    async def step_down(self) -> None:
        """Stop leading and release the lease at once, so a spare takes over without waiting for it to expire."""
        if self.leading:
            self.leading = False
            await self.follow()
            with contextlib.suppress(Exception):
                await self.lease.release()
