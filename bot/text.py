"""Pure text helpers shared by the digest renderers: cleaning, measuring, cutting, wording.

Feed text is untrusted: it may carry control characters, bidi overrides, lone surrogates and
arbitrary lengths. Everything here takes strings and returns strings; no platform is imported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ELLIPSIS = "…"
SUMMARY_CHARS = 160

# Bidi embeddings/overrides/isolates can reorder the text around them ("trojan source"),
# a BOM and interlinear-annotation marks are invisible noise; none belongs in a headline.
_INVISIBLE = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\ufff9\ufffa\ufffb"
)
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?](?=\s)|[。！？]")
_MIN_SENTENCE = 30  # shorter "sentences" are usually abbreviations such as "U.S."
_ZWJ = "\u200d"


def clean(text: str) -> str:
    """Drop control and format characters a feed should not be able to smuggle in.

    Tabs and line breaks become spaces so callers decide the layout; lone surrogates (which
    cannot be encoded for any API) are dropped.
    """
    out: list[str] = []
    for ch in text:
        if ch in _LINE_BREAKS or ch == "\t":
            out.append(" ")
            continue
        if ch in _INVISIBLE:
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") or (category == "Cn" and _is_noncharacter(ch)):
            continue
        out.append(ch)
    return "".join(out)


def _is_noncharacter(ch: str) -> bool:
    # Other unassigned code points ("Cn") may be emoji newer than this Python's Unicode data,
    # so only the permanent noncharacters are dropped.
    cp = ord(ch)
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def one_line(text: str) -> str:
    """Cleaned text on a single line, runs of whitespace collapsed."""
    return _SPACES.sub(" ", clean(text)).strip()


def text_len(text: str) -> int:
    """Length in UTF-16 code units: never less than the code-point count, so a string within a
    limit by this measure is within it whichever way a platform counts characters."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _is_extender(ch: str) -> bool:
    """True for characters that belong to the cluster before them (a cut must not precede them)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch == _ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences (subdivision flags)
        or 0xDC00 <= cp <= 0xDFFF  # low surrogate (only in unclean input)
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def safe_cut(text: str, index: int) -> int:
    """The largest cut position <= index that does not split a character cluster."""
    index = max(0, min(index, len(text)))
    while 0 < index < len(text) and (_is_extender(text[index]) or text[index - 1] == _ZWJ):
        index -= 1
    if 0 < index < len(text) and _is_regional_indicator(text[index]):
        run = 0
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        if run % 2:  # an odd run before us means we would split a flag pair
            index -= 1
    return index


def _prefix_within(text: str, limit: int) -> int:
    """Number of characters of text whose text_len is <= limit."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return i
    return len(text)


def truncate(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """text if it fits in limit (text_len), else a prefix cut at a word boundary plus ellipsis.

    Falls back to a cluster boundary when the text has no space in its second half (CJK,
    long URLs). The result is always a prefix of text, possibly followed by ellipsis.
    """
    if text_len(text) <= limit:
        return text
    budget = limit - text_len(ellipsis)
    if budget <= 0:
        return ""
    cut = safe_cut(text, _prefix_within(text, budget))
    space = max(text.rfind(" ", 0, cut + 1), text.rfind("\u3000", 0, cut + 1))
    if space > 0 and space >= cut // 2:
        cut = space
    head = text[:cut].rstrip(" \u3000,;:-–—")
    return head + ellipsis if head else ""


def fit(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """escape(truncate(text, n)) for the largest n whose result is within limit.

    Truncating before escaping means an escape sequence can never be cut in half.
    """
    whole = escape(text)
    if text_len(whole) <= limit:
        return whole
    lo, hi = 0, min(limit, text_len(text))
    best = ""
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = escape(truncate(text, mid))
        if text_len(candidate) <= limit:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def summary_line(summary: str, limit: int = SUMMARY_CHARS) -> str:
    """The summary's first sentence on one line, or its start cut at a word boundary."""
    text = one_line(summary)
    for match in _SENTENCE_END.finditer(text):
        if match.group() in "。！？" or match.end() >= _MIN_SENTENCE:
            text = text[: match.end()]
            break
    return truncate(text, limit)


# Wording shared by the renderers (English, like the rest of the bot's chat text).

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_NAMES = 5


def zone(name: str) -> tzinfo:
    """The IANA zone, or UTC when the name is unknown (a digest still renders)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _day(moment: datetime) -> str:
    return f"{_DAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]}"


def local_time(moment: datetime, where: tzinfo) -> str:
    """e.g. "Mon 30 Nov 14:05 CET"."""
    local = _aware(moment).astimezone(where)
    return f"{_day(local)} {local:%H:%M} {local.tzname() or ''}".rstrip()


def period_text(start: datetime, end: datetime, zone_name: str) -> str:
    """e.g. "Sun 29 Nov 2026 07:00 – Mon 30 Nov 2026 07:00 (Europe/Rome)"."""
    where = zone(zone_name)
    a, b = _aware(start).astimezone(where), _aware(end).astimezone(where)
    label = zone_name if where is not UTC else "UTC"
    return f"{_day(a)} {a.year} {a:%H:%M} – {_day(b)} {b.year} {b:%H:%M} ({label})"


def left_out_text(count: int, command: str) -> str:
    """ "67 more stories not shown: `/chipnews latest` or `/chipnews search WORDS` finds them."."""
    stories = "story" if count == 1 else "stories"
    return (
        f"{count:,} more {stories} not shown: `{command} latest COMPANY` or "
        f"`{command} search WORDS` finds them."
    )


def sources_text(sources: Sequence[str]) -> str:
    """ "1 source: A" / "3 sources: A, B, C" / "9 sources: A, B, C, D, E and 4 more"."""
    names = [truncate(one_line(s), 60) for s in sources]
    names = [n for n in names if n] or ["unknown"]
    count = len(names)
    shown = ", ".join(names[:MAX_NAMES])
    more = f" and {count - MAX_NAMES} more" if count > MAX_NAMES else ""
    return f"{count} source{'s' if count != 1 else ''}: {shown}{more}"


def companies_text(companies: Sequence[str], company_names: Mapping[str, str]) -> str:
    """Display names of the story's companies, "" when none."""
    names = [truncate(one_line(company_names.get(c, c)), 40) for c in companies]
    shown = [n for n in names if n][:MAX_NAMES]
    return ", ".join(shown)


def linkable(url: str) -> bool:
    """Only web links become links; "urn:" keys and other schemes are shown without one."""
    lowered = url.strip().lower()
    return lowered.startswith(("https://", "http://"))
