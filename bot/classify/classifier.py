"""Company tags and an AI-chip relevance score for one article. Pure; compile once, call often.

How it works
    Every surface form in the catalog (names, units, people, tickers, products, exclusions, topic
    terms) goes into one Aho-Corasick automaton, built once per catalog, so an item is scanned once
    in compiled code, whatever the catalog size; only the few raw hits (about a dozen in a
    1,000-character summary) are looked at in Python. Work per item is bounded: the title is read
    whole, the summary up to SUMMARY_SCAN_MAX characters (more than ingest keeps, so stored
    articles are always read whole). Latin-script forms need a Latin word boundary on both sides (so "Intel" is not
    found in "Intelsat", but "H20" is found in "英伟达H20"); CJK, kana and Hangul forms match as
    substrings. A topic term ending in "*" also matches longer words ("Halbleiter*" →
    "Halbleiterwerk"). The scan is leftmost-longest (the same spans as the trie-shaped regular
    expression it replaced, which is kept for the rare text whose lower-casing changes its length,
    and as the reference the tests compare against), so "Ant Group" wins over "Ant", "Samsung
    Heavy" (an exclusion) hides "Samsung", "Apple Intelligence" hides nothing of Intel.

    Strong forms (names, units, people, tickers, products) tag a company outright. Weak forms,
    which are also words or other names, must match their exact case and need context:
    weak names/units ("Arm", "Meta", "蚂蚁") accept a strong mention of the same company, chip-topic
    evidence, business words, or another company in the item; weak products ("Blackwell",
    "Ascend", "TPU") accept a strong mention of the company or chip-topic evidence, and are refused
    after a capitalised word that is not a known name ("Edward Hopper").

    Weak forms are refused outright where their neighbours show another sense (part of a
    person's name, an office such as "House Intel Chair"), and accepted as an owner ("Apple's")
    or a venue ("on Amazon"); bot/classify/salience.py. Each accepted company then gets a
    salience, `about` (a subject: `companies`) or `mentioned` (in passing: only in `mentions`).

    Relevance: each chip topic found adds its weight once; a chip product adds PRODUCT_WEIGHT once;
    the most chip-centric company adds its ``chip_weight`` (half for one only mentioned);
    negative topics (snacks, pets, phones …) subtract. The sum ``raw`` becomes
    ``score = 1 - exp(-raw)``, in [0, 1); relevant when ``score >= threshold`` and the evidence
    is of two different kinds (compute, industry and AI terms as the catalog marks them, a chip
    product, a chip company as a subject): no single term makes a story AI-chip news. ``why``
    lists every rule that fired, in order.

``lang`` is accepted for the record but not used: headlines mix languages, so every lexicon applies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from ahocorasick_rs import AhoCorasick

from bot.classify.catalog import Catalog
from bot.classify.salience import (
    Hit,
    is_possessive,
    is_venue,
    mid_sentence,
    other_sense,
    salience,
)
from bot.models import ABOUT, MENTIONED, Classification

# Latin letters and digits, lower case: what a Latin-script form must not touch on either side.
_LATIN = "0-9a-zß-öø-ÿĀ-ɏ"
_LATIN_CHAR = re.compile(f"[{_LATIN}]", re.IGNORECASE)
# The same class, case-sensitive, for lower-cased text: the set for one-character tests, the run
# for where a "*" stem's word ends.
_LATIN_LOWER = frozenset(
    chr(c)
    for lo, hi in (("0", "9"), ("a", "z"), ("ß", "ö"), ("ø", "ÿ"), ("Ā", "ɏ"))
    for c in range(ord(lo), ord(hi) + 1)
)
_LATIN_RUN = re.compile(f"[{_LATIN}]*")

# Summaries past this many characters (after whitespace is folded) are not read. Ingest keeps
# 1,000 (normalise.SUMMARY_MAX), so this bounds other callers (JSONL input) without changing any
# stored article's verdict.
SUMMARY_SCAN_MAX = 2_000

PRODUCT_WEIGHT = 0.9
CONTEXT_MIN = 0.45  # chip evidence that lets a weak form count: one plain "chip" is enough

NAME, WEAK_NAME, UNIT, WEAK_UNIT, PERSON, TICKER = (
    "name",
    "weak name",
    "unit",
    "weak unit",
    "person",
    "ticker",
)
PRODUCT, WEAK_PRODUCT, EXCLUDE, TOPIC = "product", "weak product", "exclude", "topic"
_WEAK = frozenset((WEAK_NAME, WEAK_UNIT, WEAK_PRODUCT))
_NAMING = frozenset((NAME, TICKER, PERSON))  # forms that name the company itself
CHIP_COMPANY = 0.3  # a subject this chip-centric is evidence of its own kind
MENTION_SHARE = 0.5  # a company named in passing says half as much about the story
_EXCHANGE_SUFFIX = {
    "HKEX": ".HK",
    "SSE": ".SS",
    "SZSE": ".SZ",
    "KRX": ".KS",
    "TWSE": ".TW",
    "TSE": ".T",
}

# Capitalised words that may stand before a product name without making it a surname.
_NOT_GIVEN_NAMES = frozenset(
    "The A An New Its Their Our Next First Latest With How Why When Where Exclusive Le La Les Un "  # noqa: SIM905
    "Une Des Du Nouvelles Nouveaux Il Lo Gli I Nuovi Nuove Nuovo Der Die Das Den Dem Ein Eine "
    "Neue Neuen Neuer El Los Las Uno Una Nuevo Nuevos Nuevas".split()
)
_PREV_WORD = re.compile(r"([^\W\d_][\w'’.-]*)\s+$")


@dataclass(frozen=True)
class _Entry:
    kind: str
    owner: str  # company id, or topic id for TOPIC
    cases: frozenset[str] | None = None  # exact spellings accepted; None: any case


@dataclass(frozen=True)
class _Topic:
    kind: str
    weight: float
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Key:
    """One automaton pattern and the boundary rules the regular expression applied to it."""

    left: bool  # starts with a Latin character: the character before must not be Latin
    right: bool  # ends with a Latin character (plain form): the character after must not be
    wild: bool  # a "*" stem ending in a Latin character: the match runs to the end of the word


class _Trie:
    __slots__ = ("children", "end", "wild")

    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        self.end = False
        self.wild = False

    def add(self, word: str, wild: bool) -> None:
        node = self
        for ch in word:
            node = node.children.setdefault(ch, _Trie())
        if wild:
            node.wild = True
        else:
            node.end = True

    def pattern(self, last: str = "") -> str:
        alts = [re.escape(ch) + child.pattern(ch) for ch, child in sorted(self.children.items())]
        latin = bool(last) and _LATIN_CHAR.match(last) is not None
        if self.wild and latin:
            alts.append(f"[{_LATIN}]*")
        elif self.end or self.wild:
            alts.append(f"(?![{_LATIN}])" if latin else "")
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"


def _is_latin(ch: str) -> bool:
    return _LATIN_CHAR.match(ch) is not None


def _variants(form: str, plural: bool) -> tuple[str, ...]:
    if plural and _is_latin(form[-1]):
        return (form, form + "s")
    return (form,)


def _cases(forms: Iterable[str]) -> frozenset[str]:
    return frozenset(v for f in forms for v in (f, f.upper()))


def _ticker_forms(ticker: str) -> list[str]:
    exchange, symbol = ticker.split(":", 1)
    forms = [ticker, f"{exchange}: {symbol}", f"${symbol}"]
    if symbol.isalpha() and len(symbol) >= 4:
        forms.append(symbol)
    if symbol.isdigit() and exchange in _EXCHANGE_SUFFIX:
        forms.append(symbol + _EXCHANGE_SUFFIX[exchange])
    return forms


class Classifier:
    """Tags companies and scores AI-chip relevance. Build with :meth:`from_catalog`."""

    def __init__(self, catalog: Catalog, threshold: float = 0.5) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {threshold}")
        self.catalog = catalog
        self.threshold = threshold
        self._forms: dict[str, list[_Entry]] = {}
        self._stems: dict[str, list[_Entry]] = {}
        self._topics: dict[str, _Topic] = {
            t.id: _Topic(t.kind, t.weight, t.evidence) for t in catalog.topics
        }
        self._chip_weight = {c.id: c.chip_weight for c in catalog.companies}
        self._build()
        self._keys, self._automaton = self._compile_automaton()

    @classmethod
    def from_catalog(cls, catalog: Catalog, *, threshold: float = 0.5) -> Classifier:
        return cls(catalog, threshold)

    # ---- building ---------------------------------------------------------------------------

    def _add(self, form: str, entry: _Entry) -> None:
        form = " ".join(form.split())  # items are matched with whitespace collapsed the same way
        if len(form) > 1 and form.endswith("*") and _is_latin(form[-2]):
            self._stems.setdefault(form[:-1].lower(), []).append(entry)
        else:
            self._forms.setdefault(form.rstrip("*").lower(), []).append(entry)

    def _add_exact(self, forms: Iterable[str], kind: str, owner: str, plural: bool) -> None:
        for form in forms:
            variants = _variants(form, plural)
            entry = _Entry(kind, owner, _cases(variants))
            for v in variants:
                self._add(v, entry)

    def _build(self) -> None:
        for c in self.catalog.companies:
            for name in c.all_names:
                for v in _variants(name, plural=True):
                    self._add(v, _Entry(NAME, c.id))
            self._add_exact(c.weak_names, WEAK_NAME, c.id, plural=False)
            self._add_exact(c.units, UNIT, c.id, plural=True)
            self._add_exact(c.weak_units, WEAK_UNIT, c.id, plural=False)
            self._add_exact(c.people, PERSON, c.id, plural=False)
            self._add_exact(c.products, PRODUCT, c.id, plural=True)
            self._add_exact(c.weak_products, WEAK_PRODUCT, c.id, plural=True)
            for ticker in c.tickers:
                for form in _ticker_forms(ticker):
                    self._add(form, _Entry(TICKER, c.id, frozenset({form})))
            for phrase in c.exclude:
                self._add(phrase, _Entry(EXCLUDE, c.id))
        for t in self.catalog.topics:
            for term in t.terms:
                self._add(term, _Entry(TOPIC, t.id))

    def _compile_automaton(self) -> tuple[list[_Key], AhoCorasick]:
        words = sorted(set(self._forms) | set(self._stems))
        keys = []
        for word in words:
            latin_end = _is_latin(word[-1])
            wild = word in self._stems and latin_end
            keys.append(_Key(_is_latin(word[0]), latin_end and not wild, wild))
        return keys, AhoCorasick(words)

    @cached_property
    def _patterns(self) -> tuple[re.Pattern[str], re.Pattern[str]]:
        """The trie-shaped regular expression (case-sensitive, case-insensitive); built on use."""
        latin, other = _Trie(), _Trie()
        for words, wild in ((self._forms, False), (self._stems, True)):
            for word in words:
                (latin if _is_latin(word[0]) else other).add(word, wild)
        # The first-character guards let the engine drop most positions after one set test,
        # instead of trying each of a few hundred CJK branches at every character.
        branches = []
        for trie, boundary in ((latin, f"(?<![{_LATIN}])"), (other, "")):
            if trie.children:
                firsts = "".join(re.escape(ch) for ch in sorted(trie.children))
                branches.append(f"{boundary}(?=[{firsts}]){trie.pattern()}")
        source = "|".join(branches) or "(?!)"
        return re.compile(source), re.compile(source, re.IGNORECASE)

    # ---- scanning ---------------------------------------------------------------------------

    def _spans(self, low: str) -> list[tuple[int, int]]:
        """Leftmost-longest matches in lower-cased text, the spans the regular expression finds.

        At each start the regular expression takes the longest form whose boundaries hold, so
        among the automaton's overlapping hits that start there the longest valid one wins; the
        search then resumes where that match ends.
        """
        best: dict[int, tuple[int, int]] = {}  # start -> (form length, match end)
        keys, size = self._keys, len(low)
        for index, start, end in self._automaton.find_matches_as_indexes(low, overlapping=True):
            key = keys[index]
            if key.left and start and low[start - 1] in _LATIN_LOWER:
                continue
            if key.wild:
                run = _LATIN_RUN.match(low, end)  # "*" matches the empty run too: never None
                stop = run.end() if run else end
            elif key.right and end < size and low[end] in _LATIN_LOWER:
                continue
            else:
                stop = end
            length = end - start
            if start not in best or best[start][0] < length:
                best[start] = (length, stop)
        spans, resume = [], 0
        for start in sorted(best):
            if start >= resume:
                resume = best[start][1]
                spans.append((start, resume))
        return spans

    def _regex_spans(self, text: str, *, ignore_case: bool) -> list[tuple[int, int]]:
        pattern = self._patterns[1 if ignore_case else 0]
        return [m.span() for m in pattern.finditer(text)]

    def _matches(self, text: str) -> Iterator[tuple[int, str, str]]:
        """(start, text as written, lookup key) for every catalog form found in ``text``."""
        low = text.lower()
        spans_low = len(low) == len(text)
        # "İ" and a few others lower-case to two characters: positions in `low` would drift.
        spans = self._spans(low) if spans_low else self._regex_spans(text, ignore_case=True)
        for start, end in spans:
            yield start, text[start:end], (low if spans_low else text)[start:end].lower()

    # ---- classifying ------------------------------------------------------------------------

    def _lookup(self, key: str) -> list[_Entry]:
        entries = self._forms.get(key)
        if entries is not None:
            return entries
        for end in range(len(key), 0, -1):
            entries = self._stems.get(key[:end])
            if entries is not None:
                return entries
        return []

    def _looks_like_surname(self, text: str, start: int) -> bool:
        m = _PREV_WORD.search(text, max(0, start - 40), start)
        if m is None:
            return False
        word = m.group(1)
        if not word[0].isupper() or word in _NOT_GIVEN_NAMES:
            return False
        bare = word.lower().removesuffix("'s").removesuffix("s")
        return not (self._lookup(word.lower()) or self._lookup(bare))

    def classify(self, title: str, summary: str, lang: str | None = None) -> Classification:
        text = _scan_text(title, summary)
        why: list[str] = []
        hits: dict[str, list[Hit]] = {}  # company id -> accepted hits, in order
        weak: list[tuple[_Entry, Hit]] = []
        topics: dict[str, str] = {}
        has_product = False
        for start, original, key in self._matches(text):
            for e in self._lookup(key):
                if e.cases is not None and original not in e.cases:
                    continue
                if e.kind == TOPIC:
                    topics.setdefault(e.owner, original)
                elif e.kind == EXCLUDE:
                    why.append(f"not {e.owner}: excluded '{original}'")
                elif e.kind in _WEAK:
                    end = start + len(original)
                    naming, product = e.kind == WEAK_NAME, e.kind == WEAK_PRODUCT
                    hit = Hit(e.owner, start, end, original, naming, True, product)
                    weak.append((e, hit))
                else:
                    if e.owner not in hits:
                        why.append(f"{e.owner}: {e.kind} '{original}'")
                    naming = e.kind in _NAMING
                    end = start + len(original)
                    hit = Hit(e.owner, start, end, original, naming, False, e.kind == PRODUCT)
                    hits.setdefault(e.owner, []).append(hit)
                    has_product = has_product or e.kind == PRODUCT

        chip = negative = business = 0.0
        kinds: set[str] = set()
        for tid, original in topics.items():
            topic = self._topics[tid]
            if topic.kind == "context":
                business = 1.0
                continue
            if topic.kind == "chip":
                chip += topic.weight
                kinds.update(topic.evidence)
            else:
                negative += topic.weight
            why.append(f"topic {tid} '{original}' {topic.weight:+.2f}")

        strong = set(hits)
        evidence = chip + (PRODUCT_WEIGHT if has_product else 0.0)
        weak_forms: dict[str, set[str]] = {}
        for e, hit in weak:
            weak_forms.setdefault(e.owner, set()).add(hit.form.lower())
        paired = {owner for owner, forms in weak_forms.items() if len(forms) > 1}
        paired |= self._proper_nouns(text, weak, strong)
        for e, hit in weak:
            if e.owner in strong and e.kind == WEAK_PRODUCT:
                has_product = True  # "Google … TPU": the company vouches for its product
            if e.owner in hits:
                hits[e.owner].append(hit)
                continue  # tagged already, strongly or through another weak form
            verdict = self._ambiguous_verdict(e, strong, evidence, business, text, hit, paired)
            if verdict.startswith("+"):
                hits[e.owner] = [hit]
                has_product = has_product or e.kind == WEAK_PRODUCT
                why.append(f"{e.owner}: {e.kind} '{hit.form}' {verdict[1:]}")
            else:
                why.append(f"not {e.owner}: {e.kind} '{hit.form}' {verdict[1:]}")

        title_end = text.index("\n")
        order = sorted(hits, key=lambda c: min(h.start for h in hits[c]))
        named = [c for c in order if any(h.strong and h.start < title_end for h in hits[c])]
        mentions = tuple(
            (c, salience(text, title_end, sorted(hits[c], key=_at), title_owner=_other(named, c)))
            for c in order
        )
        companies = tuple(c for c, level in mentions if level == ABOUT)
        for company, level in mentions:
            if level == MENTIONED:
                why.append(f"{company}: mentioned in passing")
        return self._relevance(chip + negative, has_product, kinds, companies, mentions, why)

    def _relevance(
        self,
        raw: float,
        has_product: bool,
        kinds: set[str],
        companies: tuple[str, ...],
        mentions: tuple[tuple[str, str], ...],
        why: list[str],
    ) -> Classification:
        """The score from every piece of evidence; relevant only with two different kinds."""
        kinds = set(kinds)
        if has_product:
            raw += PRODUCT_WEIGHT
            kinds.add("product")
            why.append(f"chip product {PRODUCT_WEIGHT:+.2f}")
        weights = [
            (c, self._chip_weight[c] * (1.0 if level == ABOUT else MENTION_SHARE))
            for c, level in mentions
        ]
        if weights:
            top, prior = max(weights, key=lambda item: item[1])
            if prior > 0:
                raw += prior
                why.append(f"company {top} {prior:+.2f}")
        if companies and max(self._chip_weight[c] for c in companies) >= CHIP_COMPANY:
            kinds.add("company")
        score = round(1.0 - math.exp(-raw), 4) if raw > 0 else 0.0
        enough = score >= self.threshold
        relevant = enough and len(kinds) >= 2
        if enough and not relevant:
            why.append(f"one kind of evidence only ({', '.join(sorted(kinds)) or 'none'})")
        why.append(f"score {score:.2f} {'>=' if enough else '<'} {self.threshold:.2f}")
        return Classification(relevant, score, companies, tuple(dict.fromkeys(why)), mentions)

    def _ambiguous_verdict(
        self,
        e: _Entry,
        strong: set[str],
        evidence: float,
        business: float,
        text: str,
        hit: Hit,
        paired: set[str],
    ) -> str:
        """'+reason' to accept an ambiguous form, '-reason' to refuse it."""
        sense = other_sense(text, hit, text.index("\n"), self._is_form)
        if sense is not None:
            return "-" + sense
        if e.kind != WEAK_PRODUCT and is_possessive(text, hit):
            return "+as an owner ('s)"
        if e.kind != WEAK_PRODUCT and is_venue(text, hit):
            return "+as a venue"
        verdict = self._weak_verdict(e, strong, evidence, business, text, hit.start)
        if verdict.startswith("-") and e.owner in paired and e.kind != WEAK_PRODUCT:
            return "+beside another of its names"  # "Meta … Llama"
        return verdict

    def _proper_nouns(
        self, text: str, weak: list[tuple[_Entry, Hit]], strong: set[str]
    ) -> set[str]:
        """Owners whose weak names stand twice or more where a plain word would be lower case,
        and nowhere in another sense: "the order to Apple … more support for Apple"."""
        by_owner: dict[str, list[Hit]] = {}
        for e, hit in weak:
            if e.kind != WEAK_PRODUCT and e.owner not in strong:
                by_owner.setdefault(e.owner, []).append(hit)
        title_end = text.index("\n")
        found = set()
        for owner, hits in by_owner.items():
            if len(hits) < 2:
                continue
            if any(other_sense(text, h, title_end, self._is_form) is not None for h in hits):
                continue
            if sum(mid_sentence(text, h, title_end) for h in hits) >= 2:
                found.add(owner)
        return found

    def _is_form(self, word: str) -> bool:
        return bool(self._lookup(word.lower()))

    def _weak_verdict(
        self, e: _Entry, strong: set[str], evidence: float, business: float, text: str, start: int
    ) -> str:
        """'+reason' to accept a weak form, '-reason' to refuse it."""
        if e.kind == WEAK_PRODUCT:
            if evidence < CONTEXT_MIN:
                return "-without chip context"
            if self._looks_like_surname(text, start):
                return "-after a given name"
            return "+in chip context"
        if evidence >= CONTEXT_MIN:
            return "+in chip context"
        if business:
            return "+in business context"
        if strong:
            return "+beside " + ",".join(sorted(strong))
        return "-without context"


def _scan_text(title: str, summary: str) -> str:
    """Title and summary as one text to scan: whitespace folded, apostrophes straightened, the
    summary cut at SUMMARY_SCAN_MAX, back to the last space if one is in its second half (so a
    word is not cut into a shorter name; CJK text has no spaces to cut at)."""
    body = _folded(summary)
    if len(body) > SUMMARY_SCAN_MAX:
        cut = body.rfind(" ", 0, SUMMARY_SCAN_MAX + 1)
        body = body[: cut if cut > SUMMARY_SCAN_MAX // 2 else SUMMARY_SCAN_MAX]
    text = f"{_folded(title)}\n{body}"
    return text.replace("’", "'").replace("‘", "'")


def _folded(text: str) -> str:
    """``" ".join(text.split())``, skipped for text already folded (as ingest stores it): a
    printable string has no whitespace but the plain space, so no double or edge space is left."""
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


def _at(hit: Hit) -> int:
    return hit.start


def _other(named: list[str], company: str) -> str | None:
    """The first company other than `company` that the title names by name, if any."""
    return next((c for c in named if c != company), None)
