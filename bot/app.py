"""build_app: the one place that wires concrete parts together."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING

from bot.classify.catalog import CatalogError, load_catalog
from bot.digest.deliver import DeliveryContext, Poster
from bot.ingest.jobs import ClassifierSpec
from bot.ingest.parsers import InlineParser, PoolParser, make_parser
from bot.ingest.pipeline import PollContext
from bot.settings import ConfigError, Settings
from bot.store.failures import UNWRITABLE, StoreFailure
from bot.store.inspect import sqlite_path
from bot.store.reconcile import SyncPlan
from bot.store.repo import Store
from bot.trends.cache import ChartCache

if TYPE_CHECKING:
    from bot.ingest.fetch import Fetcher, FetchLimits

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def fetch_limits(settings: Settings) -> FetchLimits:
    from bot.ingest.fetch import FetchLimits

    fetch = settings.fetch
    return FetchLimits(
        total_connections=fetch.total_connections,
        per_host=fetch.per_host_connections,
        connect_timeout=fetch.connect_timeout,
        total_timeout=fetch.total_timeout,
        max_bytes=fetch.max_bytes,
        max_redirects=fetch.max_redirects,
    )


@dataclass
class App:
    settings: Settings
    store: Store
    parser: InlineParser | PoolParser
    clock: Clock
    names: Mapping[str, str]  # company id → display name, from the catalog
    charts: ChartCache = field(default_factory=ChartCache)  # shared by commands and digests
    given_fetcher: Fetcher | None = None  # a test's; None: one is built on first use
    _fetcher: Fetcher | None = field(default=None, init=False, repr=False)

    @property
    def fetcher(self) -> Fetcher:
        """Built, with its HTTP sessions, on first use: commands that only read the store never
        load the HTTP client (aiohttp builds its TLS contexts as it is imported)."""
        if self._fetcher is None:
            from bot.ingest.fetch import Fetcher

            fetcher = self.given_fetcher or Fetcher(fetch_limits(self.settings))
            self._fetcher = fetcher.open()
        return self._fetcher

    def poll_context(self) -> PollContext:
        return PollContext(
            store=self.store,
            fetcher=self.fetcher,
            parser=self.parser,
            clock=self.clock,
            max_backoff=self.settings.fetch.max_backoff,
        )

    async def __aenter__(self) -> App:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def company_names(self) -> Mapping[str, str]:
        return self.names

    def delivery_context(self, posters: Mapping[str, Poster]) -> DeliveryContext:
        return DeliveryContext(
            store=self.store,
            posters=posters,
            clock=self.clock,
            settings=self.settings.digest,
            company_names=self.names,
            charts=self.charts,
            admin_target=self.settings.ops.admin_target,
        )

    async def sync_config(self) -> SyncPlan:
        """Make the store's config-owned feeds and subscriptions match the file."""
        settings = self.settings
        return await self.store.sync_config(settings.feeds, settings.subscriptions, self.clock())

    async def aclose(self) -> None:
        self.charts.close()
        if self._fetcher is not None:
            await self._fetcher.close()
        self.parser.close()
        await self.store.close()


async def build_app(
    settings: Settings,
    *,
    store: Store | None = None,
    fetcher: Fetcher | None = None,
    clock: Clock | None = None,
    parse_workers: int | None = None,
) -> App:
    """Compile the catalog and open the store (migrating it). The config's feeds and
    subscriptions reach the store only through `App.sync_config` (run, poll, sync)."""
    clock = clock or utc_now
    workers = settings.parse_workers if parse_workers is None else parse_workers
    spec = ClassifierSpec(
        catalog_path=str(settings.catalog_path) if settings.catalog_path else None,
        threshold=settings.relevance_threshold,
        enabled=settings.classify_at_ingest,
    )
    try:
        names = company_names(settings)
        parser = make_parser(workers, spec)
    except CatalogError as exc:
        raise ConfigError(str(exc)) from None
    try:
        if store is None:
            make_sqlite_folder(settings.database_url)
            store = await Store.open(settings.database_url)
    except BaseException:
        parser.close()
        raise
    return App(
        settings=settings,
        store=store,
        given_fetcher=fetcher,
        parser=parser,
        clock=clock,
        names=names,
    )


def company_names(settings: Settings) -> dict[str, str]:
    catalog = load_catalog(extra=settings.catalog_path)
    return {company.id: company.name for company in catalog.companies}


def make_sqlite_folder(url: str) -> None:
    """SQLite creates the file on first run but not its folder."""
    path = sqlite_path(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreFailure(
            UNWRITABLE, f"cannot create the folder {path.parent} ({exc.strerror or exc})", url
        ) from None
