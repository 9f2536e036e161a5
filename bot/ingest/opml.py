"""OPML subscription lists in and out, the way feed readers move their feeds. Pure.

Read with lxml with entities, DTDs and the network off, after refusing any DOCTYPE outright: an
OPML file has no use for one, and an entity declaration is how XML bombs start. No OPML library
is needed for a format this small (lxml is already a dependency).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from lxml import etree

MAX_BYTES = 5 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)


class OpmlError(Exception):
    """The file is not an OPML list we read; the message says why and what to do."""


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str = ""
    language: str | None = None


def read_opml(data: bytes) -> list[OpmlFeed]:
    """Every outline with an xmlUrl, folders flattened, in document order, each URL once."""
    if len(data) > MAX_BYTES:
        raise OpmlError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if _DOCTYPE.search(data[:65536]):
        raise OpmlError("the file declares a DOCTYPE or entities; refused before parsing")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"not well-formed XML ({exc})") from None
    if not isinstance(root.tag, str) or root.tag.lower() != "opml":
        raise OpmlError(f"the root element is <{root.tag}>, not <opml>")
    found: dict[str, OpmlFeed] = {}
    for outline in root.iter("outline"):
        attrs = {name.lower(): value.strip() for name, value in outline.attrib.items()}
        url = attrs.get("xmlurl", "")
        if url and url not in found:
            title = attrs.get("title") or attrs.get("text") or ""
            found[url] = OpmlFeed(url, title, attrs.get("language") or None)
    return list(found.values())


@dataclass(frozen=True)
class ExportedFeed:
    url: str
    name: str
    language: str | None = None


def write_opml(
    feeds: Sequence[ExportedFeed], now: datetime, title: str = "ChipWire feeds"
) -> bytes:
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = etree.SubElement(root, "body")
    for feed in feeds:
        outline = etree.SubElement(body, "outline", type="rss")
        outline.set("text", feed.name or feed.url)
        outline.set("title", feed.name or feed.url)
        outline.set("xmlUrl", feed.url)
        if feed.language:
            outline.set("language", feed.language)
    document: bytes = etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return document
