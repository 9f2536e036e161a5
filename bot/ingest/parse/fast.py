"""A fast lxml reader for plain, well-formed UTF-8 RSS 2.0 / 0.9x and Atom 1.0 documents.

It must yield what the feedparser path yields (after normalising), so it reads only the
structures it understands exactly and returns None for anything else; feedparser then takes over.
Each rule below mirrors one thing feedparser does to the same element.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lxml import etree

from bot.models import ParsedFeed, RawEntry

DateParser = Callable[[str], datetime | None]

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XHTML_NS = "http://www.w3.org/1999/xhtml"

_A = "{" + ATOM + "}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"

# Namespaces whose elements feedparser reads like core RSS/Atom elements.
_CORE_ALIASES = frozenset(
    {
        "http://backend.userland.com/rss",
        "http://blogs.law.harvard.edu/tech/rss",
        "http://purl.org/rss/1.0/",
        "http://my.netscape.com/rdf/simple/0.9/",
        "http://example.com/newformat#",
        "http://example.com/necho",
        "http://purl.org/echo/",
        "uri/of/echo/namespace#",
        "http://purl.org/pie/",
        "http://purl.org/atom/ns#",
        "http://www.w3.org/2005/atom",
        "http://purl.org/rss/1.0/modules/rss091#",
    }
)
# Extension namespaces (by URI) whose item elements never touch the fields we read,
# except for the listed local names, which do.
_HARMLESS_EXCEPT: dict[str, frozenset[str]] = {
    # media:title is checked per item: it cannot beat a non-empty <title>.
    "http://search.yahoo.com/mrss/": frozenset({"description"}),
    "http://search.yahoo.com/mrss": frozenset({"description"}),
    "http://www.itunes.com/dtds/podcast-1.0.dtd": frozenset(
        {"author", "summary", "name", "email", "owner"}
    ),
    "http://wellformedweb.org/commentapi/": frozenset(),
    "http://purl.org/rss/1.0/modules/slash/": frozenset(),
    "http://rssnamespace.org/feedburner/ext/1.0": frozenset({"browserfriendly"}),
    "http://www.georss.org/georss": frozenset(),
    "http://www.w3.org/2003/01/geo/wgs84_pos#": frozenset(),
    "http://purl.org/rss/1.0/modules/syndication/": frozenset(),
    "http://purl.org/rss/1.0/modules/threading/": frozenset(),
    "http://webns.net/mvcb/": frozenset(),
}
# Namespaces feedparser knows under some prefix: an element there is read by URI, not prefix.
_FEEDPARSER_URIS = frozenset(
    {
        "http://purl.org/rss/1.0/modules/aggregation/",
        "http://purl.org/rss/1.0/modules/annotate/",
        "http://media.tangent.org/rss/1.0/",
        "http://backend.userland.com/blogchannelmodule",
        "http://creativecommons.org/ns#license",
        "http://web.resource.org/cc/",
        "http://purl.org/rss/1.0/modules/company",
        "http://purl.org/rss/1.0/modules/content/",
        "http://my.theinfo.org/changed/1.0/rss/",
        "http://cyber.law.harvard.edu/rss/creativecommonsrssmodule.html",
        "http://backend.userland.com/creativecommonsrssmodule",
        "http://purl.org/dc/elements/1.1/",
        "http://purl.org/dc/terms/",
        "http://purl.org/rss/1.0/modules/email/",
        "http://purl.org/rss/1.0/modules/event/",
        "http://freshmeat.net/rss/fm/",
        "http://xmlns.com/foaf/0.1/",
        "http://www.opengis.net/gml",
        "http://postneo.com/icbm/",
        "http://purl.org/rss/1.0/modules/image/",
        "http://example.com/dtds/podcast-1.0.dtd",
        "http://purl.org/rss/1.0/modules/link/",
        "http://madskills.com/public/xml/rss/module/pingback/",
        "http://prismstandard.org/namespaces/1.2/basic/",
        "http://podlove.org/simple-chapters",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "http://www.w3.org/2000/01/rdf-schema#",
        "http://purl.org/rss/1.0/modules/reference/",
        "http://purl.org/rss/1.0/modules/richequiv/",
        "http://purl.org/rss/1.0/modules/search/",
        "http://schemas.xmlsoap.org/soap/envelope/",
        "http://purl.org/rss/1.0/modules/servicestatus/",
        "http://hacks.benhammersley.com/rss/streaming/",
        "http://purl.org/rss/1.0/modules/subscription/",
        "http://schemas.pocketsoap.com/rss/mydescmodule/",
        "http://purl.org/rss/1.0/modules/taxonomy/",
        "http://purl.org/rss/1.0/modules/textinput/",
        "http://madskills.com/public/xml/rss/module/trackback/",
        "http://purl.org/rss/1.0/modules/wiki/",
        "http://www.w3.org/1999/xhtml",
        "http://www.w3.org/1999/xlink",
    }
)
# Prefixes feedparser has element handlers for; it falls back to the document's prefix.
_FEEDPARSER_PREFIXES = frozenset(
    {
        "admin",
        "cc",
        "content",
        "creativecommons",
        "dc",
        "dcterms",
        "georss",
        "gml",
        "itunes",
        "media",
        "psc",
        "feedburner",
        "xhtml",
        "rdf",
    }
)

# Element names feedparser gives meaning to when they carry no (or a core) namespace.
_FEEDPARSER_NAMES = frozenset(
    [
        "abstract",
        "author",
        "body",
        "category",
        "channel",
        "cloud",
        "content",
        "contributor",
        "copyright",
        "created",
        "description",
        "email",
        "enclosure",
        "entry",
        "expirationdate",
        "feed",
        "fullitem",
        "generator",
        "geom",
        "georssgeom",
        "guid",
        "height",
        "homepage",
        "id",
        "image",
        "info",
        "issued",
        "item",
        "keywords",
        "language",
        "lastbuilddate",
        "link",
        "managingeditor",
        "modified",
        "name",
        "newlocation",
        "pubdate",
        "published",
        "rights",
        "rss",
        "source",
        "subtitle",
        "summary",
        "tagline",
        "tags",
        "textinput",
        "title",
        "updated",
        "uri",
        "url",
        "webmaster",
        "where",
        "width",
    ]
)
# Under the channel only these names could reach what we read (entries, link, language).
_CHANNEL_SENSITIVE = frozenset(
    {"item", "entry", "link", "language", "textinput", "channel", "rss", "feed", "source"}
)

_RSS_VERSIONS = {"2.0": "rss20", "0.91": "rss091u", "0.92": "rss092"}
_RSS_ITEM_FIELDS = frozenset({"title", "link", "description", "guid", "pubDate", "author"})
_RSS_ITEM_IGNORED = frozenset({"category", "comments", "enclosure"})
_RSS_CHANNEL_IGNORED = frozenset(
    {
        "description",
        "copyright",
        "managingEditor",
        "webMaster",
        "pubDate",
        "lastBuildDate",
        "category",
        "generator",
        "docs",
        "cloud",
        "ttl",
        "image",
        "rating",
        "skipHours",
        "skipDays",
    }
)
_DC_ITEM = {
    _DC + "creator": "author",
    _DC + "date": "updated",
    _DC + "language": "language",
}
_IMAGE_FIELDS = frozenset({"url", "title", "link", "width", "height", "description"})
_MEDIA_TITLES = ("{http://search.yahoo.com/mrss/}title", "{http://search.yahoo.com/mrss}title")
_ATOM_IN_RSS = {_A + "updated": "updated", _A + "published": "published"}
_DC_IGNORED = frozenset({_DC + "subject", _DC + "rights", _DC + "publisher"})

_ATOM_ENTRY_FIELDS = frozenset(
    {_A + n for n in ("id", "title", "summary", "content", "published", "updated", "author")}
)
_ATOM_ENTRY_IGNORED = frozenset({_A + "category", _A + "contributor", _A + "rights"})
_ATOM_FEED_IGNORED = frozenset(
    {
        _A + n
        for n in (
            "title",
            "id",
            "updated",
            "subtitle",
            "author",
            "contributor",
            "category",
            "generator",
            "icon",
            "logo",
            "rights",
        )
    }
)
_TEXT_TYPES = {
    "text": "text",
    "text/plain": "text",
    "html": "html",
    "text/html": "html",
    "xhtml": "xhtml",
    "application/xhtml+xml": "xhtml",
}
_HTML_LINK_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})

_XML_DECL_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
# feedparser resolves links against xml:base (or a bare "base", any case): not mirrored here.
_BASE_XPATH = "boolean(//@*[translate(local-name(), 'BASE', 'base') = 'base'])"
_URI_FIXER = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_UNHANDLED_REF = re.compile(r"&([A-Za-z0-9_]+);")
_CP1252 = {
    c: bytes([c]).decode("cp1252") for c in range(0x80, 0xA0) if c not in b"\x81\x8d\x8f\x90\x9d"
}
_EMPTY = frozenset[str]()

_local = threading.local()


class _Decline(Exception):
    """The document has something this reader does not mirror exactly."""


def _parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            strip_cdata=True,
            recover=False,
        )
        _local.parser = parser
    return parser


def _has_base(root: Any) -> bool:
    finder = getattr(_local, "has_base", None)
    if finder is None:
        finder = _local.has_base = etree.XPath(_BASE_XPATH)
    return bool(finder(root))


def parse_fast(body: bytes, *, parse_date: DateParser | None = None) -> ParsedFeed | None:
    """A ParsedFeed, or None when feedparser must read this document instead."""
    if not _plain_utf8(body):
        return None
    try:
        root = etree.fromstring(body, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root.getroottree().docinfo.doctype or _has_base(root):
        return None
    dates = _skip_empty(parse_date or _no_dates)
    try:
        if root.tag == "rss":
            return _rss(root, dates)
        if root.tag == _A + "feed":
            return _atom(root, dates)
    except _Decline:
        return None
    return None


def _skip_empty(parse_date: DateParser) -> DateParser:
    def parse(value: str) -> datetime | None:
        return parse_date(value) if value else None

    return parse


def _no_dates(value: str) -> datetime | None:
    if value:
        raise _Decline
    return None


def _plain_utf8(body: bytes) -> bool:
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    declared = _XML_DECL_ENCODING.match(body[:256])
    if declared is None:
        return body.lstrip()[:1] == b"<"
    return declared.group(1).lower() in (b"utf-8", b"utf8")


# --- text as feedparser leaves it --------------------------------------------------------


def _fix(text: str) -> str:
    text = text.strip()
    if not text.isascii():
        # feedparser re-decodes text that looks like UTF-8 read as Latin-1, then maps C1 controls.
        with contextlib.suppress(UnicodeError):
            text = text.encode("iso-8859-1").decode("utf-8")
        text = text.translate(_CP1252)
    return text


def _uri(text: str) -> str:
    scheme_end = text.find("://")
    if scheme_end < 0 or not text.startswith("/", scheme_end + 3):
        return text  # the fixer would change nothing: no extra slashes after "://"
    return _URI_FIXER.sub(r"\1\3", text)


def _leaf(element: Any) -> str:
    if len(element):
        raise _Decline
    return _fix(element.text or "")


def _text_construct(element: Any) -> str:
    kind = _content_kind(element)
    if kind != "xhtml":
        return _leaf(element)
    parts = [etree.tostring(child, encoding=str, with_tail=True) for child in element]
    return _fix(_escape(element.text or "") + "".join(parts))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _content_kind(element: Any) -> str:
    for name in element.attrib:
        if name.lower() not in ("type", "src", XML_LANG):
            raise _Decline
    kind = _TEXT_TYPES.get((element.get("type") or "text").lower())
    if kind is None:
        raise _Decline
    return kind


def _language(root: Any) -> str | None:
    lang = root.get(XML_LANG)
    if lang is None:
        lang = root.get("lang")
    return lang.replace("_", "-") if lang else None


def _optional(text: str) -> str | None:
    return text or None


def _single(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1
    if counts[key] > 1:
        raise _Decline


# --- which elements are safe to skip -------------------------------------------------------


def _is_harmless(element: Any) -> bool:
    """True for an extension element feedparser keeps away from the fields we read."""
    tag = element.tag
    if not isinstance(tag, str):
        return False
    if not tag.startswith("{"):
        return tag.lower() not in _FEEDPARSER_NAMES
    uri, _, local = tag[1:].partition("}")
    lowered = uri.lower()
    if lowered in _HARMLESS_EXCEPT:
        return local.lower() not in _HARMLESS_EXCEPT[lowered]
    if lowered in _CORE_ALIASES or lowered in _FEEDPARSER_URIS:
        return False
    if lowered.find("backend.userland.com/rss") != -1:
        return False
    if local.lower() == "source":  # Bing's <News:Source>: the feedparser path reads the publisher
        return False
    prefix = element.prefix
    return bool(prefix) and prefix.lower() not in _FEEDPARSER_PREFIXES


def _check_subtree(element: Any) -> None:
    for child in element.iterdescendants():
        if not _is_harmless(child):
            raise _Decline


# --- RSS 2.0 / 0.9x ----------------------------------------------------------------------


def _rss(root: Any, dates: DateParser) -> ParsedFeed:
    version = _RSS_VERSIONS.get(root.get("version") or "")
    if version is None or len(root) != 1 or root[0].tag != "channel":
        raise _Decline
    fields: dict[str, str | None] = {"title": "", "link": None, "language": _language(root)}
    entries = []
    for child in root[0]:
        if child.tag == "item":
            entries.append(_rss_item(child, dates))
        else:
            _rss_channel_field(child, fields)
    return ParsedFeed(
        format=version,
        title=fields["title"] or "",
        link=_optional(fields["link"] or ""),
        language=_optional(fields["language"] or ""),
        entries=tuple(entries),
    )


def _rss_channel_field(child: Any, fields: dict[str, str | None]) -> None:
    """Read one channel child other than an item into `fields` (title, link, language)."""
    tag = child.tag
    if tag == "title":
        fields["title"] = fields["title"] or _leaf(child)
    elif tag == "link":
        if child.attrib:
            raise _Decline
        fields["link"] = _UNHANDLED_REF.sub(r"&\1", _uri(_leaf(child)))
    elif tag in ("language", _DC + "language"):
        fields["language"] = _leaf(child)
    elif tag == _A + "link":
        fields["link"] = _atom_link(child, fields["link"])
    elif tag == "image":
        _check_image(child)
    elif tag in _RSS_CHANNEL_IGNORED or (isinstance(tag, str) and tag.startswith("{")):
        _check_channel_subtree(child)
    elif not _is_harmless(child):
        raise _Decline
    else:
        _check_subtree(child)


def _check_channel_subtree(element: Any) -> None:
    for node in element.iter():
        tag = node.tag
        if isinstance(tag, str) and tag.rpartition("}")[2].lower() in _CHANNEL_SENSITIVE:
            raise _Decline
        if node is not element and tag == "image":
            raise _Decline


def _check_image(image: Any) -> None:
    for child in image:
        if child.tag not in _IMAGE_FIELDS or len(child):
            raise _Decline


def _rss_item(item: Any, dates: DateParser) -> RawEntry:
    values, guid_is_link = _rss_item_values(item)
    if not values.get("title") and any(True for _ in item.iter(*_MEDIA_TITLES)):
        raise _Decline
    guid = values.get("guid")
    if guid is not None and guid_is_link:
        guid = _uri(guid)
    if "link" in values:
        link: str | None = _entry_link(values["link"])
    else:
        link = guid if guid_is_link else None
    author = values.get("author")
    if author and "@" in author:
        raise _Decline  # feedparser splits e-mail addresses out of names its own way
    return _raw_entry(values, guid, link, author, dates)


def _rss_item_values(item: Any) -> tuple[dict[str, str], bool]:
    """The item's fields by name, and whether its guid is a permalink."""
    values: dict[str, str] = {}
    counts: dict[str, int] = {}
    guid_is_link = False
    for child in item:
        tag = child.tag
        if tag in _RSS_ITEM_FIELDS:
            _single(counts, "author" if tag == "author" else tag)
            if tag == "guid":
                guid_is_link = _permalink(child)
            elif child.attrib:
                raise _Decline
            values[tag] = _leaf(child)
        elif not _rss_extension(child, tag, values, counts):
            if not (tag in _RSS_ITEM_IGNORED or tag in _DC_IGNORED or _is_harmless(child)):
                raise _Decline
            _check_subtree(child)
    return values, guid_is_link


def _rss_extension(child: Any, tag: Any, values: dict[str, str], counts: dict[str, int]) -> bool:
    """Read an item child from another vocabulary (source, content, Dublin Core, Atom)."""
    if tag == "source":
        _single(counts, tag)
        values["publisher"], values["publisher_url"] = _rss_source(child)
    elif tag == _CONTENT_ENCODED:
        _single(counts, tag)
        if child.attrib:
            raise _Decline
        values["content"] = _leaf(child)
    elif tag in _DC_ITEM:
        key = _DC_ITEM[tag]
        _single(counts, key)
        values[key] = _leaf(child)
    elif tag in _ATOM_IN_RSS:
        key = _ATOM_IN_RSS[tag]
        _single(counts, "pubDate" if key == "published" else key)
        values[key] = _leaf(child)
    else:
        return False
    return True


def _raw_entry(
    values: dict[str, str],
    guid: str | None,
    link: str | None,
    author: str | None,
    dates: DateParser,
) -> RawEntry:
    return RawEntry(
        guid=_optional(guid or ""),
        link=_optional(link or ""),
        title=values.get("title", ""),
        summary=values.get("description") or values.get("content") or "",
        author=_optional(author or ""),
        language=_optional(values.get("language", "")),
        published=dates(values.get("pubDate") or values.get("published", "")),
        updated=dates(values.get("updated", "")),
        publisher=_optional(values.get("publisher", "")),
        publisher_url=_optional(values.get("publisher_url", "")),
    )


def _rss_source(source: Any) -> tuple[str, str]:
    """`<source url="home">Publisher</source>`, as feedparser reads it (the url attribute
    unstripped, the text stripped); anything richer is left to feedparser."""
    for name in source.attrib:
        if name != "url":
            raise _Decline
    url = source.get("url") or ""
    if not url.isascii():
        raise _Decline  # feedparser's re-decoding of attribute values is not mirrored
    return _leaf(source), url


def _permalink(guid: Any) -> bool:
    flag = "true"
    for name, value in guid.attrib.items():
        if name.lower() != "ispermalink":
            raise _Decline
        flag = value
    return flag == "true"


def _entry_link(text: str) -> str:
    return _UNHANDLED_REF.sub(r"&\1", _uri(text).replace("&amp;", "&"))


# --- Atom 1.0 ----------------------------------------------------------------------------


def _atom_link(element: Any, current: str | None) -> str | None:
    """feedparser's choice: the last rel=alternate link of an HTML type wins."""
    if len(element):
        raise _Decline
    attrs = {name.lower(): value for name, value in element.attrib.items()}
    href = attrs.get("href")
    if href is None or "url" in attrs or "uri" in attrs:
        raise _Decline
    rel = (attrs.get("rel") or "alternate").lower()
    default_type = "application/atom+xml" if rel == "self" else "text/html"
    kind = (attrs.get("type") or default_type).lower()
    if rel == "alternate" and kind in _HTML_LINK_TYPES:
        return _uri(href)
    return current


def _atom(root: Any, dates: DateParser) -> ParsedFeed:
    title, link = "", None
    entries = []
    for child in root:
        tag = child.tag
        if tag == _A + "entry":
            entries.append(_atom_entry(child, dates))
        elif tag == _A + "link":
            link = _atom_link(child, link)
        elif tag == _A + "title":
            title = title or _text_construct(child)
        elif tag in _ATOM_FEED_IGNORED:
            if tag not in (_A + "subtitle", _A + "rights"):
                _check_atom_children(child)
        elif _is_harmless(child):
            _check_subtree(child)
        else:
            raise _Decline
    return ParsedFeed(
        format="atom10",
        title=title,
        link=_optional(link or ""),
        language=_language(root),
        entries=tuple(entries),
    )


def _check_atom_children(element: Any) -> None:
    for child in element.iterdescendants():
        tag = child.tag
        if not (isinstance(tag, str) and tag.startswith(_A)) and not _is_harmless(child):
            raise _Decline


def _atom_author(element: Any) -> str | None:
    fields: dict[str, str] = {}
    counts: dict[str, int] = {}
    for child in element:
        tag = child.tag
        if tag not in (_A + "name", _A + "email", _A + "uri"):
            if not _is_harmless(child):
                raise _Decline
            _check_subtree(child)
            continue
        _single(counts, tag)
        fields[tag] = _leaf(child)
    return _optional(fields.get(_A + "name") or fields.get(_A + "email") or "")


def _atom_entry(entry: Any, dates: DateParser) -> RawEntry:
    values, author, link = _atom_entry_parts(entry)
    guid = values.get(_A + "id")
    if guid is not None:
        guid = _uri(guid)
    if link is None:
        link = guid
    updated = values.get(_A + "updated", "")
    if "updated" in values:
        if _A + "updated" in values:
            raise _Decline
        updated = values["updated"]
    return RawEntry(
        guid=_optional(guid or ""),
        link=_optional(link or ""),
        title=values.get(_A + "title", ""),
        summary=values.get(_A + "summary") or values.get(_A + "content") or "",
        author=author,
        language=_optional(values.get("language", "")),
        published=dates(values.get(_A + "published", "")),
        updated=dates(updated),
    )


def _atom_entry_parts(entry: Any) -> tuple[dict[str, str], str | None, str | None]:
    """The entry's fields by name, its author and its link."""
    values: dict[str, str] = {}
    counts: dict[str, int] = {}
    author: str | None = None
    link: str | None = None
    for child in entry:
        tag = child.tag
        if tag == _A + "link":
            link = _atom_link(child, link)
        elif tag in _ATOM_ENTRY_FIELDS:
            _single(counts, "author" if tag == _A + "author" else tag)
            author = _atom_field(child, tag, values) or author
        elif tag in _DC_ITEM:
            author = _dc_field(child, _DC_ITEM[tag], values, counts) or author
        elif tag in _ATOM_ENTRY_IGNORED:
            _check_atom_children(child)
        elif tag in _DC_IGNORED or _is_harmless(child):
            _check_subtree(child)
        else:
            raise _Decline
    return values, author, link


def _atom_field(child: Any, tag: str, values: dict[str, str]) -> str | None:
    """Store an Atom field in `values`; an author is returned instead."""
    if tag == _A + "author":
        return _atom_author(child)
    if tag in (_A + "title", _A + "summary", _A + "content"):
        values[tag] = _text_construct(child)
    elif child.attrib:
        raise _Decline
    else:
        values[tag] = _leaf(child)
    return None


def _dc_field(child: Any, key: str, values: dict[str, str], counts: dict[str, int]) -> str | None:
    """Store a Dublin Core field in `values`; dc:creator is returned as the author instead."""
    _single(counts, key)
    if key != "author":
        values[key] = _leaf(child)
        return None
    author = _optional(_leaf(child))
    if author and "@" in author:
        raise _Decline
    return author
