"""Chinese, Japanese and Korean text as overlapping character pairs, for full-text search.

Both stores' word tokenizers (FTS5 `unicode61`, PostgreSQL's parser) take a whole run of CJK
characters as one token, so `华为` never matches `华为发布新芯片`. Written without spaces, those
languages are searched by character pairs instead: every run is indexed as its overlapping
pairs plus its last character (`英伟达` → `英伟 伟达 达`), and a query run becomes the phrase of
its own pairs. A one-character query is a prefix (it starts a pair or ends a run). Non-CJK text
in between is kept, so `AI芯片` and `H20芯片` match as phrases too.

PostgreSQL computes the same grams in SQL (migration 0006, `chipwire_cjk_grams`); the ranges
below and there must stay equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CJK_CLASS = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0002fa1f"  # extensions B-F and compatibility supplement
)
_ANY = re.compile(f"[{CJK_CLASS}]")
_PIECES = re.compile(f"([{CJK_CLASS}]+)")
_WORD = re.compile(r"\w")


def has_cjk(text: str) -> bool:
    return _ANY.search(text) is not None


def _pairs(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_text(text: str) -> str:
    """The text with each CJK run spelled as its pairs and last character, space-separated."""
    out: list[str] = []
    for piece in _PIECES.split(text):
        if piece and _ANY.match(piece):
            out.append(" " + " ".join([*_pairs(piece), piece[-1]]) + " ")
        else:
            out.append(piece)
    return "".join(out)


@dataclass(frozen=True)
class GramQuery:
    """One search term as a phrase of tokens; `prefix` when its last token may start a pair."""

    phrase: str
    prefix: bool


def query_grams(term: str) -> GramQuery:
    """A search term holding CJK text as the phrase its stored text was indexed as.

    A run inside the term is bounded there in the article too, so it is spelled exactly as
    indexed; a run at the term's end may continue in the article, so it gives its pairs only
    (one character: a prefix of the next pair)."""
    pieces = [piece for piece in _PIECES.split(term) if _ANY.match(piece) or _WORD.search(piece)]
    out: list[str] = []
    prefix = False
    for index, piece in enumerate(pieces):
        if not _ANY.match(piece):
            out.append(piece)
            continue
        last = index == len(pieces) - 1
        if last and len(piece) == 1:
            out.append(piece)
            prefix = True
        elif last:
            out.append(" ".join(_pairs(piece)))
        else:
            out.append(" ".join([*_pairs(piece), piece[-1]]))
    return GramQuery(" ".join(part.strip() for part in out if part.strip()), prefix)
