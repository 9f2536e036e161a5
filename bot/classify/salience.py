"""Which named companies a story is about, and which names are ordinary words here. Pure.

Subjects and mentions
    A company is a subject (`about`) when it is named in the title, when it opens the lead
    (within its first LEAD_WORDS words, not after a venue word), anywhere in the first sentence of
    an item without a title, or when its names and units recur (twice in the summary's first
    EARLY_CHARS characters, or three times anywhere, once more per RECURRING_SPAN characters of a
    longer text); otherwise it is `mentioned`: in passing, as a
    comparison ("than Google"), or as a venue ("posted on Facebook", "a top seller on Amazon"). A
    product or unit alone counts as its owner's name only in the title, and not when the title
    names another company by name ("Google Docs … for iPhone X"); once in the body it is a mention. Names after
    a venue or comparison word ("on", "via", "than", "like", "vs") are mentions anywhere,
    except chip products ("export rules on H20 chips" is about Nvidia).

Names that are ordinary words
    A form is ambiguous when the catalog marks it weak: a name, unit or product that is also a
    word or a given name ("Intel", "Arm", "Apple", "Meta", "Crucial", "Alexa", "Bing"). An
    ambiguous form counts only with company evidence (a strong mention of the company, a
    ticker, chip context, business words, another company, the form as an owner: "Apple's
    motion", or the form twice where a plain word would not be capitalised: "the order to Apple …
    support for Apple") and never when its neighbours say what else it is: a capitalised word beside it (only a
    space between: "Apple, Bill Gates" is two names) that is no catalog form makes it part of a
    person's name ("Alexa Ray Joel", "Xiang Bing"), and an office word beside it makes it an
    institution ("House Intel Chair", "Senate Intel Committee"). Titles in Title Case give no
    such signal (every word is capitalised) and are not read for neighbours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.models import ABOUT, MENTIONED

LEAD_WORDS = 6  # a company within the lead's first words is what the lead is about
RECURRING_EARLY = 2  # a name (or unit) this often in a summary's first EARLY_CHARS is a subject,
EARLY_CHARS = 600
RECURRING = 3  # … as it is this often anywhere in a summary,
RECURRING_SPAN = 1_500  # … and once more for every this many characters of a longer text

# Words after which a company is where something happened or what something is compared with.
_VENUE = frozenset(
    "on via through than like unlike vs versus using over "  # en  # noqa: SIM905
    "su tramite come rispetto "  # it
    "auf über wie als "  # de
    "sur comme que "  # fr
    "en como que "  # es
    "em como".split()  # pt
)
# Office words that make a neighbouring "Intel" an intelligence body, not the company.
_OFFICE = frozenset(
    "house senate committee committees chair chairman chairwoman panel panels agency agencies "  # noqa: SIM905
    "community officials official director hearing hearings subcommittee report briefing".split()
)
# Capitalised words that may stand beside a name without being part of a person's name.
_NOT_NAME_PARTS = frozenset(
    "The A An New Its Their Our Next First Latest With How Why When Where Exclusive Report "  # noqa: SIM905
    "Le La Les Un Une Des Du Il Lo Gli I Der Die Das Den Dem Ein Eine El Los Las Uno Una "
    "Update Breaking Watch Review Analysis Opinion Live Video Photos Q&A".split()
)
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_SENTENCE_END = re.compile(r"[.!?。！？][\"”’')]*\s")
_LONG_WORD = re.compile(r"(?<!\S)[^\W\d_]{4,}")
_LOWER_WORD = re.compile(r"(?<!\S)[a-zß-ÿ][^\W\d_]{3,}")


@dataclass(frozen=True)
class Hit:
    """One catalog form found in an item: `strong` when it names the company outright
    (a name, ticker or person), `ambiguous` when it is also a word."""

    company: str
    start: int
    end: int
    form: str
    strong: bool
    ambiguous: bool
    product: bool = False  # a chip product: "rules on H20 chips" is about its maker


def title_case(title: str) -> bool:
    """Most longer words capitalised: neighbours say nothing about names there."""
    return len(_LOWER_WORD.findall(title)) * 3 < len(_LONG_WORD.findall(title))


def _before(text: str, start: int) -> str:
    """The word just before `start` ("" when none, or when it is no word)."""
    head = text[max(0, start - 40) : start].rstrip(" ,:")
    if not head or head[-1] == "\n":
        return ""
    word = head.rsplit(None, 1)[-1].lstrip("([{\"“‘'")
    return word if word[:1].isalpha() else ""


def _after(text: str, end: int) -> str:
    """The word just after `end` ("" when none, or when it is no word)."""
    tail = text[end : end + 40].lstrip(" ,:")
    if not tail or tail[0] == "\n":
        return ""
    word = tail.split(None, 1)[0]
    return word if word[:1].isalpha() else ""


def other_sense(text: str, hit: Hit, title_end: int, known: Callable[[str], bool]) -> str | None:
    """Why an ambiguous form is not the company here, or None.

    `known(word)` says whether a word is itself a catalog form (then it does not make a name)."""
    if hit.start < title_end and title_case(text[:title_end]):
        return None
    for side, word in (("before", _before(text, hit.start)), ("after", _after(text, hit.end))):
        bare = word.rstrip(".,;:'’").removesuffix("'s").removesuffix("’s")
        if bare.casefold() in _OFFICE:
            return f"beside the office word '{bare}'"
        if (
            bare[:1].isupper()
            and _touches(text, hit, side)
            and bare not in _NOT_NAME_PARTS
            and not bare.isupper()
            and not known(bare)
            and not (side == "before" and _starts_sentence(text, hit.start, bare))
        ):
            return f"part of a person's name ('{bare}' {side} it)"
    return None


def _touches(text: str, hit: Hit, side: str) -> bool:
    """Only a space between the form and its neighbour: "Apple, Bill Gates" is two names."""
    if side == "before":
        return hit.start >= 2 and text[hit.start - 1] == " " and text[hit.start - 2].isalpha()
    return text[hit.end : hit.end + 1] == " " and text[hit.end + 1 : hit.end + 2].isalpha()


def _starts_sentence(text: str, start: int, word: str) -> bool:
    """The word before is the first of its sentence (capitalised for that reason alone)?"""
    head = text[:start].rstrip()
    head = head[: len(head) - len(word)].rstrip() if head.endswith(word) else head
    return not head or head[-1] in ".!?:\n|–—-\"“'‘(" or head.endswith(("。", "！", "？"))


def mid_sentence(text: str, hit: Hit, title_end: int) -> bool:
    """Capitalised where a plain word would not be: inside a sentence, or inside a title that is
    not in Title Case (where every word is capitalised)."""
    if hit.start < title_end and title_case(text[:title_end]):
        return False
    return not _starts_sentence(text, hit.start, "")


def is_possessive(text: str, hit: Hit) -> bool:
    """ "Apple's motion", not "the Amazon's banks": an owner, which a plain word rarely is."""
    return text.startswith("'s", hit.end) and _before(text, hit.start).casefold() != "the"


def is_venue(text: str, hit: Hit) -> bool:
    """ "a top seller on Amazon", "posted on Facebook": a company as the place something is."""
    return _before(text, hit.start).casefold() in _VENUE


def salience(
    text: str,
    title_end: int,
    hits: Sequence[Hit],
    *,
    title_owner: str | None = None,
) -> str:
    """`about` or `mentioned` for one company's accepted hits (see the module docstring).

    `title_owner` is another company the title names by name, if any: then a product or unit
    alone in the title is that company's story touching this one ("Google Docs … for iPhone X")."""
    lead_start = title_end + 1
    lead_end = -1  # found when first needed
    first_end = _lead_end(text, lead_start) if title_end == 0 else -1
    names = early = 0
    for hit in hits:
        venue = not hit.product and is_venue(text, hit)
        if hit.start < title_end and not venue:
            if hit.strong or title_owner is None:
                return ABOUT
            continue
        if not venue and hit.start < first_end:
            return ABOUT  # no title: the first sentence stands for it
        if not venue and not hit.product:
            names += 1  # a name or a unit ("iPhone", "YouTube") names the company
            early += hit.start < lead_start + EARLY_CHARS
        if hit.strong:
            if lead_end < 0:
                lead_end = _lead_end(text, lead_start)
            in_lead = not venue and lead_start <= hit.start < lead_end
            if in_lead and _words(text[lead_start : hit.start]) < LEAD_WORDS:
                return ABOUT
    if early >= RECURRING_EARLY:
        return ABOUT
    return ABOUT if names >= RECURRING + (len(text) - lead_start) // RECURRING_SPAN else MENTIONED


def _words(text: str) -> int:
    """Words in `text`, a CJK character counting as half of one (a word is about two)."""
    return len(text.split()) + len(_CJK.findall(text)) // 2


def _lead_end(text: str, start: int) -> int:
    m = _SENTENCE_END.search(text, start)
    return m.end() if m else len(text)


__all__ = [
    "ABOUT",
    "MENTIONED",
    "Hit",
    "is_possessive",
    "is_venue",
    "mid_sentence",
    "other_sense",
    "salience",
    "title_case",
]
