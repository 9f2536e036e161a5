"""Group digest candidates into stories: one event, however many sources and languages tell it. Pure.

Two articles belong to the same story when either rule links them; stories are the connected
components of those links (union-find), so links chain.

Shared canonical URL
    Already one ``DigestArticle`` with several ``sources`` at ingest; nothing to do here beyond
    counting those sources.

Near-duplicate titles
    Token-set Jaccard of the titles >= ``TITLE_JACCARD`` (0.5), at least ``TITLE_MIN_SHARED`` (3)
    tokens shared, and published within ``TITLE_WINDOW`` (48 h) of each other. Tokens: the title
    NFKC-normalised and case-folded; Latin/Cyrillic/... words; runs of CJK, kana or Hangul as
    character bigrams (a lone character as itself); numbers with thousands separators dropped
    ("30.000", "30,000" → "30000"); a short list of function words (en, it, de, fr, es) left out.
    Vetoes: both titles name model codes (letters and digits in one token: "H20", "B30A") and
    share none — two products, two stories ("Nvidia to ship H20 to China" / "Nvidia to ship B30A
    to China", Jaccard 0.6); or both articles have companies and share none ("Alibaba unveils new
    AI chip for inference" / the same with Baidu). The three shared tokens keep short titles
    ("Nvidia to invest in Intel" / "... in OpenAI") from passing on two words.

Distinct events stay apart
    Titles that would match are still two stories when they disagree on what happened: both
    carry numbers (years, versions, percentages) and share none ("rises 3%" / "falls 4%",
    "GTAC 2016" / "GTAC 2017"); they move in opposite directions ("rises" / "falls",
    "passes" / "fails", "removes" / "restores", in the languages of ``_POLAR``); both name a
    weekday or month and share none ("October revenue" / "November revenue"); or, in titles
    written in sentence case, each names someone the other does not ("wins Oracle order" /
    "wins Microsoft Azure order": a different counterparty); or, in any case style, each opens
    with a word the other lacks ("Corporation Bank bags …" / "KARNATAKA BANK BAGS …": another
    subject). The first three also veto links across languages; all five veto links within one
    language.

Across languages
    Close subject sets (Jaccard >= ``COMPANY_JACCARD``, 0.5: a translation may name one more
    company in its title), published within ``CROSS_WINDOW`` (48 h, as the title rule), and a shared
    distinctive token: a model code ("H20", "910C", "HBM4", "MI400", "18A"; process sizes such as
    "3nm" and capacities such as "80GB" are too common to count), a ticker written "$NVDA" or
    "NASDAQ:NVDA", or a number with at least two digits before any decimal point that is not a
    year ("20%", "30.000" = "30,000"), from the title or the summary, where a brand written with
    capitals inside ("CoWoS", "T-Head") counts too: such names survive translation. Two articles of the same known language must also have
    titles with a Jaccard >= ``SAME_LANGUAGE_JACCARD`` (0.3): "AMD unveils MI400 accelerators at
    Advancing AI" / "AMD shows off MI400 accelerator at Advancing AI event" (0.4) are one story;
    two English Nvidia items of one day that both mention "H20" but share little else are not.
    Language is the primary subtag ("zh-CN" → "zh"); an unknown language pairs with any.

Aggregator items
    An item a feed relays from another publisher (Google News names it in ``<source>``; the
    article then has a ``publisher_url``) and any article with the same headline (case and
    spacing aside, within ``TITLE_WINDOW``) are one story, whatever the other rules say: the
    aggregator's copy of a publisher's article has the same words in its title (the " - Publisher"
    suffix is stripped at ingest) but no shared URL, since its link is a redirect.

The story
    Lead article = highest score, then earliest, then smallest id: it gives title, summary,
    URL and language; when its URL is an aggregator's redirect, the URL of a member on the
    publisher's own site is used instead (the same publisher's first, else any). ``key`` =
    "a<smallest article id>"; ``sources`` = distinct publishers, the lead's first, then the
    other articles' by time (a feed's name, or the publisher an aggregator item named; an
    aggregator item whose publisher's own copy is in the story adds no second name); ``companies`` = union in the same order; ``score`` =
    the best; ``published_at`` = the earliest. Stories come out earliest first, then by key.

Cost
    Titles with the same tokens and companies (syndicated copies) are compared once. Title pairs
    are found as in ppjoin: tokens ordered rarest first, titles taken shortest first, each probing
    an index of the shorter ones with the few rarest tokens any match must share (prefix filter),
    keyed by company so the company veto costs nothing, and a candidate is dropped once the
    tokens left cannot reach the overlap needed (position filter); common words ("nvidia",
    "chip") rarely make candidates. Each probed token reads its latest ``TITLE_SCAN`` (256)
    entries at most, which bounds a flood of near-identical titles. Cross-language links are
    found per (company set, distinctive token) bucket in time order, keeping per language only
    the articles not yet linked to another language: linear in the number of articles
    (same-language comparisons are capped at the latest ``SAME_LANGUAGE_SCAN`` per bucket).
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from itertools import islice, pairwise
from typing import NamedTuple

from bot.ingest.normalise import host_of, same_site
from bot.models import DigestArticle, Story

TITLE_JACCARD = 0.5
TITLE_MIN_SHARED = 3
TITLE_WINDOW = timedelta(hours=48)
_TITLE_SECONDS = TITLE_WINDOW.total_seconds()
TITLE_SCAN = 256  # latest titles compared per probed token: bounds the worst case
SAME_LANGUAGE_JACCARD = 0.3
SAME_LANGUAGE_SCAN = 64  # same-language articles compared per bucket: bounds the worst case
CROSS_SCAN = 64  # other-language articles compared per bucket and language: the same bound
CROSS_WINDOW = timedelta(hours=48)
COMPANY_JACCARD = 0.5  # subjects shared across languages: {ant-group} and {ant-group, nvidia}

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
# a CJK run, a number (not glued to letters: "18A" is a word), or a word of letters and digits
_TOKEN = re.compile(rf"[{_CJK}]+|\d+(?:[.,]\d+)*(?![^\W_{_CJK}])|[^\W_{_CJK}]+")
_DIGIT = re.compile(r"\d")
_THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
_TICKER = re.compile(
    r"(?:\$|\b(?:nasdaq|nyse|hkex|sse|szse|twse|tpex|krx|kosdaq|tse|tyo)\s*:\s*)"
    r"([a-z][a-z0-9]{0,5}|\d{3,6})\b"
)
# Sizes every chip story mentions: they say nothing about which event this is.
_COMMON_CODE = re.compile(r"\d+(?:nm|gb|tb|mb|ghz|mhz|w|kw|mw|gw|x|th|st|nd|rd|s)")
_FUNCTION_WORDS = {
    "en": "a an the of to in on at for and or with as by from into over after amid about is are "
    "was be its it this that new says say said will could may than vs via up out",
    "it": "il lo la i gli le l un una uno di del della dei degli delle da dal dalla per con su "
    "sul sulla nel nella e ed che non al alla agli alle",
    "de": "der die das den dem des und für mit von vom im auf ein eine einen zu zum zur bei nach "
    "aus ist",
    "fr": "le les du de et en pour par sur au aux une des",
    "es": "el los las y con por para del al",
    "pt": "o a os as do da dos das em no na nos nas um uma e para com por se ao",
    "nl": "het een en van op voor met aan bij naar te",
}
# Opposite directions on one axis: two titles on opposite sides report two events.
_POLAR = {
    "up": "rise rises rose rising climb climbs climbed jump jumps jumped gain gains gained surge "
    "surges surged soar soars soared rally rallies higher steigt steigen klettert sale salgono "
    "rialzo hausse monte grimpe sube suben sobe sobem stijgt 上涨 大涨 上昇",
    "down": "fall falls fell falling drop drops dropped slide slides slid slump slumps plunge "
    "plunges plunged sink sinks sank tumble tumbles lower fällt fallen sinkt scende scendono cala "
    "ribasso baisse chute recule cae caen baja cai caem daalt 下跌 大跌 下落",
    "pass": "pass passes passed approve approves approved clears cleared supera superano",
    "fail": "fail fails failed reject rejects rejected block blocks blocked",
    "add": "add adds added restore restores restored reinstates",
    "remove": "remove removes removed",
}
_OPPOSITE = {"up": "down", "down": "up", "pass": "fail", "fail": "pass", "add": "remove"}
_OPPOSITE["remove"] = "add"
_POLARITY = {word: axis for axis, words in _POLAR.items() for word in words.split()}
_CALENDAR = [
    "monday montag lundi lunedì lunes segunda maandag 周一 星期一 月曜",
    "tuesday dienstag mardi martedì martes terça dinsdag 周二 星期二 火曜",
    "wednesday mittwoch mercredi mercoledì miércoles quarta woensdag 周三 星期三 水曜",
    "thursday donnerstag jeudi giovedì jueves quinta donderdag 周四 星期四 木曜",
    "friday freitag vendredi venerdì viernes sexta vrijdag 周五 星期五 金曜",
    "saturday samstag samedi sabato sábado zaterdag 周六 星期六 土曜",
    "sunday sonntag dimanche domenica domingo zondag 周日 星期日 日曜",
    "january januar janvier gennaio enero janeiro januari 1月",
    "february februar février febbraio febrero fevereiro februari 2月",
    "march märz mars marzo março maart 3月",
    "april avril aprile abril 4月",
    "may mai maggio mayo maio mei 5月",
    "june juni juin giugno junio junho 6月",
    "july juli juillet luglio julio julho 7月",
    "august août agosto augustus 8月",
    "september septembre settembre septiembre setembro 9月",
    "october oktober octobre ottobre octubre outubro 10月",
    "november novembre noviembre novembro 11月",
    "december dezember décembre dicembre diciembre dezembro 12月",
]
_DATES = {word: k for k, words in enumerate(_CALENDAR) for word in words.split()}
_CJK_LEXICON = sorted(
    (w for w in (*_POLARITY, *_DATES) if _CJK_CHAR.match(w[0]) or w[0].isdigit()),
    key=len,
    reverse=True,
)
_CJK_WORDS = re.compile("|".join(map(re.escape, _CJK_LEXICON)))
# a capitalised word (not the title's first) naming a party: "Oracle", "Azure", "MI355X"
_NAME = re.compile(r"(?<=[\s(“\"'])[A-Z][\w-]*")
# a brand with a capital inside ("CoWoS", "T-Head", "MediaTek"): as distinctive as a model code
_BRAND = re.compile(r"(?<![A-Za-z])(?:[A-Za-z]*[a-z][A-Z][A-Za-z0-9]*|[A-Z]-[A-Z][a-z]+)")
_NONE: frozenset[str] = frozenset()
_NO_AXES: frozenset[str] = frozenset()
_NO_DATES: frozenset[int] = frozenset()
_LOWER_WORD = re.compile(r"(?<!\S)[a-zß-ÿ][^\W\d_]{3,}")
_LONG_WORD = re.compile(r"(?<!\S)[^\W\d_]{4,}")
# a number or a model code in running text (letters and digits in one word, at least one digit)
_WITH_DIGIT = re.compile(rf"(?<![^\W_{_CJK}])[^\W_{_CJK}]*\d[^\W_{_CJK}]*(?:[.,]\d+)*")
_STOPWORDS = frozenset(word for words in _FUNCTION_WORDS.values() for word in words.split())


class TitleFeatures(NamedTuple):  # a tuple: built 5,000 times a digest, cheaper than a dataclass
    tokens: frozenset[str]  # for the title rule
    codes: frozenset[str]  # model codes (letters with digits), for the title rule's veto
    distinctive: frozenset[str]  # codes, tickers, numbers: for the cross-language rule
    numbers: frozenset[str] = frozenset()  # every number, years and versions too: a veto
    polarity: frozenset[str] = frozenset()  # directions ("up", "fail" …): a veto
    dates: frozenset[int] = frozenset()  # weekdays and months (0-18): a veto
    names: frozenset[str] = frozenset()  # parties named in a sentence-case title: a veto
    first: str = ""  # the first word that is no function word: who the title is about


def _number(text: str) -> str:
    if _THOUSANDS.fullmatch(text):
        return text.replace(".", "").replace(",", "")
    return text.replace(",", ".")


def _is_year(number: str) -> bool:
    return len(number) == 4 and number.isdigit() and 1900 <= int(number) <= 2099


def title_features(title: str) -> TitleFeatures:
    """Tokens, model codes and distinctive tokens of one title (see the module docstring)."""
    if not unicodedata.is_normalized("NFKC", title):
        title = unicodedata.normalize("NFKC", title)
    text = title.casefold()
    tokens = set(_TOKEN.findall(text)).difference(_STOPWORDS)  # not -=: that walks the stopwords
    codes: set[str] = set()
    distinctive: set[str] = set()
    numbers: set[str] = set()
    # plain ASCII words stay as found; CJK runs, numbers and codes need a second look
    for token in [t for t in tokens if not (t.isalpha() and t.isascii())]:
        if token[0] >= "\u3040" and _CJK_CHAR.match(token):
            tokens.discard(token)
            tokens.update(token[k : k + 2] for k in range(max(1, len(token) - 1)))
        elif token.isalpha():
            continue
        elif token.isdigit() or "." in token or "," in token:
            value = token if token.isdigit() else _number(token)
            if value != token:
                tokens.discard(token)
                tokens.add(value)
            numbers.add(value)
            if len(value.split(".")[0]) >= 2 and not _is_year(value):
                distinctive.add(value)
        elif len(token) >= 2 and not _COMMON_CODE.fullmatch(token) and _DIGIT.search(token):
            codes.add(token)
    distinctive |= codes
    if "$" in text or ":" in text:
        distinctive.update("$" + ticker for ticker in _TICKER.findall(text))
    words = tokens.union(_CJK_WORDS.findall(text)) if _CJK_CHAR.search(text) else tokens
    polar = words & _POLARITY.keys()
    dates = words & _DATES.keys()
    return TitleFeatures(
        frozenset(tokens),
        frozenset(codes) if codes else _NONE,
        frozenset(distinctive) if distinctive else _NONE,
        frozenset(numbers) if numbers else _NONE,
        frozenset(_POLARITY[w] for w in polar) if polar else _NO_AXES,
        frozenset(_DATES[w] for w in dates) if dates else _NO_DATES,
        _names(title),
        _first(text, tokens),
    )


def _first(text: str, tokens: set[str]) -> str:
    """The title's first token as the token set holds it (a CJK run's first pair)."""
    words: list[str] = _TOKEN.findall(text)
    for word in words:
        token = word[:2] if _CJK_CHAR.match(word) else word
        if token in tokens:
            return token
        if word not in _STOPWORDS and (word.isdigit() or "." in word or "," in word):
            value = _number(word)
            if value in tokens:
                return value
    return ""


def _names(title: str) -> frozenset[str]:
    """Parties a sentence-case title names; none for Title Case or capitals, where every word
    looks like a name."""
    found = _NAME.findall(title)
    if not found or len(_LOWER_WORD.findall(title)) * 3 < len(_LONG_WORD.findall(title)):
        return _NONE
    names = {part for name in found for part in name.casefold().split("-") if part}
    return frozenset(names - _STOPWORDS)


def summary_distinctive(summary: str) -> frozenset[str]:
    """Translation-invariant tokens of a summary: codes, tickers, numbers, inner-capital brands."""
    found = {brand.casefold() for brand in _BRAND.findall(summary)}
    for token in _WITH_DIGIT.findall(summary.casefold()):
        if token.isdigit() or "." in token or "," in token:
            value = token if token.isdigit() else _number(token)
            if len(value.split(".")[0]) >= 2 and not _is_year(value):
                found.add(value)
        elif len(token) >= 2 and not _COMMON_CODE.fullmatch(token):
            found.add(token)
    if "$" in summary or ":" in summary:
        found.update("$" + ticker for ticker in _TICKER.findall(summary.casefold()))
    return frozenset(found)


def events_differ(a: TitleFeatures, b: TitleFeatures) -> bool:
    """Numbers, directions or dates say these are two events (see the module docstring)."""
    if a.numbers and b.numbers and a.numbers.isdisjoint(b.numbers):
        return True
    if a.dates and b.dates and a.dates.isdisjoint(b.dates):
        return True
    return any(_OPPOSITE.get(axis) in b.polarity for axis in a.polarity)


def parties_differ(a: TitleFeatures, b: TitleFeatures) -> bool:
    """Each sentence-case title names a party the other does not, or each opens with a word the
    other lacks ("Corporation Bank bags …" / "KARNATAKA BANK BAGS …": another subject, in any
    case style) — a veto in one language."""
    if a.first and b.first and a.first not in b.tokens and b.first not in a.tokens:
        return True
    return bool(a.names - b.tokens) and bool(b.names - a.tokens)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def titles_match(a: TitleFeatures, b: TitleFeatures) -> bool:
    """The near-duplicate title rule, time aside."""
    if a.codes and b.codes and a.codes.isdisjoint(b.codes):
        return False
    if events_differ(a, b) or parties_differ(a, b):
        return False
    shared = len(a.tokens & b.tokens)
    union = len(a.tokens) + len(b.tokens) - shared
    return shared >= TITLE_MIN_SHARED and shared >= TITLE_JACCARD * union


def _language(article: DigestArticle) -> str | None:
    if not article.language:
        return None
    return article.language.split("-")[0].split("_")[0].casefold()


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        parent = self.parent
        root = item
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:
            parent[item], item = root, parent[item]
        return root

    def same(self, a: int, b: int) -> bool:
        return self.find(a) == self.find(b)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


# A pair sharing `needed` tokens shares its first k of them (in the global order) within the first
# size - needed + k tokens of each title: candidates must share _PREFIX_SHARED there.
_PREFIX_SHARED = 1  # 2 finds fewer candidates but reads longer posting lists: slower


def _probe_length(size: int) -> int:
    """Tokens of a title that must meet the index."""
    needed = max(TITLE_MIN_SHARED, math.ceil(TITLE_JACCARD * size - 1e-9))
    return size - needed + _PREFIX_SHARED


def _index_length(size: int) -> int:
    """Tokens of a title to index, given that only titles at least as long will probe it."""
    share = 2 * TITLE_JACCARD / (1 + TITLE_JACCARD)
    needed = max(TITLE_MIN_SHARED, math.ceil(share * size - 1e-9))
    return size - needed + _PREFIX_SHARED


class _Copies(NamedTuple):
    """Articles with the same title tokens and companies (syndicated copies), in time order."""

    features: TitleFeatures
    companies: frozenset[str]
    members: tuple[int, ...]
    times: tuple[float, ...]  # POSIX seconds
    joined: bool  # every member is in one story (no gap wider than the window between copies)


def _copies(articles: Sequence[DigestArticle], features: Sequence[TitleFeatures]) -> list[_Copies]:
    grouped: dict[tuple[frozenset[str], frozenset[str]], list[int]] = defaultdict(list)
    for i, feature in enumerate(features):
        if len(feature.tokens) >= TITLE_MIN_SHARED:
            grouped[feature.tokens, frozenset(articles[i].companies)].append(i)
    copies = []
    for (_, companies), members in grouped.items():
        times = tuple(articles[i].published_at.timestamp() for i in members)
        copies.append(
            _Copies(
                features=features[members[0]],
                companies=companies,
                members=tuple(members),
                times=times,
                joined=all(b - a <= _TITLE_SECONDS for a, b in pairwise(times)),
            )
        )
    return copies


def _link_in_window(a: _Copies, b: _Copies, window: float, links: _UnionFind) -> None:
    """Union each of ``a``'s members with ``b``'s nearest in time, if within ``window``."""
    for member, when in zip(a.members, a.times, strict=True):
        k = bisect_left(b.times, when)
        for near in (k - 1, k):
            if 0 <= near < len(b.times) and abs(b.times[near] - when) <= window:
                links.union(member, b.members[near])


def _overlap_needed(total_size: int) -> int:
    """Shared tokens two titles of these summed sizes need for TITLE_JACCARD (and the minimum)."""
    share = TITLE_JACCARD / (1 + TITLE_JACCARD)
    return max(TITLE_MIN_SHARED, math.ceil(share * total_size - 1e-9))


_Postings = Mapping[tuple[str, str], list[tuple[int, int]]]


def _candidates(
    ordered: Sequence[str],
    companies: frozenset[str],
    postings: _Postings,
    sizes: Sequence[int],
    needed: Sequence[int],
) -> list[int]:
    """Earlier titles that may still reach the threshold with this one (ppjoin's filters).

    The index is keyed by (company, token), "" standing for every title and "-" for titles with
    no company, so titles of other companies (the company veto) are never read.
    """
    size = len(ordered)
    smallest = TITLE_JACCARD * size
    shared: dict[int, int] = {}  # candidate → tokens shared so far; -1 once ruled out
    counted: dict[int, int] = {}  # candidate → position last counted (a pair sharing companies)
    scopes = ("-", *companies) if companies else ("",)
    for position, token in enumerate(ordered[: _probe_length(size)]):
        for scope in scopes:
            for other, other_position in islice(
                reversed(postings.get((scope, token), ())), TITLE_SCAN
            ):
                count = shared.get(other, 0)
                if count < 0 or counted.get(other) == position:
                    continue
                counted[other] = position
                other_size = sizes[other]
                best = count + min(size - position, other_size - other_position)
                if other_size < smallest or best < needed[size + other_size]:
                    shared[other] = -1
                else:
                    shared[other] = count + 1
    return [other for other, count in shared.items() if count >= _PREFIX_SHARED]


def _link_titles(
    articles: Sequence[DigestArticle], features: Sequence[TitleFeatures], links: _UnionFind
) -> None:
    """Union every pair within TITLE_WINDOW whose titles match.

    Copies are linked among themselves (consecutive ones within the window), then compared as one
    title. Titles are taken shortest first and probe an index of the shorter titles before them,
    with ppjoin's prefix and position filters: a title indexes only the rarest tokens a longer
    match must share, and a candidate is dropped as soon as the tokens left cannot reach the
    overlap needed.
    """
    copies = _copies(articles, features)
    for group in copies:
        for k in range(1, len(group.members)):
            if group.times[k] - group.times[k - 1] <= _TITLE_SECONDS:
                links.union(group.members[k - 1], group.members[k])
    frequency: dict[str, int] = defaultdict(int)
    for group in copies:
        for token in group.features.tokens:
            frequency[token] += len(group.members)
    rarity = {t: k for k, t in enumerate(sorted(frequency, key=lambda t: (frequency[t], t)))}
    copies.sort(key=lambda g: (len(g.features.tokens), g.members[0]))
    sizes = [len(g.features.tokens) for g in copies]
    needed = [_overlap_needed(total) for total in range(2 * max(sizes, default=0) + 1)]
    postings: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for x, group in enumerate(copies):
        ordered = sorted(group.features.tokens, key=rarity.__getitem__)
        for y in _candidates(ordered, group.companies, postings, sizes, needed):
            other = copies[y]
            if (
                group.times[0] - other.times[-1] <= _TITLE_SECONDS
                and other.times[0] - group.times[-1] <= _TITLE_SECONDS
                and not (
                    group.joined and other.joined and links.same(group.members[0], other.members[0])
                )
                and titles_match(group.features, other.features)
            ):
                _link_in_window(group, other, _TITLE_SECONDS, links)
        scopes = ("", *group.companies) if group.companies else ("", "-")
        for position, token in enumerate(ordered[: _index_length(sizes[x])]):
            for scope in scopes:
                postings[scope, token].append((x, position))


def _link_languages(
    articles: Sequence[DigestArticle],
    features: Sequence[TitleFeatures],
    cross: Sequence[frozenset[str]],
    links: _UnionFind,
) -> None:
    """Union cross-language pairs; indices are in time order.

    Per (company, distinctive token) bucket and language, keep the articles in the window.
    A newcomer links to the latest ``CROSS_SCAN`` of each other language whose titles do not
    report a different event (``events_differ``).
    """
    buckets: dict[tuple[str, str], dict[str | None, deque[int]]] = {}
    sets = [frozenset(a.companies) for a in articles]
    for i, article in enumerate(articles):
        if not article.companies or not cross[i]:
            continue
        language = _language(article)
        oldest = article.published_at - CROSS_WINDOW
        for company, token in ((c, t) for c in sets[i] for t in cross[i]):
            by_language = buckets.setdefault((company, token), {})
            for other, waiting in by_language.items():
                while waiting and articles[waiting[0]].published_at < oldest:
                    waiting.popleft()
                if other == language and language is not None:
                    _link_same_language(i, waiting, features, sets, links)
                    continue
                for j in islice(reversed(waiting), CROSS_SCAN):
                    if (
                        jaccard(sets[i], sets[j]) >= COMPANY_JACCARD
                        and not links.same(i, j)
                        and not events_differ(features[i], features[j])
                    ):
                        links.union(i, j)
            by_language.setdefault(language, deque()).append(i)


def _link_same_language(
    i: int,
    waiting: deque[int],
    features: Sequence[TitleFeatures],
    sets: Sequence[frozenset[str]],
    links: _UnionFind,
) -> None:
    tokens = features[i].tokens
    for j in islice(reversed(waiting), SAME_LANGUAGE_SCAN):
        if (
            links.find(i) != links.find(j)
            and jaccard(sets[i], sets[j]) >= COMPANY_JACCARD
            and jaccard(tokens, features[j].tokens) >= SAME_LANGUAGE_JACCARD
            and not events_differ(features[i], features[j])
            and not parties_differ(features[i], features[j])
        ):
            links.union(i, j)


def is_redirect(article: DigestArticle) -> bool:
    """An aggregator's link to another publisher's article (not on that publisher's site)."""
    if article.publisher_url is None:
        return False
    return not same_site(host_of(article.url), host_of(article.publisher_url))


def _lead_url(lead: DigestArticle, ordered: Sequence[DigestArticle]) -> str:
    if not is_redirect(lead):
        return lead.url
    own = [a for a in ordered if not is_redirect(a)]
    site = host_of(lead.publisher_url)
    same_publisher = [a for a in own if same_site(host_of(a.url), site)]
    return (same_publisher or own or [lead])[0].url


def _publishers(ordered: Sequence[DigestArticle]) -> tuple[str, ...]:
    """Distinct publishers; an aggregator item whose publisher's own copy is here adds none."""
    if all(a.publisher_url is None for a in ordered):
        return _distinct(s for a in ordered for s in (a.source, *a.sources))
    own_sites = [host_of(a.url) for a in ordered if not is_redirect(a)]
    names: list[str] = []
    for article in ordered:
        site = host_of(article.publisher_url) if is_redirect(article) else ""
        if site and any(same_site(site, own) for own in own_sites):
            continue
        names += (article.source, *article.sources)
    return _distinct(names) or _distinct(s for a in ordered for s in (a.source, *a.sources))


def _story(members: Sequence[DigestArticle]) -> Story:
    """``members`` in time order (then id)."""
    lead = min(members, key=lambda a: (-a.score, a.published_at, a.id))
    ordered = [lead, *(a for a in members if a is not lead)]
    return Story(
        key=f"a{min(a.id for a in members)}",
        title=lead.title,
        summary=lead.summary,
        url=_lead_url(lead, ordered),
        published_at=members[0].published_at,
        language=lead.language,
        companies=_distinct(c for a in ordered for c in a.companies),
        score=lead.score,
        sources=_publishers(ordered),
        article_ids=tuple(sorted(a.id for a in members)),
    )


def _headline(title: str) -> str:
    if not unicodedata.is_normalized("NFKC", title):
        title = unicodedata.normalize("NFKC", title)
    return " ".join(title.casefold().split())


def _link_relayed_headlines(articles: Sequence[DigestArticle], links: _UnionFind) -> None:
    """An aggregator item and any article with its headline, within TITLE_WINDOW: one story."""
    relayed = [i for i, a in enumerate(articles) if a.publisher_url is not None]
    if not relayed:
        return
    by_headline: dict[str, list[int]] = defaultdict(list)
    for i, article in enumerate(articles):
        by_headline[_headline(article.title)].append(i)
    for i in relayed:
        when, headline = articles[i].published_at, _headline(articles[i].title)
        for j in by_headline[headline] if headline else ():
            if j != i and abs(articles[j].published_at - when) <= TITLE_WINDOW:
                links.union(i, j)


def _single(article: DigestArticle) -> Story:
    """`_story` for the usual one-article story, without its sorting and merging."""
    sources = article.sources if article.sources[:1] == (article.source,) else None
    return Story(
        key=f"a{article.id}",
        title=article.title,
        summary=article.summary,
        url=article.url,
        published_at=article.published_at,
        language=article.language,
        companies=article.companies,
        score=article.score,
        sources=sources or _distinct((article.source, *article.sources)),
        article_ids=(article.id,),
    )


def _distinct(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def stories_of(articles: Sequence[DigestArticle]) -> list[Story]:
    """Stories from articles already assigned to one (``DigestArticle.story``), clustering only
    the ones that have none yet; earliest first (then by key)."""
    groups: dict[str, list[DigestArticle]] = defaultdict(list)
    loose = []
    for article in articles:
        if article.story:
            groups[article.story].append(article)
        else:
            loose.append(article)
    stories = [
        _single(members[0])
        if len(members) == 1
        else _story(sorted(members, key=lambda a: (a.published_at, a.id)))
        for members in groups.values()
    ]
    stories += cluster_stories(loose)
    stories.sort(key=lambda s: (s.published_at, s.key))
    return stories


def cluster_stories(articles: Sequence[DigestArticle]) -> list[Story]:
    """Stories told by ``articles``, earliest first (then by key); see the module docstring."""
    ordered = sorted(articles, key=lambda a: (a.published_at, a.id))
    by_title: dict[str, TitleFeatures] = {}  # syndicated copies repeat titles
    features = []
    for article in ordered:
        feature = by_title.get(article.title)
        if feature is None:
            feature = by_title[article.title] = title_features(article.title)
        features.append(feature)
    cross = [
        f.distinctive | summary_distinctive(a.summary) if a.companies else _NONE
        for a, f in zip(ordered, features, strict=True)
    ]
    links = _UnionFind(len(ordered))
    _link_titles(ordered, features, links)
    _link_languages(ordered, features, cross, links)
    _link_relayed_headlines(ordered, links)
    groups: dict[int, list[DigestArticle]] = defaultdict(list)
    for i, article in enumerate(ordered):
        groups[links.find(i)].append(article)
    stories = [_story(members) for members in groups.values()]
    stories.sort(key=lambda s: (s.published_at, s.key))
    return stories
