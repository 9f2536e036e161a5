"""Frozen values shared by every layer.

Nothing here does I/O; every other module speaks in these types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# Every part that needs the time is handed one of these (the app's is UTC now; tests pass fakes).
Clock = Callable[[], datetime]


Platform = Literal["console", "discord", "slack"]
Refusal = Literal["private", "redirected", "metadata"]
_CHANNEL_RULES: dict[str, tuple[str, str]] = {  # platform -> (what a channel id is, example)
    "discord": ("digits", "discord:1234567890"),
    "slack": ("letters and digits", "slack:C0123ABCD"),
}


@dataclass(frozen=True)
class Target:
    """Where a digest or a reply goes: "console", "discord:<channel id>" or "slack:<channel id>".

    Stored and configured as that text; `Target.parse` is the one place it is read."""

    platform: Platform
    channel: str = ""  # empty for the console

    def __str__(self) -> str:
        return self.platform if self.platform == "console" else f"{self.platform}:{self.channel}"

    @staticmethod
    def parse(text: str) -> Target:
        """The target `text` names; ValueError says what a target looks like."""
        if text == "console":
            return Target("console")
        platform, _, channel = text.partition(":")
        rule = _CHANNEL_RULES.get(platform)
        valid = channel.isdigit() if platform == "discord" else channel.isalnum()
        if rule is None or not channel or not channel.isascii() or not valid:
            raise ValueError(
                f"not a channel target: {text!r}; expected "
                '"console", "discord:<channel id>" or "slack:<channel id>"'
            )
        return Target("discord" if platform == "discord" else "slack", channel)


@dataclass(frozen=True)
class FeedConfig:
    """One `[[feeds]]` entry of the config file."""

    url: str
    name: str = ""
    language: str | None = None
    interval: int = 1800  # seconds between polls
    allow_private_address: bool = False


@dataclass(frozen=True)
class FeedState:
    """What the store remembers about a feed between polls."""

    id: int
    url: str
    name: str
    language: str | None
    interval: int
    allow_private_address: bool
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_status: int | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    next_poll_at: datetime | None = None
    first_polled: bool = False  # True once the feed's first poll has stored its history
    origin: str = "config"  # who owns it: config (the file) | cli | chat | demo
    paused: bool = False  # kept and listed, not polled until resumed
    # Where the feed moved to (a 301/308): what is fetched. `url` stays its identity (the
    # config's URL), so a restart matches the config to this row and never adds it again.
    fetch_url: str | None = None
    last_entries: int | None = None  # entries in the last document parsed; 0 = an empty feed

    @property
    def poll_url(self) -> str:
        return self.fetch_url or self.url


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one conditional GET, redirects followed."""

    url: str  # the URL finally answered
    status: int | None  # None when no HTTP answer came (DNS, refused, timeout, blocked)
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    permanent_url: str | None = None  # set when a 301/308 moved the feed
    retry_after: float | None = None  # seconds, from a 429/503 Retry-After
    error: str | None = None  # human-readable, set on every failure
    # Set when the fetcher refused an address: "private" on the feed's own host (the feed can opt
    # in), "redirected" when a redirect led to one (no opt-in covers it), "metadata" (never).
    refused: Refusal | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class RawEntry:
    """One entry as the feed gave it, before normalising (text may still hold HTML)."""

    guid: str | None
    link: str | None
    title: str
    summary: str  # may contain HTML
    author: str | None = None
    language: str | None = None
    published: datetime | None = None  # aware, any zone
    updated: datetime | None = None
    # the publisher an aggregator names for this item: RSS/Atom <source> (name, home page)
    publisher: str | None = None
    publisher_url: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """A feed document turned into values."""

    format: str  # "rss20", "atom10", "json11", ...
    title: str
    link: str | None
    language: str | None
    entries: tuple[RawEntry, ...]


@dataclass(frozen=True)
class Article:
    """A normalised entry, ready to store."""

    guid: str | None
    url: str  # canonical
    title: str
    summary: str  # plain text
    published_at: datetime  # UTC
    language: str | None
    author: str | None
    source: str  # who published it: the publisher an aggregator item names, else the feed name
    content_hash: str
    # set when the item is another publisher's, relayed by the feed (Google News, Bing News …)
    publisher_url: str | None = None  # that publisher's home page, when the feed gives it
    relayed: bool = False  # True: `source` is the named publisher, not the feed


ABOUT, MENTIONED = "about", "mentioned"


@dataclass(frozen=True)
class Classification:
    """Whether an article is AI-chip news, which companies it is about (`companies`, its
    subjects), and every company it names with that salience (`mentions`: "about" or
    "mentioned", in order of first appearance)."""

    relevant: bool
    score: float
    companies: tuple[str, ...]
    why: tuple[str, ...] = field(default=())
    mentions: tuple[tuple[str, str], ...] = field(default=())

    @property
    def mentioned(self) -> tuple[str, ...]:
        """Companies named in passing: through a product, as a venue, as a comparison."""
        return tuple(company for company, salience in self.mentions if salience == MENTIONED)


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of one feed did; one line of `chipwire poll` output."""

    feed_id: int
    url: str
    status: int | None
    new_articles: int = 0
    new_sources: int = 0
    error: str | None = None
    skipped_parse: bool = False  # 304 or identical body
    new_relevant: int = 0  # of the new articles, how many are AI-chip news


@dataclass(frozen=True)
class DigestArticle:
    """A stored, classified article as the digest builder sees it."""

    id: int
    url: str
    title: str
    summary: str
    published_at: datetime  # UTC
    language: str | None
    source: str  # its publisher: the feed name that first gave it, or the publisher it named
    sources: tuple[str, ...]  # publishers of every feed that carried it (at least `source`)
    score: float  # relevance in [0, 1]
    companies: tuple[str, ...]
    story: str | None = None  # the story it was assigned to after its poll, if any yet
    # an aggregator item: the named publisher's home page ("" when the feed gave none)
    publisher_url: str | None = None


@dataclass(frozen=True)
class Story:
    """One event, told by one or more articles (several sources, maybe several languages)."""

    key: str  # stable across digests: "a<smallest article id>"
    title: str  # from the lead article (highest score, then earliest)
    summary: str
    url: str
    published_at: datetime  # the earliest article's time, UTC
    language: str | None
    companies: tuple[str, ...]  # union, in order of first mention
    score: float  # the best relevance among its articles
    sources: tuple[str, ...]  # distinct publishers, lead's first
    article_ids: tuple[int, ...]


@dataclass(frozen=True)
class DigestSection:
    heading: str  # "Top stories", or a company's display name
    stories: tuple[Story, ...]


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply or a digest (a chart): attached on Discord, uploaded on Slack,
    written to disk by the console."""

    filename: str  # e.g. "trend-nvidia-huawei-30d.png"; letters, digits, dots and dashes only
    data: bytes
    description: str  # alt text / upload title


@dataclass(frozen=True)
class Digest:
    """What one subscription receives for one period, ranked and grouped, before rendering."""

    title: str  # e.g. "ChipWire digest — Mon 30 Nov 2026"
    period_start: datetime  # UTC
    period_end: datetime  # UTC
    timezone: str  # IANA name the times are shown in
    sections: tuple[DigestSection, ...]
    empty_note: str | None = None  # set when there is nothing new and the subscription wants a note
    chart: Attachment | None = None  # the weekly trend chart of the followed companies
    left_out: int = 0  # relevant stories of the period beyond the sections' caps

    @property
    def stories(self) -> tuple[Story, ...]:
        return tuple(story for section in self.sections for story in section.stories)


@dataclass(frozen=True)
class SubscriptionConfig:
    """One `[[subscriptions]]` entry, or a `subscribe` command."""

    target: str  # "console", "discord:<channel id>", "slack:<channel id>"
    schedule: str  # crontab (5 fields), already parsed from forms like "daily 08:00"
    timezone: str = "UTC"  # IANA name
    companies: tuple[str, ...] = ()  # empty: every company
    languages: tuple[str, ...] = ()  # empty: every language
    min_relevance: float = 0.5
    empty_note: bool = True  # post a short "nothing new" line rather than stay silent
    live_alerts: bool = False  # post a very relevant story about a followed company at once
    alert_threshold: float = 0.85
    alerts_per_hour: int = 3
    top_stories: int | None = None  # the "Top stories" cap; None: [digest] top_stories
    per_company: int | None = None  # the cap of each company section; None: [digest] per_company


@dataclass(frozen=True)
class Subscription(SubscriptionConfig):
    id: int = 0
    created_at: datetime | None = None
    disabled: str | None = None  # why nothing is sent to it any more (its channel is gone)
