"""Which message parts a platform already accepted in this process, shared by the posters.

A digest split into parts is retried from the part that failed, not from the start: Slack has no
idempotency key and Discord checks nonces only for a few minutes.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

REMEMBERED_PARTS = 4096


def fingerprint(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class AcceptedParts:
    """Keys of accepted parts, bounded: the oldest are forgotten first."""

    def __init__(self, size: int = REMEMBERED_PARTS) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
