"""The console's output: digests printed (the digest target when no chat tokens are set), charts
written to files.

The console as a digest target: what `chipwire run` does when no chat tokens are set.

A digest's chart is written to `chart_dir` (`chipwire run` uses the data folder's `charts/`) under
a name that holds the subscription and the period, so each digest keeps its own chart, and its
path printed. Without a `chart_dir` the chart is only named, never written to some current folder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bot.models import Attachment, Digest, Subscription
from bot.platforms.console.render import render_console
from bot.platforms.journal import PartJournal
from bot.text import one_line

MAX_FILENAME = 120
DEFAULT_FILENAME = "chart.png"
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


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


def safe_filename(name: str) -> str:
    """Only [A-Za-z0-9._-] and no leading dot: the file lands in the directory asked for (no
    separator can lead elsewhere) and is never hidden. The end is kept: it holds the extension."""
    cleaned = _UNSAFE_FILENAME.sub("_", name)[-MAX_FILENAME:].lstrip(".")
    return cleaned or DEFAULT_FILENAME


def save_chart(chart: Attachment, directory: Path, name: str | None = None) -> str:
    """Write the chart into `directory` (as `name`, default its own filename, both sanitised;
    a file of that name is replaced) and say where, or why it could not be written: the reply
    is still worth printing."""
    path = directory / safe_filename(name or chart.filename)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(chart.data)
    except OSError as exc:
        return f"chart not saved to {path}: {one_line(exc.strerror or str(exc))}\n"
    description = one_line(chart.description)
    return f"chart: {path}\n" + (f"  {description}\n" if description else "")
