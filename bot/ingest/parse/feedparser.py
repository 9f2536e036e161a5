"""Feed bytes → ParsedFeed. The only module that imports feedparser.

Order of work: refuse dangerous or wrong documents from their first bytes, read JSON Feed with
the stdlib, try the lxml fast path, and fall back to feedparser for everything else.
"""

from __future__ import annotations

import codecs
import json
import re
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.datetimes import _parse_date as _feedparser_parse_date

from bot.ingest.parse.fast import parse_fast
from bot.models import ParsedFeed, RawEntry


class FeedRejected(Exception):
    """The document is not a feed we are willing to read; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_feed(
    body: bytes, *, content_type: str | None = None, base_url: str | None = None
) -> ParsedFeed:
    """Parse a fetched feed document; raise FeedRejected when it is not one we accept."""
    if not body or not body.strip():
        raise FeedRejected("empty body")
    text_head, complete = _decoded_head(body)
    if text_head.lstrip().startswith(("{", "[")):
        return _resolve_links(_parse_json_feed(body), base_url)
    _check_prolog(text_head, complete=complete)
    feed = parse_fast(body, parse_date=parse_date)
    if feed is None:
        try:
            feed = parse_with_feedparser(body)
        except FeedRejected:
            if content_type and "html" in content_type.lower():
                raise FeedRejected("looks like an HTML page, not a feed") from None
            raise
    return _resolve_links(feed, base_url)


def check_prolog(body: bytes) -> None:
    """Raise FeedRejected for entity declarations, external DTDs and HTML, before any parser."""
    text_head, complete = _decoded_head(body)
    _check_prolog(text_head, complete=complete)


# --- the prolog: refuse before any XML parser sees the document -------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# How "<?" looks in encodings that are not ASCII-compatible, for documents without a BOM.
_SNIFF = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"Lo\xa7\x94", "cp037"),
)
_HEAD_BYTES = 1 << 18


def _decoded_head(body: bytes) -> tuple[str, bool]:
    """The start of the document as text, enough to read its prolog.

    ASCII-compatible documents are read as Latin-1: every markup character of the prolog is ASCII.
    """
    encoding = "latin-1"
    for bom, name in _BOMS:
        if body.startswith(bom):
            encoding, body = name, body[len(bom) :]
            break
    else:
        for start, name in _SNIFF:
            if body.startswith(start):
                encoding = name
                break
    complete = len(body) <= _HEAD_BYTES
    head = body if complete else body[:_HEAD_BYTES]
    return head.decode(encoding, errors="replace"), complete


_DOCTYPE_NAME = re.compile(r"<!DOCTYPE\s+([^\s\[>]+)", re.I)
_EXTERNAL_ID = re.compile(r"<!DOCTYPE\s+[^\s\[>]+\s+(SYSTEM|PUBLIC)\b", re.I)
# The RSS 0.91 DTDs are labels every old feed carries; no parser here loads them.
_KNOWN_RSS091_DOCTYPES = frozenset(
    {
        (
            "-//Netscape Communications//DTD RSS 0.91//EN",
            "http://my.netscape.com/publish/formats/rss-0.91.dtd",
        ),
        (
            "-//Userland Software//DTD RSS 0.91//EN",
            "http://my.userland.com/publish/formats/rss-0.91.dtd",
        ),
    }
)
_PUBLIC_ID = re.compile(
    r"""<!DOCTYPE\s+rss\s+PUBLIC\s+(["'])([^"']*)\1\s+(["'])([^"']*)\3\s*>\s*$""", re.I
)


def _doctype_end(text: str, start: int) -> int:
    """Index just past the DOCTYPE starting at `start`, honouring quotes and the internal subset."""
    depth, quote = 0, ""
    for index in range(start + 2, len(text)):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == ">" and depth <= 0:
            return index + 1
    return len(text)


_FEED_ROOT = re.compile(r"<(?:rss|feed|rdf:RDF)\b")


def _check_doctype(doctype: str, following: str) -> None:
    name = _DOCTYPE_NAME.match(doctype)
    if name and name.group(1).lower() == "html" and not _FEED_ROOT.search(following):
        raise FeedRejected("looks like an HTML page, not a feed")
    if "<!ENTITY" in doctype.upper() or "%" in doctype:
        raise FeedRejected("the DOCTYPE declares entities; refused before parsing")
    if _EXTERNAL_ID.match(doctype):
        known = _PUBLIC_ID.match(doctype)
        if not (known and (known.group(2), known.group(4)) in _KNOWN_RSS091_DOCTYPES):
            raise FeedRejected("the DOCTYPE names an external DTD; refused before parsing")


def _check_prolog(text: str, *, complete: bool = True) -> None:
    """Walk comments, processing instructions and the DOCTYPE up to the root element.

    `complete` is False when `text` is only the head of a longer document: a prolog that does
    not end inside it is refused rather than let through unread.
    """
    position = 0
    while True:
        start = text.find("<", position)
        if start < 0 or position >= len(text):
            if not complete:
                raise FeedRejected("the prolog is too long to check; refused before parsing")
            return
        if text.startswith("<?", start):
            end = text.find("?>", start + 2)
            position = end + 2 if end >= 0 else len(text)
        elif text.startswith("<!--", start):
            end = text.find("-->", start + 4)
            position = end + 3 if end >= 0 else len(text)
        elif text[start : start + 9].upper() == "<!DOCTYPE":
            end = _doctype_end(text, start)
            if end >= len(text) and not complete:
                raise FeedRejected("the prolog is too long to check; refused before parsing")
            _check_doctype(text[start:end], text[end : end + 4096])
            position = end
        else:
            _check_root(text, start)
            return


_ROOT_NAME = re.compile(r"<([A-Za-z_][\w.:-]*)")


def _check_root(text: str, start: int) -> None:
    name = _ROOT_NAME.match(text, start)
    if name and name.group(1).lower() in ("html", "xhtml:html", "head", "body"):
        raise FeedRejected("looks like an HTML page, not a feed")


# --- JSON Feed ---------------------------------------------------------------------------

_JSON_FEED_VERSIONS = {
    "https://jsonfeed.org/version/1": "json1",
    "https://jsonfeed.org/version/1.1": "json11",
}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _optional(value: Any) -> str | None:
    return _text(value) or None


def _iso_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return parse_date(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _json_author(item: Mapping[str, Any]) -> str | None:
    authors = item.get("authors")
    if isinstance(authors, list):
        names = [_text(a.get("name")) for a in authors if isinstance(a, dict)]
        if any(names):
            return ", ".join(n for n in names if n)
    author = item.get("author")
    if isinstance(author, dict):
        return _optional(author.get("name"))
    return None


def _json_entry(item: Mapping[str, Any]) -> RawEntry:
    summary = (
        _text(item.get("content_html"))
        or _text(item.get("summary"))
        or _text(item.get("content_text"))
    )
    item_id = item.get("id")
    return RawEntry(
        guid=str(item_id).strip() or None if isinstance(item_id, str | int) else None,
        link=_optional(item.get("url")) or _optional(item.get("external_url")),
        title=_text(item.get("title")),
        summary=summary,
        author=_json_author(item),
        language=_optional(item.get("language")),
        published=_iso_date(item.get("date_published")),
        updated=_iso_date(item.get("date_modified")),
    )


def _parse_json_feed(body: bytes) -> ParsedFeed:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise FeedRejected("not an RSS, Atom or JSON feed (invalid JSON)") from error
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or version.rstrip("/") not in _JSON_FEED_VERSIONS:
        raise FeedRejected("not an RSS, Atom or JSON feed")
    items = document.get("items")
    language = _optional(document.get("language"))
    entries = (
        tuple(_json_entry(item) for item in items or () if isinstance(item, dict))
        if isinstance(items, list)
        else ()
    )
    return ParsedFeed(
        format=_JSON_FEED_VERSIONS[version.rstrip("/")],
        title=_text(document.get("title")),
        link=_optional(document.get("home_page_url")),
        language=language,
        entries=entries,
    )


# --- feedparser ------------------------------------------------------------------------


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
    return _optional(name) or _optional(_get(entry, "author"))


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
    """RSS `<source url>` gives title and href; Atom `<source>` gives title and link."""
    source = _get(entry, "source")
    if not isinstance(source, dict):
        return None, None
    url = _get(source, "href") or _get(source, "link")
    return _optional(_get(source, "title")), url if isinstance(url, str) and url else None


def _feedparser_entry(entry: dict[str, Any]) -> RawEntry:
    get = _get
    publisher, publisher_url = _publisher(entry)
    return RawEntry(
        guid=_optional(get(entry, "id")),
        link=_optional(get(entry, "link")),
        title=_text(get(entry, "title")),
        summary=_summary_of(entry),
        author=_detail_name(entry),
        language=_optional(get(entry, "language")),
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
        title=_text(_get(feed, "title")),
        link=_optional(_get(feed, "link")),
        language=_optional(_get(feed, "language")),
        entries=tuple(_feedparser_entry(entry) for entry in entries),
    )


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
