"""Core rows as frozen dataclasses, mapped in one place.

`from_row` fills each field of a dataclass from the row's column of the same name (or the column
`columns` names for it), decoded by the field's declared type: a `bool` from SQLite's 0 and 1, a
tuple from the JSON text the store keeps (an array gives its items, an object its (key, value)
pairs, no text gives ()). A field the row lacks keeps its default; `values` given by the caller
win. Which cell fills which field is worked out once per class and row shape, and each distinct
JSON text decoded once: the same few company lists recur across thousands of rows.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar

from bot.models import MENTIONED, FeedState

T = TypeVar("T")
Decode = Callable[[Any], Any]


@dataclass(frozen=True)
class FeedSummary:
    feed: FeedState
    article_count: int
    last_new_at: datetime | None = None  # when the feed last gave an entry not seen before
    created_at: datetime | None = None


@dataclass(frozen=True)
class StoredArticle:
    id: int
    url: str
    title: str
    summary: str
    published_at: datetime
    language: str | None
    source: str
    is_history: bool
    relevant: bool | None
    score: float | None
    companies: tuple[str, ...]
    why: tuple[str, ...] = ()
    # every company named, with its salience; () for articles classified before migration 0009
    mentions: tuple[tuple[str, str], ...] = ()

    @property
    def mentioned(self) -> tuple[str, ...]:
        """Companies named in passing (not subjects)."""
        return tuple(c for c, level in self.mentions if level == MENTIONED)


@dataclass(frozen=True)
class ArticleText:
    """What the classifier reads of a stored article."""

    id: int
    title: str
    summary: str
    language: str | None


def from_row(
    cls: type[T], row: Any, *, columns: Mapping[str, str] | None = None, **values: Any
) -> T:
    """`cls` built from a Core row (or a row mapping)."""
    if isinstance(row, Mapping):
        keys, cells = tuple(row), tuple(row.values())
    else:
        keys, cells = row._fields, row
    return mapper(cls, keys, columns=columns, given=tuple(values))(cells, **values)


Plan = tuple[tuple[str, int, Decode | None], ...]


@dataclass(frozen=True)
class RowMapper(Generic[T]):
    """Builds `cls` from rows of one shape; `plan` says, for each field the row fills, its
    cell and decoder (None: the cell as it is)."""

    cls: type[T]
    plan: Plan

    def __call__(self, cells: Sequence[Any], **values: Any) -> T:
        for name, index, decode in self.plan:
            cell = cells[index]
            values[name] = cell if decode is None else decode(cell)
        return self.cls(**values)


_MAPPERS: dict[tuple[Any, ...], RowMapper[Any]] = {}


def mapper(
    cls: type[T],
    keys: Sequence[str],
    *,
    columns: Mapping[str, str] | None = None,
    given: Sequence[str] = (),
) -> RowMapper[T]:
    """The mapper from rows with these column `keys` to `cls`, the `given` fields left to the
    caller; worked out once per shape. Take one per result when mapping thousands of rows."""
    renamed = tuple(columns.items()) if columns else ()
    key = (cls, tuple(keys), renamed, tuple(given))
    found = _MAPPERS.get(key)
    if found is None:
        hints = typing.get_type_hints(cls)
        position = {column: index for index, column in enumerate(keys)}
        column_of = dict(renamed)
        plan = tuple(
            (f.name, position[column_of.get(f.name, f.name)], _decoder(hints[f.name]))
            for f in fields(typing.cast(Any, cls))
            if f.name not in given and column_of.get(f.name, f.name) in position
        )
        found = _MAPPERS[key] = RowMapper(cls, plan)
    return found


def _decoder(hint: Any) -> Decode | None:
    if hint is bool:
        return bool
    if typing.get_origin(hint) is tuple:
        return json_tuple
    return None


def aware(value: Any) -> datetime | None:
    """max() over a UTCDateTime column comes back untyped on SQLite: text or naive."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    moment: datetime = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return moment


@lru_cache(maxsize=4096)
def json_tuple(stored: str | None) -> tuple[Any, ...]:
    """A JSON array's items, or a JSON object's (key, value) pairs; () for no text."""
    if not stored:
        return ()
    decoded = json.loads(stored)
    return tuple(decoded.items()) if isinstance(decoded, dict) else tuple(decoded)
