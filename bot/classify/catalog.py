"""The company catalog and topic lexicon: TOML in, frozen values out.

Where the catalog lives
    ``bot/data/companies.toml``, inside the package so an installed wheel carries it;
    ``config/companies.toml`` at the top of the checkout (the file the issue names, and the one
    users read to learn the format) is a link to it.

Extending it
    ``load_catalog(extra=path)`` merges a user catalog over the default, by company id and topic
    id: a new id adds an entry; for an existing id, list keys and ``names`` are extended while
    ``name``, ``chip_weight``, ``kind`` and ``weight`` are replaced; ``replace = true`` replaces the
    whole entry and ``disabled = true`` removes it. ``merge_catalog`` does the same for a table
    already read from another file (e.g. a ``[companies]`` table inside chipwire.toml).

Errors
    A bad catalog raises :class:`CatalogError` whose message names the file, the company (or
    topic) id and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.tomlfile import TomlFileError, read_toml

# Shipped inside the package (so an installed wheel has it); config/companies.toml in the
# checkout links to this file.
DEFAULT_CATALOG = Path(__file__).resolve().parents[1] / "data" / "companies.toml"

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,8})?$")
_TICKER = re.compile(r"^[A-Z]{2,8}:[A-Z0-9.]{1,10}$")
_TOPIC_KINDS = ("chip", "context", "negative")

_COMPANY_LISTS = (
    "weak_names",
    "tickers",
    "units",
    "weak_units",
    "people",
    "products",
    "weak_products",
    "exclude",
)
_COMPANY_KEYS = frozenset((*_COMPANY_LISTS, "name", "names", "chip_weight", "replace", "disabled"))
_TOPIC_KEYS = frozenset(("kind", "weight", "terms", "evidence", "replace", "disabled"))
# Kinds of evidence a chip topic gives; AI-chip news needs two different ones (classifier.py).
EVIDENCE_KINDS = ("compute", "industry", "ai")


class CatalogError(ValueError):
    """The catalog file is not usable; the message names file, entry and key."""


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    names: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    weak_names: tuple[str, ...] = ()
    tickers: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    weak_units: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    weak_products: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    chip_weight: float = 0.0

    @property
    def all_names(self) -> tuple[str, ...]:
        return tuple(n for names in self.names.values() for n in names)


@dataclass(frozen=True)
class Topic:
    id: str
    kind: str  # "chip" | "context" | "negative"
    weight: float
    terms: tuple[str, ...]
    evidence: tuple[str, ...] = ()  # for a chip topic: "compute", "industry" and/or "ai"


@dataclass(frozen=True)
class Catalog:
    companies: tuple[Company, ...]
    topics: tuple[Topic, ...]
    sources: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.companies)

    def company(self, company_id: str) -> Company:
        for c in self.companies:
            if c.id == company_id:
                return c
        raise KeyError(company_id)


def default_catalog_path() -> Path:
    if DEFAULT_CATALOG.is_file():
        return DEFAULT_CATALOG
    raise CatalogError(
        f"{DEFAULT_CATALOG}: the default company catalog is missing; reinstall ChipWire"
    )


def load_catalog(path: Path | None = None, extra: Path | None = None) -> Catalog:
    """Read the catalog at ``path`` (default: the shipped one) and merge ``extra`` over it."""
    base_path = path if path is not None else default_catalog_path()
    catalog = merge_catalog(Catalog((), ()), _read_toml(base_path), str(base_path))
    if extra is not None:
        catalog = merge_catalog(catalog, _read_toml(extra), str(extra))
    if not catalog.companies:
        raise CatalogError(f"{base_path}: the catalog defines no companies")
    return catalog


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return read_toml(path)
    except TomlFileError as exc:
        what = "catalog file not found" if exc.fault == "missing" else exc.detail
        raise CatalogError(f"{path}: {what}") from None


def merge_catalog(base: Catalog, data: Mapping[str, Any], source: str) -> Catalog:
    """Merge a parsed catalog table (``companies`` / ``topics``) over ``base``."""
    unknown = set(data) - {"companies", "topics"}
    if unknown:
        raise CatalogError(f"{source}: unknown top-level key(s) {sorted(unknown)}")
    companies = {c.id: c for c in base.companies}
    for cid, table in _tables(data.get("companies", {}), source, "companies").items():
        merged = _merge_company(companies.get(cid), table, source, cid)
        if merged is None:
            companies.pop(cid, None)
        else:
            companies[cid] = merged
    topics = {t.id: t for t in base.topics}
    for tid, table in _tables(data.get("topics", {}), source, "topics").items():
        topic = _merge_topic(topics.get(tid), table, source, tid)
        if topic is None:
            topics.pop(tid, None)
        else:
            topics[tid] = topic
    return Catalog(tuple(companies.values()), tuple(topics.values()), (*base.sources, source))


def _tables(value: Any, source: str, what: str) -> dict[str, Mapping[str, Any]]:
    if not isinstance(value, Mapping):
        raise CatalogError(f"{source}: [{what}] must be a table of tables")
    out: dict[str, Mapping[str, Any]] = {}
    for key, table in value.items():
        if not _ID.match(key):
            raise CatalogError(f"{source}: {what} id {key!r} must match {_ID.pattern}")
        if not isinstance(table, Mapping):
            raise CatalogError(f"{source}: {what[:-1]} {key!r} must be a table")
        out[key] = table
    return out


def _fail(source: str, kind: str, entry: str, key: str, problem: str) -> CatalogError:
    return CatalogError(f"{source}: {kind} {entry!r}: key {key!r}: {problem}")


def _strings(value: Any, source: str, kind: str, entry: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(source, kind, entry, key, "expected a list of non-empty strings")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _union(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*old, *new)))


def _weight(
    value: Any, source: str, kind: str, entry: str, key: str, lo: float, hi: float
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise _fail(source, kind, entry, key, f"expected a number from {lo} to {hi}")
    return float(value)


def _flag(table: Mapping[str, Any], key: str, source: str, kind: str, entry: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise _fail(source, kind, entry, key, "expected true or false")
    return value


def _merge_company(
    old: Company | None, table: Mapping[str, Any], source: str, cid: str
) -> Company | None:
    unknown = sorted(set(table) - _COMPANY_KEYS)
    if unknown:
        raise _fail(
            source, "company", cid, unknown[0], f"unknown key (allowed: {sorted(_COMPANY_KEYS)})"
        )
    if _flag(table, "disabled", source, "company", cid):
        return None
    if _flag(table, "replace", source, "company", cid):
        old = None
    name = table.get("name", old.name if old else None)
    if not isinstance(name, str) or not name.strip():
        raise _fail(source, "company", cid, "name", "a non-empty display name is required")
    lists = {
        key: _strings(table.get(key, []), source, "company", cid, key) for key in _COMPANY_LISTS
    }
    for ticker in lists["tickers"]:
        if not _TICKER.match(ticker):
            raise _fail(source, "company", cid, "tickers", f"{ticker!r} is not EXCHANGE:SYMBOL")
    names = _names(table.get("names", {}), source, cid)
    if old is not None:
        lists = {key: _union(getattr(old, key), lists[key]) for key in _COMPANY_LISTS}
        merged = dict(old.names)
        for lang, extra in names.items():
            merged[lang] = _union(merged.get(lang, ()), extra)
        names = merged
    chip_weight = table.get("chip_weight", old.chip_weight if old else 0.0)
    company = Company(
        id=cid,
        name=name.strip(),
        names=MappingProxyType(names),
        chip_weight=_weight(chip_weight, source, "company", cid, "chip_weight", 0.0, 1.0),
        **lists,
    )
    if not (company.all_names or company.weak_names or company.units or company.products):
        raise _fail(source, "company", cid, "names", "give at least one name, unit or product")
    return company


def _names(value: Any, source: str, cid: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise _fail(source, "company", cid, "names", "expected a table of language = [names]")
    out: dict[str, tuple[str, ...]] = {}
    for lang, names in value.items():
        if not _LANG.match(lang):
            raise _fail(
                source, "company", cid, f"names.{lang}", "not a language tag like en, zh-Hans"
            )
        out[lang] = _strings(names, source, "company", cid, f"names.{lang}")
    return out


def _merge_topic(
    old: Topic | None, table: Mapping[str, Any], source: str, tid: str
) -> Topic | None:
    unknown = sorted(set(table) - _TOPIC_KEYS)
    if unknown:
        raise _fail(
            source, "topic", tid, unknown[0], f"unknown key (allowed: {sorted(_TOPIC_KEYS)})"
        )
    if _flag(table, "disabled", source, "topic", tid):
        return None
    if _flag(table, "replace", source, "topic", tid):
        old = None
    kind = table.get("kind", old.kind if old else None)
    if kind not in _TOPIC_KINDS:
        raise _fail(source, "topic", tid, "kind", f"expected one of {list(_TOPIC_KINDS)}")
    raw_weight = table.get("weight", old.weight if old else None)
    lo, hi = (-5.0, -0.0) if kind == "negative" else (0.0, 5.0)
    weight = _weight(raw_weight, source, "topic", tid, "weight", lo, hi)
    terms = _strings(table.get("terms", []), source, "topic", tid, "terms")
    if old is not None:
        terms = _union(old.terms, terms)
    if not terms:
        raise _fail(source, "topic", tid, "terms", "a topic needs at least one term")
    evidence = _strings(
        table.get("evidence", list(old.evidence) if old else []), source, "topic", tid, "evidence"
    )
    if not set(evidence) <= set(EVIDENCE_KINDS):
        raise _fail(source, "topic", tid, "evidence", f"expected some of {list(EVIDENCE_KINDS)}")
    return Topic(tid, kind, weight, terms, evidence)
