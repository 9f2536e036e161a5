"""The command registry and dispatch: Discord, Slack and `chipwire ask` all run these handlers.

Each command is declared once, beside its handler, with `@command` (articles.py, charts.py,
subscriptions.py, feeds.py, help.py); `commands()` lists them in menu order in the terms Discord's
slash commands need, and the adapters register from it and hand each invocation to `dispatch` as
a `Command`. `dispatch` binds the command's words or Discord options to the handler's typed
keyword arguments (`binding.py`) and never raises: unknown commands, bad arguments, missing
permission and any failure inside a handler all come back as a short private `Reply` saying
what to do.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from bot.classify.catalog import Catalog
from bot.commands.binding import CommandError, Param, UsageError, bind
from bot.commands.messages import Command, Reply, error_reply
from bot.commands.resolve import CompanyIndex, build_index
from bot.models import Clock
from bot.settings import Settings
from bot.text import one_line, truncate

if TYPE_CHECKING:  # `help` lists the commands without loading the store, HTTP or chart stacks
    from bot.ingest.fetch import Fetcher
    from bot.store.repo import Store
    from bot.trends.cache import ChartCache

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_CARDS = 10  # Discord's embeds per message
COMPANY_HELP = "Company name, alias or ticker: Nvidia, 华为, NVDA"
GENERIC_ERROR = "Something went wrong; try again or ask an admin."


@dataclass(frozen=True)
class Context:
    store: Store
    catalog: Catalog
    companies: CompanyIndex
    clock: Clock
    settings: Settings
    fetcher: Fetcher | None = None  # None: `feeds add/test` say they cannot fetch here
    # Called after subscribe/unsubscribe so the scheduler can add or drop the digest job.
    on_subscriptions_changed: Callable[[], Awaitable[None]] | None = None
    # Called with (command name, seconds) after each command, for the metrics.
    on_command: Callable[[str, float], None] | None = None
    # Rendered charts, shared by every platform of one running bot; None renders each anew.
    charts: ChartCache | None = None

    @property
    def company_names(self) -> Mapping[str, str]:
        return self.companies.display

    def resolve_company(self, text: str) -> str | None:
        return self.companies.resolve(text)


def make_context(
    store: Store,
    catalog: Catalog,
    clock: Clock,
    settings: Settings,
    *,
    fetcher: Fetcher | None = None,
    on_subscriptions_changed: Callable[[], Awaitable[None]] | None = None,
    on_command: Callable[[str, float], None] | None = None,
    charts: ChartCache | None = None,
) -> Context:
    return Context(
        store=store,
        catalog=catalog,
        companies=build_index(catalog),
        clock=clock,
        settings=settings,
        fetcher=fetcher,
        on_subscriptions_changed=on_subscriptions_changed,
        on_command=on_command,
        charts=charts,
    )


# `handler(ctx, command, **arguments)`: one keyword argument per declared Param, already bound.
Handler = Callable[..., Awaitable[Reply]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class CommandSpec:
    name: str
    help: str
    params: tuple[Param, ...]
    admin: bool
    handler: Handler = field(compare=False)

    def usage(self) -> str:
        return " ".join([self.name, *(_param_usage(p) for p in self.params)])


def _param_usage(param: Param) -> str:
    label = "|".join(param.choices) if param.choices else param.name
    label += "…" if param.many else ""
    return f"<{label}>" if param.required else f"[{label}]"


# the registry --------------------------------------------------------------------------------

# The order `help` lists the commands and Discord shows them; each is declared beside its
# handler, in articles.py, charts.py, subscriptions.py, feeds.py and help.py.
MENU = (
    "latest",
    "company",
    "search",
    "trend",
    "share",
    "digest",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "feeds",
    "why",
    "help",
)
_REGISTERED: dict[str, CommandSpec] = {}


def command(name: str, help: str, *params: Param, admin: bool = False) -> Callable[[H], H]:
    """Declare a command beside its handler: `@command("latest", "...", Param(...))`."""

    def register(handler: H) -> H:
        _check_keywords(name, handler, params)
        if name in _REGISTERED or name not in MENU:
            raise ValueError(f"command {name!r} is declared twice or missing from MENU")
        _REGISTERED[name] = CommandSpec(name, help, params, admin, handler)
        return handler

    return register


def _check_keywords(name: str, handler: Handler, params: Sequence[Param]) -> None:
    """The handler takes exactly the declared arguments, keyword-only: a typo fails at import."""
    signature = inspect.signature(handler).parameters.values()
    keywords = [p.name for p in signature if p.kind is inspect.Parameter.KEYWORD_ONLY]
    if keywords != [p.identifier for p in params]:
        raise TypeError(f"command {name!r}: handler keywords {keywords} are not its Params")


def commands() -> tuple[CommandSpec, ...]:
    """Every command, in menu order."""
    return tuple(_REGISTERED[name] for name in MENU if name in _REGISTERED)


def spec_named(name: str) -> CommandSpec | None:
    return _REGISTERED.get(name.lower())


# dispatch ------------------------------------------------------------------------------------


async def dispatch(ctx: Context, command: Command) -> Reply:
    """Run the command; every failure becomes a private reply, never an exception."""
    started = time.perf_counter()
    try:
        return await _dispatch(ctx, command)
    finally:
        if ctx.on_command is not None:
            name = command.name.lower() if command.name.lower() in _REGISTERED else "unknown"
            ctx.on_command(name, time.perf_counter() - started)


async def _dispatch(ctx: Context, command: Command) -> Reply:
    spec = spec_named(command.name)
    if spec is None:
        return unknown(command.name)
    if spec.admin and not command.is_admin:
        return error_reply(
            f"Only admins can use '{spec.name}'.", "Ask an admin of this channel to run it."
        )
    try:
        arguments = bind(ctx.companies, spec.name, spec.params, command)
        return await spec.handler(ctx, command, **arguments)
    except UsageError as exc:
        return error_reply(exc.message, *exc.hints, f"usage: {spec.usage()}")
    except CommandError as exc:
        return error_reply(exc.message, *exc.hints)
    except Exception:
        log.exception("command %r from %s in %s failed", spec.name, command.user, command.channel)
        return error_reply(GENERIC_ERROR)


def unknown(name: str) -> Reply:
    close = difflib.get_close_matches(name.lower(), list(MENU), n=1)
    guess = f"Did you mean '{close[0]}'? " if close else ""
    names = ", ".join(MENU)
    return error_reply(
        f"Unknown command '{truncate(one_line(name), 40)}'.",
        f"{guess}Commands: {names}. 'help' explains each.",
    )


async def read(ctx: Context, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await ctx.store.read(query, *args, **kwargs)


async def write(ctx: Context, change: Callable[..., T], *args: Any) -> T:
    return await ctx.store.write(change, *args)


# argument helpers ----------------------------------------------------------------------------


def bounded_int(text: str, what: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(f"{what} must be a whole number from {low} to {high}, not '{text}'.")
    return int(text)


def names(ctx: Context, company_ids: Sequence[str]) -> str:
    return ", ".join(ctx.company_names.get(c, c) for c in company_ids)
