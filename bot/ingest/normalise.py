"""Turn raw feed entries into articles: canonical URLs, plain text, UTC times, language, hash.

Every function here is pure (the language model is loaded once, lazily) and never raises on
odd input from a feed.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit, urlunsplit

from bot.models import Article, ParsedFeed, RawEntry

TITLE_MAX = 300
SUMMARY_MAX = 1000

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "_hsenc",
        "_hsmi",
        "__hssc",
        "__hstc",
        "__hsfp",
        "hsctatracking",
        "ref_src",
        "ref_url",
        "spm",
        "scm",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "rb_clickid",
        "s_cid",
        "cmpid",
        "ncid",
        "sr_share",
        "_ga",
        "_gl",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    key = name.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _clean_query(query: str) -> str:
    if not query:
        return ""
    kept = [part for part in query.split("&") if part and not _is_tracking(part.split("=", 1)[0])]
    return "&".join(kept)


def _netloc(parts: SplitResult, scheme: str) -> str:
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal: urlsplit drops the brackets
        host = f"[{host}]"
    port = parts.port
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = f"{userinfo}@{host}" if userinfo else host
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{netloc}:{port}"
    return netloc


# Already canonical: lower-case http(s) host, no port, a path, no query, no fragment.
_PLAIN_URL = re.compile(r"https?://[a-z0-9.-]+/[^?#\s]*")


def canonical_url(url: str) -> str:
    """The URL two copies of one article share: tracking, fragment and default port removed."""
    stripped = url.strip()
    if _PLAIN_URL.fullmatch(stripped):
        return stripped
    try:
        parts = urlsplit(stripped)
        scheme = parts.scheme.lower()
        if not scheme or not parts.netloc:
            return stripped
        netloc = _netloc(parts, scheme)
        path = parts.path or "/"
        target = _redirect_target(netloc, path, parts.query)
        if target is not None:
            return canonical_url(target)
        return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))
    except ValueError:  # bad port, unbalanced IPv6 brackets …
        return stripped


def _redirect_target(netloc: str, path: str, query: str) -> str | None:
    """The article behind an aggregator redirect that names it in the clear (Bing News'
    apiclick links carry `url=`); Google News' /rss/articles/ ids cannot be decoded offline."""
    if path.lower() != "/news/apiclick.aspx" or not netloc.lower().endswith("bing.com"):
        return None
    for name, value in parse_qsl(query):
        if name.lower() == "url" and value.lower().startswith(("http://", "https://")):
            return value
    return None


def host_of(url: str | None) -> str:
    """The host without "www.", lower case; "" when there is none."""
    if not url:
        return ""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def same_site(a: str, b: str) -> bool:
    """Hosts (from host_of) of one site: equal, or one a subdomain of the other."""
    return bool(a and b) and (a == b or a.endswith("." + b) or b.endswith("." + a))


_DROP_BLOCKS = re.compile(
    r"<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.I | re.S
)
_BLOCK_BREAK = re.compile(r"<(?:br|/p|/div|/li|/h[1-6]|/tr|/blockquote)\b[^>]*>", re.I)
_TAG = re.compile(r"</?[A-Za-z][^>]*>|<![^>]*>|<\?[^>]*>")
_SPACE = re.compile(r"\s+")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ELLIPSIS = "…"


def _cap(text: str, max_len: int) -> str:
    if len(text) <= max_len:
        return text
    if max_len <= 1:
        return _ELLIPSIS[:max_len]
    cut = text[: max_len - 1]
    space = cut.rfind(" ")
    # Cut at a word boundary unless that would throw away most of the text (e.g. CJK).
    if space > max_len // 2:
        cut = cut[:space]
    return cut.rstrip() + _ELLIPSIS


def plain_text(html_or_text: str, max_len: int) -> str:
    """Text a person would read: no markup, entities decoded, whitespace folded, capped."""
    if not html_or_text:
        return ""
    text = html_or_text
    if "<" in text:
        text = _DROP_BLOCKS.sub(" ", text)
        text = _BLOCK_BREAK.sub(" ", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
        if "&" in text and _ENTITY.search(text):
            text = html.unescape(text)  # double-encoded ("&amp;amp;"): once more is enough
        if "<" in text:
            # Escaped markup ("&lt;b&gt;") decodes to tags: strip those too.
            text = _TAG.sub("", _BLOCK_BREAK.sub(" ", _DROP_BLOCKS.sub(" ", text)))
    text = " ".join(text.split())  # the same whitespace as \s, folded in C
    if not text.isprintable():  # rare: only then look for control and bidi characters
        text = " ".join(_CONTROL.sub("", text).split())
    return _cap(text, max_len)


# Terminal escapes, NUL and bidi overrides from a feed must not reach a console or a chat message.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


_LANG_TAG = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*$")
_ISO639_3_TO_1 = {"eng": "en", "zho": "zh", "chi": "zh", "ita": "it", "fra": "fr", "fre": "fr"}
_ISO639_3_TO_1 |= {"deu": "de", "ger": "de", "spa": "es", "jpn": "ja", "kor": "ko", "rus": "ru"}


def normalise_language(declared: str | None) -> str | None:
    """ "en-US" → "en", "zh_TW" → "zh"; anything that is not a language tag → None."""
    if not declared:
        return None
    match = _LANG_TAG.match(declared)
    if not match:
        return None
    code = match.group(1).lower()
    if len(code) == 3:
        return _ISO639_3_TO_1.get(code)
    return code


_MIN_DETECT_CHARS = 12
_MIN_CONFIDENCE = 0.3
_identifier: Any = None


def _language_identifier() -> Any:
    global _identifier
    if _identifier is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def _has_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text, or None when it is too short or the model is unsure."""
    sample = _SPACE.sub(" ", text).strip()
    if len(sample) < _MIN_DETECT_CHARS and not (len(sample) >= 4 and _has_cjk(sample)):
        return None
    code, confidence = _language_identifier().classify(sample)
    if confidence < _MIN_CONFIDENCE:
        return None
    return normalise_language(str(code))


def content_hash(title: str, summary: str) -> str:
    """Same hash for the same words, whatever the case, spacing or dates around them."""
    folded = " ".join(title.casefold().split()) + "\n" + " ".join(summary.casefold().split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


def to_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive time is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _url_of(entry: RawEntry) -> str | None:
    for candidate in (entry.link, entry.guid):
        if candidate and _is_web_url(candidate.strip()):
            return canonical_url(candidate)
    return None


def _is_web_url(url: str) -> bool:
    if url[:8].lower().startswith(("http://", "https://")):
        return True
    return urlsplit(url).scheme.lower() in ("http", "https")


LINKLESS_PREFIX = "urn:chipwire:content:"

_SUFFIX_DASHES = "-–—|·"


def strip_publisher(text: str, publisher: str, *, bare: bool = False) -> str:
    """`text` without a trailing " - Publisher" (or –, —, |, ·), the way aggregators end
    headlines; with `bare`, also a trailing " Publisher" (Google News' descriptions)."""
    folded_text, folded_name = text.casefold(), publisher.casefold()
    if not folded_name or not folded_text.endswith(folded_name):
        return text
    head = text[: len(text) - len(publisher)].rstrip()
    if head and head[-1] in _SUFFIX_DASHES:
        return head[:-1].rstrip()
    if bare and head and len(head) < len(text) - len(publisher):
        return head
    return text


def _relayed_summary(summary: str, title: str, publisher: str) -> str:
    """Google News' description is the headline and the publisher's name: nothing a reader
    would miss, so it becomes empty; a real summary only loses a " - Publisher" ending."""
    bare = strip_publisher(strip_publisher(summary, publisher, bare=True), publisher)
    if bare.casefold() == title.casefold():
        return ""
    return strip_publisher(summary, publisher)


def relayed_publisher(entry: RawEntry, feed: ParsedFeed) -> tuple[str, str | None] | None:
    """(name, home page) of the publisher an item names when that is not the feed itself."""
    name = plain_text(entry.publisher or "", TITLE_MAX)
    if not name:
        return None
    given = (entry.publisher_url or "").strip()
    url = canonical_url(given) if given and _is_web_url(given) else None
    if url is not None and same_site(host_of(url), host_of(feed.link)):
        return None
    if url is None and name.casefold() == plain_text(feed.title, TITLE_MAX).casefold():
        return None
    return name, url


def normalise_entry(
    entry: RawEntry,
    *,
    feed: ParsedFeed,
    source: str,
    declared_language: str | None,
    first_seen: datetime,
) -> Article | None:
    """An Article, or None when the entry has neither a usable link nor a title."""
    try:
        url = _url_of(entry)
    except ValueError:
        url = None
    title = plain_text(entry.title, TITLE_MAX)
    if url is None and not title:
        return None
    summary = plain_text(entry.summary, SUMMARY_MAX)
    publisher = relayed_publisher(entry, feed) if entry.publisher else None
    if publisher is not None:
        source = publisher[0]
        title = strip_publisher(title, source) or title
        summary = _relayed_summary(summary, title, source)
    when = entry.published or entry.updated or first_seen
    language = (
        normalise_language(entry.language)
        or normalise_language(declared_language)
        or normalise_language(feed.language)
        or detect_language(f"{title} {summary}")
    )
    author = plain_text(entry.author, TITLE_MAX) if entry.author else ""
    digest = content_hash(title, summary)
    return Article(
        guid=entry.guid.strip() if entry.guid and entry.guid.strip() else None,
        # a linkless entry still needs a unique key; renderers show no link for urn: keys
        url=url or f"{LINKLESS_PREFIX}{digest}",
        title=title,
        summary=summary,
        published_at=to_utc(when),
        language=language,
        author=author or None,
        source=source,
        content_hash=digest,
        publisher_url=publisher[1] if publisher else None,
        relayed=publisher is not None,
    )
