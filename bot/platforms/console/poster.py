"""The console as a digest target: what `chipwire run` does when no chat tokens are set.

A digest's chart is written to `chart_dir` (`chipwire run` uses the data folder's `charts/`) under
a name that holds the subscription and the period, so each digest keeps its own chart, and its
path printed. Without a `chart_dir` the chart is only named, never written to some current folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bot.models import Attachment, Digest, Subscription
from bot.platforms.console.digest_render import render_console
from bot.platforms.console.reply_render import save_chart
from bot.platforms.journal import PartJournal


class ConsolePoster:
    def __init__(
        self, out: TextIO, company_names: Mapping[str, str], *, chart_dir: Path | None = None
    ) -> None:
        self.out = out
        self.company_names = company_names
        self.chart_dir = chart_dir

    async def post(
        self,
        subscription: Subscription,
        digest: Digest,
        nonce: str,
        journal: PartJournal | None = None,
    ) -> None:
        """One write to the console; the journal (whether it was printed) is not consulted."""
        parts = [render_console(digest, self.company_names)]
        if digest.chart is not None:
            parts.append(self._save(subscription, digest, digest.chart))
        text = "\n\n".join(part.rstrip("\n") for part in parts if part)
        if text:
            print(f"\n{text}\n", file=self.out, flush=True)

    def _save(self, subscription: Subscription, digest: Digest, chart: Attachment) -> str:
        if self.chart_dir is None:
            return f"chart: {chart.description} (not saved: no chart folder)"
        name = f"digest-{subscription.id}-{digest.period_end:%Y%m%d-%H%M}-{chart.filename}"
        return save_chart(chart, self.chart_dir, name)
