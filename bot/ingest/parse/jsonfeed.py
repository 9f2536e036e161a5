"""JSON Feed 1 and 1.1, read with the standard library."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.ingest.parse.prolog import FeedRejected
from bot.models import ParsedFeed, RawEntry

_JSON_FEED_VERSIONS = {
    "https://jsonfeed.org/version/1": "json1",
    "https://jsonfeed.org/version/1.1": "json11",
}


def text_of(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def optional_text(value: Any) -> str | None:
    return text_of(value) or None


def _iso_date(value: Any, parse_date: Callable[[str], datetime | None]) -> datetime | None:
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
        names = [text_of(a.get("name")) for a in authors if isinstance(a, dict)]
        if any(names):
            return ", ".join(n for n in names if n)
    author = item.get("author")
    if isinstance(author, dict):
        return optional_text(author.get("name"))
    return None


def _json_entry(item: Mapping[str, Any], parse_date: Callable[[str], datetime | None]) -> RawEntry:
    summary = (
        text_of(item.get("content_html"))
        or text_of(item.get("summary"))
        or text_of(item.get("content_text"))
    )
    item_id = item.get("id")
    return RawEntry(
        guid=str(item_id).strip() or None if isinstance(item_id, str | int) else None,
        link=optional_text(item.get("url")) or optional_text(item.get("external_url")),
        title=text_of(item.get("title")),
        summary=summary,
        author=_json_author(item),
        language=optional_text(item.get("language")),
        published=_iso_date(item.get("date_published"), parse_date),
        updated=_iso_date(item.get("date_modified"), parse_date),
    )


def parse_json_feed(body: bytes, *, parse_date: Callable[[str], datetime | None]) -> ParsedFeed:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise FeedRejected("not an RSS, Atom or JSON feed (invalid JSON)") from error
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or version.rstrip("/") not in _JSON_FEED_VERSIONS:
        raise FeedRejected("not an RSS, Atom or JSON feed")
    items = document.get("items")
    language = optional_text(document.get("language"))
    entries = (
        tuple(_json_entry(item, parse_date) for item in items or () if isinstance(item, dict))
        if isinstance(items, list)
        else ()
    )
    return ParsedFeed(
        format=_JSON_FEED_VERSIONS[version.rstrip("/")],
        title=text_of(document.get("title")),
        link=optional_text(document.get("home_page_url")),
        language=language,
        entries=entries,
    )
