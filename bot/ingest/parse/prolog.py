"""Refuse dangerous or wrong documents from their first bytes, before any XML parser sees them.

Entity declarations, external DTDs (except the RSS 0.91 labels) and HTML pages are refused.
"""

from __future__ import annotations

import codecs
import re


class FeedRejected(Exception):
    """The document is not a feed we are willing to read; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_prolog(body: bytes) -> None:
    """Raise FeedRejected for entity declarations, external DTDs and HTML, before any parser."""
    text_head, complete = decoded_head(body)
    check_prolog_text(text_head, complete=complete)


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


def decoded_head(body: bytes) -> tuple[str, bool]:
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


def check_prolog_text(text: str, *, complete: bool = True) -> None:
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
