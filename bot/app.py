"""The one composition root: `build_app` wires the parts every command needs, `build_bot`
everything `chipwire run` adds, each complete at construction.

`build_bot` loads the credentials once (their secrets join the log redaction there), builds one
`Platform` per platform with credentials (the console always), the command context with its
metrics and schedule hooks, the delivery context and the scheduler with its jobs. `bot/run.py`
only starts, waits and stops what it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from bot.classify.catalog import CatalogError, load_catalog
from bot.digest.deliver import DeliveryContext, Poster
from bot.ingest.jobs import ClassifierSpec
from bot.ingest.parsers import InlineParser, PoolParser, make_parser
from bot.ingest.pipeline import PollContext
from bot.models import Clock
from bot.settings import ConfigError, Settings
from bot.store.failures import UNWRITABLE, StoreFailure
from bot.store.inspect import sqlite_path
from bot.store.reconcile import SyncPlan
from bot.store.repo import Store
from bot.trends.cache import ChartCache

if TYPE_CHECKING:  # only `chipwire run` loads the chat SDKs and the scheduler; fetch loads on use
    from bot.commands.table import Context
    from bot.ingest.fetch import Fetcher, FetchLimits
    from bot.jobs import DigestJobs, Running
    from bot.ops.secrets import Credentials
    from bot.platforms.base import Platform
    from bot.platforms.discord.poster import DiscordPoster
    from bot.platforms.slack.poster import SlackPoster


# Tests only: "1" sends Discord posts without a nonce and skips the Slack history check, so the
# crash test can show the duplicates they prevent. Never set it in production.
log = logging.getLogger(__name__)

NO_DEDUPE_ENV = "CHIPWIRE_TEST_NO_DEDUPE"


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

    def command_context(
        self,
        *,
        on_command: Callable[[str, float], None] | None = None,
        on_subscriptions_changed: Callable[[], Awaitable[None]] | None = None,
    ) -> Context:
        """The command context over this app's store, catalog, clock and fetcher."""
        from bot.commands.table import make_context

        catalog = load_catalog(extra=self.settings.catalog_path)
        return make_context(
            self.store,
            catalog,
            self.clock,
            self.settings,
            fetcher=self.fetcher,
            on_command=on_command,
            on_subscriptions_changed=on_subscriptions_changed,
            charts=self.charts,
        )

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


@dataclass(frozen=True)
class Bot:
    """Everything `chipwire run` runs, built whole by `build_bot`."""

    running: Running
    platforms: Sequence[Platform]
    commands: Context
    digest_jobs: DigestJobs

    @property
    def app(self) -> App:
        return self.running.app

    @property
    def posters(self) -> Mapping[str, Poster]:
        return {platform.name: platform.poster for platform in self.platforms}

    async def close(self) -> None:
        for platform in reversed(self.platforms):
            try:
                await platform.close()
            except Exception:  # a platform failing to close must not block shutdown
                log.warning("closing %s failed", platform.name, exc_info=True)


def build_bot(
    app: App,
    *,
    out: TextIO,
    environ: Mapping[str, str],
    slack_mode: str = "socket",
    tick_seconds: int = 60,
) -> Bot:
    """The running bot over a built (and entered) App; tokens are never printed."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.jobs import DigestJobs, Liveness, Running, add_run_jobs
    from bot.ops.metrics import Metrics
    from bot.ops.secrets import load_credentials, redact_in_logs
    from bot.platforms.console.platform import ConsolePlatform
    from bot.platforms.console.poster import ConsolePoster

    credentials = load_credentials(app.settings, environ)
    redact_in_logs(credentials)
    dedupe = environ.get(NO_DEDUPE_ENV) != "1"
    # Built in dependency order: the posters (delivery needs them), the jobs' shared state, the
    # digest jobs (the command context calls them), the command context, then the platforms.
    console = ConsolePoster(out, app.names, chart_dir=app.settings.data_dir / "charts")
    discord = _discord_poster(app, credentials, dedupe)
    slack = _slack_poster(app, credentials, dedupe)
    posters: dict[str, Poster] = {"console": console}
    posters.update({"discord": discord} if discord else {})
    posters.update({"slack": slack} if slack else {})
    scheduler = AsyncIOScheduler(timezone="UTC")
    metrics = Metrics()
    running = Running(
        app, out, app.delivery_context(posters), metrics, Liveness(app, scheduler), scheduler
    )
    digest_jobs = DigestJobs(scheduler, running)
    add_run_jobs(running, tick_seconds)
    commands = app.command_context(
        on_command=metrics.observe_command, on_subscriptions_changed=digest_jobs.refresh
    )
    platforms: list[Platform] = [ConsolePlatform(console)]
    if discord is not None:
        platforms.append(_discord_platform(discord, credentials, commands))
    if slack is not None:
        platforms.append(_slack_platform(slack, credentials, commands, app, slack_mode, out))
    return Bot(running, tuple(platforms), commands, digest_jobs)


def _discord_platform(
    poster: DiscordPoster, credentials: Credentials, commands: Context
) -> Platform:
    from bot.platforms.discord.platform import DiscordPlatform

    token = credentials.discord_token or ""
    return DiscordPlatform(poster, token, commands, api_base=credentials.discord_api_url)


def _slack_platform(
    poster: SlackPoster,
    credentials: Credentials,
    commands: Context,
    app: App,
    mode: str,
    out: TextIO,
) -> Platform:
    from bot.platforms.slack.platform import SlackPlatform

    return SlackPlatform(
        poster,
        credentials.slack_bot_token or "",
        commands,
        signing_secret=credentials.slack_signing_secret,
        app_token=credentials.slack_app_token,
        api_url=credentials.slack_api_url,
        admins=app.settings.chat.slack_admins,
        mode=mode,
        out=out,
    )


def _discord_poster(app: App, credentials: Credentials, dedupe: bool) -> DiscordPoster | None:
    if not credentials.discord_token:
        return None
    from bot.platforms.discord.poster import DiscordPoster

    return DiscordPoster(
        credentials.discord_token,
        app.names,
        api_base=credentials.discord_api_url,
        dedupe=dedupe,
    )


def _slack_poster(app: App, credentials: Credentials, dedupe: bool) -> SlackPoster | None:
    if not credentials.slack_bot_token:
        return None
    from bot.platforms.slack.poster import SlackPoster

    return SlackPoster(
        credentials.slack_bot_token, app.names, api_url=credentials.slack_api_url, dedupe=dedupe
    )
