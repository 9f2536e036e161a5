"""Company names as people type them (any alias, language or ticker) → catalog ids.

Pure: built once from a `Catalog`. Latin text matches case-insensitively; CJK has no case, so it
matches exactly. `suggest` gives prefix matches for slash-command autocomplete.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.classify.catalog import Catalog, CatalogError, Company, load_catalog
from bot.settings import ConfigError, Settings

SUGGEST_LIMIT = 25  # Discord's most autocomplete choices


def normalise_name(text: str) -> str:
    """Width-folded (ＮＶＩＤＩＡ → nvidia), whitespace collapsed, case-folded, no leading '$'."""
    folded = " ".join(unicodedata.normalize("NFKC", text).split()).casefold()
    return folded.removeprefix("$").strip()


@dataclass(frozen=True)
class CompanyIndex:
    keys: tuple[tuple[str, str, str], ...]  # (normalised key, company id, name as written), sorted
    by_key: dict[str, str]  # normalised key → company id
    display: dict[str, str]  # company id → display name

    def resolve(self, text: str) -> str | None:
        return self.by_key.get(normalise_name(text))

    def suggest(self, prefix: str, limit: int = SUGGEST_LIMIT) -> list[tuple[str, str]]:
        """(id, display) for companies with a name starting with `prefix`; exact hits first."""
        wanted = normalise_name(prefix)
        if not wanted:
            return self._by_name()[:limit]
        exact = self.by_key.get(wanted)
        found: dict[str, str] = {}
        if exact is not None:
            found[exact] = self.display[exact]
        for company_id, name in self._by_name():
            if normalise_name(name).startswith(wanted):
                found.setdefault(company_id, name)
        for key, company_id, written in self.keys:
            if len(found) >= limit:
                break
            if key.startswith(wanted) and company_id not in found:
                found[company_id] = self._label(company_id, written)
        return list(found.items())[:limit]

    def close_matches(self, text: str, limit: int = 5) -> list[tuple[str, str]]:
        """Companies the user may have meant: prefix matches, else names spelled alike."""
        found = self.suggest(text, limit) if normalise_name(text) else []
        if found:
            return found
        keys = [key for key, _, _ in self.keys]
        close = difflib.get_close_matches(normalise_name(text), keys, n=limit * 3, cutoff=0.6)
        picked: dict[str, str] = {}
        for key in close:
            company_id = self.by_key[key]
            picked.setdefault(company_id, self.display[company_id])
        return list(picked.items())[:limit]

    def unknown(self, text: str) -> str:
        """The sentence that follows "unknown company 'x'": what was meant, where to look."""
        hints = self.close_matches(text)
        if hints:
            meant = ", ".join(f"{name} ({company_id})" for company_id, name in hints)
            return f"did you mean {meant}? 'chipwire companies' lists every name"
        return "try a name, alias or ticker such as Nvidia, 华为 or NVDA; 'chipwire companies' lists them"

    def resolve_all(self, names: Sequence[str], where: str) -> tuple[str, ...]:
        """Every name as a company id, in order, once; ConfigError naming `where` otherwise."""
        ids: list[str] = []
        for name in names:
            company_id = self.resolve(name)
            if company_id is None:
                raise ConfigError(f"{where}: unknown company {name!r}; {self.unknown(name)}.")
            if company_id not in ids:
                ids.append(company_id)
        return tuple(ids)

    def _by_name(self) -> list[tuple[str, str]]:
        return sorted(self.display.items(), key=lambda item: item[1].casefold())

    def _label(self, company_id: str, written: str) -> str:
        name = self.display[company_id]
        return name if normalise_name(written) == normalise_name(name) else f"{name} ({written})"


def build_index(catalog: Catalog) -> CompanyIndex:
    """Ids, names, tickers win over units and weak names; a secondary name two companies share
    (an ambiguous one) is left out rather than guessed."""
    by_key: dict[str, str] = {}
    written: dict[str, str] = {}
    for company in catalog.companies:
        for name in _strong_names(company):
            key = normalise_name(name)
            if key and key not in by_key:
                by_key[key], written[key] = company.id, name
    secondary: dict[str, set[str]] = {}
    for company in catalog.companies:
        for name in (*company.units, *company.weak_names):
            key = normalise_name(name)
            if key and key not in by_key:
                secondary.setdefault(key, set()).add(company.id)
                written.setdefault(key, name)
    for key, ids in secondary.items():
        if len(ids) == 1:
            by_key[key] = next(iter(ids))
    keys = tuple(sorted((key, cid, written[key]) for key, cid in by_key.items()))
    display = {company.id: company.name for company in catalog.companies}
    return CompanyIndex(keys=keys, by_key=by_key, display=display)


def _strong_names(company: Company) -> Iterator[str]:
    yield company.id
    yield company.name
    yield from company.all_names
    for ticker in company.tickers:
        yield ticker  # "NASDAQ:NVDA"
        yield ticker.split(":", 1)[1]  # "NVDA"


def load_index(catalog_path: Path | None) -> CompanyIndex:
    try:
        return build_index(load_catalog(extra=catalog_path))
    except CatalogError as exc:
        raise ConfigError(str(exc)) from None


def bind_companies(settings: Settings, index: CompanyIndex) -> Settings:
    """The config's company names as catalog ids: any alias, language or ticker is accepted,
    an unknown one is a ConfigError with suggestions (it would match nothing, forever)."""
    path = settings.config_path
    subscriptions = tuple(
        replace(sub, companies=index.resolve_all(sub.companies, f"{path}: subscriptions[{n}]"))
        for n, sub in enumerate(settings.subscriptions)
    )
    priority = {
        index.resolve_all([name], f"{path}: digest.company_priority")[0]: weight
        for name, weight in settings.digest.company_priority.items()
    }
    digest = replace(settings.digest, company_priority=priority)
    return replace(settings, subscriptions=subscriptions, digest=digest)


def checked_settings(settings: Settings) -> Settings:
    return bind_companies(settings, load_index(settings.catalog_path))
