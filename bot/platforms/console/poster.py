"""The console as a digest target: what `chipwire run` does when no chat tokens are set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from bot.models import Digest, Subscription
from bot.platforms.console.digest_render import render_console


class ConsolePoster:
    def __init__(self, out: TextIO, company_names: Mapping[str, str]) -> None:
        self.out = out
        self.company_names = company_names

    async def post(self, subscription: Subscription, digest: Digest, nonce: str) -> None:
        text = render_console(digest, self.company_names)
        if text:
            print(f"\n{text}\n", file=self.out, flush=True)
