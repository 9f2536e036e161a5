"""Feed bytes → ParsedFeed. The only module that imports feedparser.

Order of work: refuse dangerous or wrong documents from their first bytes (prolog.py), read JSON
Feed with the stdlib (jsonfeed.py), try the lxml fast path (fast.py), and fall back to feedparser
for everything else.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.datetimes import _parse_date as _feedparser_parse_date

from bot.ingest.parse.fast import parse_fast
from bot.ingest.parse.jsonfeed import optional_text, parse_json_feed, text_of
from bot.ingest.parse.prolog import FeedRejected, check_prolog, check_prolog_text, decoded_head
from bot.models import ParsedFeed, RawEntry

__all__ = [
    "FeedRejected",
    "check_prolog",
    "entry_bodies",
    "parse_date",
    "parse_feed",
    "parse_with_feedparser",
]


def parse_feed(
    body: bytes, *, content_type: str | None = None, base_url: str | None = None
) -> ParsedFeed:
    """Parse a fetched feed document; raise FeedRejected when it is not one we accept."""
    if not body or not body.strip():
        raise FeedRejected("empty body")
    text_head, complete = decoded_head(body)
    if text_head.lstrip().startswith(("{", "[")):
        return _resolve_links(parse_json_feed(body, parse_date=parse_date), base_url)
    check_prolog_text(text_head, complete=complete)
    feed = parse_fast(body, parse_date=parse_date)
    if feed is None:
        try:
            feed = parse_with_feedparser(body)
        except FeedRejected:
            if content_type and "html" in content_type.lower():
                raise FeedRejected("looks like an HTML page, not a feed") from None
            raise
    return _resolve_links(feed, base_url)


# --- feedparser ---------------------------------------------------------------------------


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
# The RSS 2.0 form nearly every feed uses: "Tue, 07 Jan 2025 12:13:00 +0000" (or GMT/UT/Z).
_RFC822 = re.compile(
    r"(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) "
    r"(?:([+-])(\d{2})(\d{2})|GMT|UT|UTC|Z)"
)


def _common_rfc822(value: str) -> datetime | None:
    """The usual RSS date, read without feedparser's chain of handlers (same result)."""
    m = _RFC822.fullmatch(value.strip())
    month = _MONTHS.get(m.group(2).lower()) if m else None
    if m is None or month is None:
        return None
    try:
        moment = datetime(int(m[3]), month, int(m[1]), int(m[4]), int(m[5]), int(m[6]), tzinfo=UTC)
    except ValueError:
        return None
    if m[7]:
        offset = timedelta(hours=int(m[8]), minutes=int(m[9]))
        moment = moment - offset if m[7] == "+" else moment + offset
    return moment


def parse_date(value: str) -> datetime | None:
    """feedparser's date reading (many formats and zones), as an aware UTC datetime."""
    common = _common_rfc822(value)
    if common is not None:
        return common
    try:
        parsed = _feedparser_parse_date(value)
    except Exception:  # a date handler crashing on odd input must not lose the feed
        return None
    return _from_struct(parsed)


def _from_struct(parsed: time.struct_time | None) -> datetime | None:
    if parsed is None:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _get(mapping: dict[str, Any], key: str) -> Any:
    # Plain dict lookup: FeedParserDict's own get() maps some keys onto others.
    return dict.get(mapping, key)


def _detail_name(entry: dict[str, Any]) -> str | None:
    detail = _get(entry, "author_detail")
    name = detail.get("name") if isinstance(detail, dict) else None
    return optional_text(name) or optional_text(_get(entry, "author"))


def _summary_of(entry: dict[str, Any]) -> str:
    summary = _get(entry, "summary")
    if isinstance(summary, str) and summary:
        return summary
    for content in _get(entry, "content") or ():
        value = content.get("value") if isinstance(content, dict) else None
        if isinstance(value, str):
            return value
    return ""


def _publisher(entry: dict[str, Any]) -> tuple[str | None, str | None]:
    """RSS `<source url>` gives title and href; Atom `<source>` gives title and link; Bing News
    names its publisher in `<News:Source>`, which feedparser reads as `news_source`."""
    source = _get(entry, "source")
    if not isinstance(source, dict):
        bing = _get(entry, "news_source")
        return (optional_text(bing) if isinstance(bing, str) else None), None
    url = _get(source, "href") or _get(source, "link")
    return optional_text(_get(source, "title")), url if isinstance(url, str) and url else None


def _feedparser_entry(entry: dict[str, Any]) -> RawEntry:
    get = _get
    publisher, publisher_url = _publisher(entry)
    return RawEntry(
        guid=optional_text(get(entry, "id")),
        link=optional_text(get(entry, "link")),
        title=text_of(get(entry, "title")),
        summary=_summary_of(entry),
        author=_detail_name(entry),
        language=optional_text(get(entry, "language")),
        published=_from_struct(get(entry, "published_parsed")),
        updated=_from_struct(get(entry, "updated_parsed")),
        publisher=publisher,
        publisher_url=publisher_url,
    )


def parse_with_feedparser(body: bytes) -> ParsedFeed:
    try:
        result = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    except (RecursionError, ValueError, TypeError, LookupError, UnicodeError) as error:
        raise FeedRejected(f"feed could not be parsed ({type(error).__name__})") from error
    entries = result.get("entries") or []
    version = result.get("version") or ""
    if not version and not entries:
        raise FeedRejected("not an RSS, Atom or JSON feed")
    feed = result.get("feed") or {}
    return ParsedFeed(
        format=version or "unknown",
        title=text_of(_get(feed, "title")),
        link=optional_text(_get(feed, "link")),
        language=optional_text(_get(feed, "language")),
        entries=tuple(_feedparser_entry(entry) for entry in entries),
    )


def entry_bodies(body: bytes) -> tuple[tuple[str | None, str | None, str], ...]:
    """(guid, link, longest HTML body) of every entry: the full content where a feed carries one
    beside a shorter summary. Not for ingest (which keeps the summary); the labelled set reads
    passages of real articles from it (bot/classify/corpus.py)."""
    result = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    bodies = []
    for entry in result.get("entries") or []:
        texts = [_summary_of(entry)]
        for content in _get(entry, "content") or ():
            value = content.get("value") if isinstance(content, dict) else None
            if isinstance(value, str):
                texts.append(value)
        guid, link = optional_text(_get(entry, "id")), optional_text(_get(entry, "link"))
        bodies.append((guid, link, max(texts, key=len)))
    return tuple(bodies)


# --- links -------------------------------------------------------------------------------


def _is_absolute(url: str | None) -> bool:
    if url and url.startswith(("http://", "https://")):
        return True
    try:
        return bool(url) and urlsplit(url or "").scheme.lower() in ("http", "https")
    except ValueError:
        return False


def _join(base: str | None, url: str | None) -> str | None:
    if not url or not base or _is_absolute(url):
        return url
    try:
        return urljoin(base, url)
    except ValueError:
        return url


def _resolve_links(feed: ParsedFeed, base_url: str | None) -> ParsedFeed:
    """Resolve relative entry links against the feed's own link, else the document URL."""
    feed_link = _join(base_url, feed.link)
    base = feed_link if _is_absolute(feed_link) else base_url
    if not base or all(_is_absolute(e.link) or not e.link for e in feed.entries):
        return feed if feed_link == feed.link else _replace_feed(feed, feed_link, feed.entries)
    entries = tuple(
        e if _is_absolute(e.link) or not e.link else _with_link(e, _join(base, e.link))
        for e in feed.entries
    )
    return _replace_feed(feed, feed_link, entries)


def _with_link(entry: RawEntry, link: str | None) -> RawEntry:
    return replace(entry, link=link)


def _replace_feed(feed: ParsedFeed, link: str | None, entries: tuple[RawEntry, ...]) -> ParsedFeed:
    return replace(feed, link=link, entries=entries)
