"""Rank stories and lay them out as one subscription's digest. Pure.

Ranking (``rank_stories``)
    rank score = RELEVANCE_WEIGHT (1.0) · relevance            relevance in [0, 1]
               + SOURCES_WEIGHT (0.3)   · log1p(sources − 1)   2 sources +0.21, 5 +0.42, 10 +0.69
               + RECENCY_WEIGHT (0.5)   · 0.5 ** (age / 12 h)  fresh +0.5, 12 h +0.25, 24 h +0.125
               + PRIORITY_WEIGHT (1.0)  · max company priority  config ``[digest.company_priority]``
    Relevance leads; a story several outlets carry, a fresher one, or one about a company the
    config favours (priorities there are small boosts such as 0.2–0.3, added as they are) can
    overtake a slightly more relevant one. A story dated after ``now`` counts as fresh. Ties go to
    the later story, then to the smaller key, so the order never depends on the input order.

Layout (``build_digest``)
    The stories arrive ranked and keep their order. "Top stories" takes the first ``top_n``; every
    other story goes to one company section: the first company it mentions, or with ``followed``
    companies the first followed company it mentions. Company sections are headed by the display
    name and ordered by their best story; stories with no (followed) company go to "Other AI-chip
    news" at the end. Each section holds at most ``per_company`` stories; the rest are left out,
    never moved elsewhere, so every story appears at most once and in rank order within its
    section. ``Digest.left_out`` counts them, so the reader is told how many more there are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType

from bot.models import Digest, DigestSection, Story

RELEVANCE_WEIGHT = 1.0
SOURCES_WEIGHT = 0.3
RECENCY_WEIGHT = 0.5
PRIORITY_WEIGHT = 1.0
RECENCY_HALF_LIFE = timedelta(hours=12)

TOP_HEADING = "Top stories"
OTHER_HEADING = "Other AI-chip news"

_NO_PRIORITY: Mapping[str, float] = MappingProxyType({})


_HALF_LIFE_SECONDS = RECENCY_HALF_LIFE.total_seconds()  # seconds: cheaper than timedelta maths


def rank_score(
    story: Story, *, now: datetime, company_priority: Mapping[str, float] = _NO_PRIORITY
) -> float:
    """The ranking score of one story (see the module docstring)."""
    age = max(0.0, now.timestamp() - story.published_at.timestamp())
    recency = math.pow(0.5, age / _HALF_LIFE_SECONDS)
    priority = max((company_priority.get(c, 0.0) for c in story.companies), default=0.0)
    return (
        RELEVANCE_WEIGHT * story.score
        + SOURCES_WEIGHT * math.log1p(max(0, len(story.sources) - 1))
        + RECENCY_WEIGHT * recency
        + PRIORITY_WEIGHT * priority
    )


def rank_stories(
    stories: Sequence[Story],
    *,
    now: datetime,
    company_priority: Mapping[str, float] = _NO_PRIORITY,
) -> list[Story]:
    """Best first: rank score descending, then later published, then key."""
    scored = [(rank_score(s, now=now, company_priority=company_priority), s) for s in stories]
    scored.sort(key=lambda pair: pair[1].key)
    scored.sort(key=lambda pair: (pair[0], pair[1].published_at), reverse=True)
    return [story for _, story in scored]


def _home(story: Story, followed: frozenset[str]) -> str | None:
    """The company whose section a story goes to; None for "Other"."""
    for company in story.companies:
        if not followed or company in followed:
            return company
    return None


def build_digest(
    stories: Sequence[Story],
    *,
    title: str,
    period_start: datetime,
    period_end: datetime,
    timezone: str,
    company_names: Mapping[str, str],
    followed: Sequence[str] = (),
    top_n: int = 5,
    per_company: int = 5,
    empty_note: str | None,
) -> Digest:
    """Lay out ranked ``stories`` (as ``rank_stories`` returns them) in sections."""
    if not stories:
        return Digest(
            title=title,
            period_start=period_start,
            period_end=period_end,
            timezone=timezone,
            sections=(),
            empty_note=empty_note,
        )
    top = tuple(stories[: max(0, top_n)])
    groups: dict[str | None, list[Story]] = {}
    following = frozenset(followed)
    left_out = 0
    for story in stories[len(top) :]:
        group = groups.setdefault(_home(story, following), [])
        if len(group) < per_company:
            group.append(story)
        else:
            left_out += 1
    other = groups.pop(None, [])
    sections = [DigestSection(TOP_HEADING, top)] if top else []
    sections += [
        DigestSection(company_names.get(company, company), tuple(group))
        for company, group in groups.items()
        if company is not None and group
    ]
    if other:
        sections.append(DigestSection(OTHER_HEADING, tuple(other)))
    return Digest(
        title=title,
        period_start=period_start,
        period_end=period_end,
        timezone=timezone,
        sections=tuple(sections),
        left_out=left_out,
    )
