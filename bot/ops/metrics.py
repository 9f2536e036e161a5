"""Prometheus metrics: the only importer of prometheus_client.

Each `Metrics` owns its own `CollectorRegistry` rather than the process-global one, so tests and
several apps in one process never collide on metric names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from bot.models import PollOutcome

# The classic text format: Prometheus 2.x and 3.x both accept it, whereas 3.x refuses a scrape
# whose Content-Type it cannot parse and 2.x does not know the newer version=1.0.0.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

POLL_RESULTS = ("ok", "not_modified", "unchanged", "failed")

# Slack and Discord want an answer to a slash command within 3 s; buckets cluster around that.
COMMAND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)

# Label values become time series; anything outside a short identifier shape is folded into
# "other" so a stray user-supplied name cannot grow the series without bound.
_LABEL_VALUE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")


def poll_result(outcome: PollOutcome) -> str:
    """The `result` label of one feed poll; a 304 also sets skipped_parse, so it is tested first."""
    if outcome.error is not None:
        return "failed"
    if outcome.status == 304:
        return "not_modified"
    if outcome.skipped_parse:
        return "unchanged"
    return "ok"


def label_value(value: str) -> str:
    value = value.strip().lower()
    return value if _LABEL_VALUE.fullmatch(value) else "other"


class Metrics:
    """The bot's counters and histograms in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._polls = self._counter("chipwire_polls", "Feed polls by result.", ("result",))
        self._stored = self._counter("chipwire_articles_stored", "New articles stored.")
        self._relevant = self._counter(
            "chipwire_relevant_articles", "New articles classified as AI-chip news."
        )
        self._deliveries = self._counter(
            "chipwire_deliveries", "Messages the platform accepted.", ("platform",)
        )
        self._delivery_failures = self._counter(
            "chipwire_delivery_failures",
            "Messages the platform refused or never got.",
            ("platform",),
        )
        self._commands = self._counter("chipwire_commands", "Slash commands handled.", ("command",))
        self._command_seconds = Histogram(
            "chipwire_command_seconds",
            "Time to answer a slash command.",
            ("command",),
            buckets=COMMAND_BUCKETS,
            registry=self.registry,
        )
        for result in POLL_RESULTS:
            # Present from the start at 0, so rate() and alerts see the series before the first poll.
            self._polls.labels(result=result)

    def _counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(name, doc, labels, registry=self.registry)

    def record_poll(self, outcomes: Sequence[PollOutcome]) -> None:
        for outcome in outcomes:
            self._polls.labels(result=poll_result(outcome)).inc()
        stored = sum(outcome.new_articles for outcome in outcomes)
        if stored:
            self._stored.inc(stored)

    def record_relevant(self, n: int) -> None:
        if n > 0:
            self._relevant.inc(n)

    def record_delivery(self, platform: str, ok: bool) -> None:
        counter = self._deliveries if ok else self._delivery_failures
        counter.labels(platform=label_value(platform)).inc()

    def observe_command(self, name: str, seconds: float) -> None:
        command = label_value(name)
        self._commands.labels(command=command).inc()
        self._command_seconds.labels(command=command).observe(max(0.0, seconds))

    def exposition(self) -> bytes:
        """The registry in Prometheus text format; serve it with `CONTENT_TYPE`."""
        return generate_latest(self.registry)
