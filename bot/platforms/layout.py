"""One story layout for every platform; each platform brings its markup dialect.

A story in a digest is always: its title (linked where the platform can link and the link is
usable), a meta line (the sources, the time, the companies it is about) and a one-line summary.
What differs per platform is only the markup: how text is escaped, how a bold or linked title is
written, how a time is shown, and how long each part may be. `story_parts` lays a story out once;
each `render.py` joins the parts its own way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.models import Story
from bot.text import companies_text, fit, linkable, one_line, sources_text, summary_line, text_len


@dataclass(frozen=True)
class Markup:
    """A platform's dialect for one story: escapes, title forms, time, and length limits."""

    text: Callable[[str], str]  # escapes running text
    label: Callable[[str], str]  # escapes a link's label
    url: Callable[[str], str]  # a URL as the platform accepts it in a link
    linked_title: Callable[[str, str], str]  # (escaped label, url) → the bold, linked title
    bold_title: Callable[[str], str]  # escaped title → the bold title without a link
    time: Callable[[datetime], str]  # when the story was published, as the platform shows it
    untitled: str  # already in the dialect
    title_limit: int
    meta_limit: int
    companies_limit: int
    summary_limit: int
    url_limit: int


@dataclass(frozen=True)
class StoryParts:
    title: str
    meta: tuple[str, ...]  # sources, time, and the companies it is about when known
    summary: str  # "" when the story has none


def story_parts(story: Story, company_names: Mapping[str, str], markup: Markup) -> StoryParts:
    url = markup.url(story.url) if linkable(story.url) else ""
    title_text = one_line(story.title)
    if url and text_len(url) <= markup.url_limit:
        label = fit(title_text, markup.title_limit, markup.label) or markup.untitled
        title = markup.linked_title(label, url)
    else:
        title = markup.bold_title(
            fit(title_text, markup.title_limit, markup.text) or markup.untitled
        )
    meta = [
        fit(sources_text(story.sources), markup.meta_limit, markup.text),
        markup.time(story.published_at),
    ]
    companies = companies_text(story.companies, company_names)
    if companies:
        meta.append(fit(f"about {companies}", markup.companies_limit, markup.text))
    summary = fit(summary_line(story.summary), markup.summary_limit, markup.text)
    return StoryParts(title, tuple(meta), summary)
