"""What a poster records about each part of one delivery, so that a part is posted once.

A poster asks the journal before each part: "accepted" parts are skipped; an "intended" part was
being sent when the process died or the answer was lost, so it is in doubt and the poster resolves
it (Discord: the same nonce again, which Discord answers with the existing message; Slack: the
channel's history, searched for the delivery's metadata) before sending anything. A part never
seen is written "intended" before the platform is called and "accepted" after it answered.

The store-backed journal lives with the delivery queue (`bot.digest.deliver`); `MemoryJournal`
serves one-off posts (the feed-health note, tests) where there is nothing to resume.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Protocol

INTENDED, ACCEPTED = "intended", "accepted"
CHART = "chart"
MAX_NONCE = 25  # Discord refuses a longer nonce; the outbox's delivery_key column holds as much


def fit_nonce(readable: str) -> str:
    """`readable` when it fits in 25 characters, else a stable 24-character hash of it: a
    nonce is never cut, so two long ones that share their first 25 characters stay distinct
    (a cut would make Discord drop the second post as a repeat of the first). A hash is hex,
    so it never equals a readable nonce, which always has a letter beyond f or a dash."""
    if len(readable) <= MAX_NONCE:
        return readable
    return hashlib.blake2b(readable.encode(), digest_size=12).hexdigest()


class PartJournal(Protocol):
    async def state(self, part: str) -> str | None:
        """None (never tried), "intended" (in doubt) or "accepted"."""
        ...

    async def intend(self, part: str) -> None: ...

    async def accept(self, part: str) -> None: ...

    @property
    def since(self) -> datetime | None:
        """When the delivery was first queued: how far back a history search must reach."""
        ...


class MemoryJournal:
    def __init__(self, since: datetime | None = None) -> None:
        self.parts: dict[str, str] = {}
        self._since = since

    @property
    def since(self) -> datetime | None:
        return self._since

    async def state(self, part: str) -> str | None:
        return self.parts.get(part)

    async def intend(self, part: str) -> None:
        self.parts[part] = INTENDED

    async def accept(self, part: str) -> None:
        self.parts[part] = ACCEPTED


class DeadTarget(Exception):
    """The channel is gone or the bot may no longer see it: never retry, disable and report."""


class Refused(Exception):
    """The platform answered no: nothing was posted, so a later retry is safe."""
