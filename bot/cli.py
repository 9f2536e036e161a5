"""`chipwire`: the command line. Parses arguments, builds the app, prints results.

Exit codes: 0 done (even when some feeds failed), 2 bad config or usage, 3 store unusable.

Each command imports what it needs when it runs: `--help` stays instant, and parse workers
(which import this module as their main) do not load the database and HTTP stacks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

# Nothing of the bot at module level: `chipwire --help` exits inside argparse, before any of it.
if TYPE_CHECKING:
    from bot.app import App
    from bot.classify.classifier import Classifier
    from bot.models import Digest
    from bot.settings import Settings
    from bot.store.inspect import StoreReport
    from bot.store.reconcile import SyncPlan
    from bot.store.repo import FeedSummary, Store, StoredArticle

EXIT_OK, EXIT_NOTHING, EXIT_CONFIG, EXIT_STORE = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chipwire",
        description="ChipWire: AI-chip news from RSS/Atom/JSON feeds to Discord, Slack and the console.",
        epilog="Global options go before the command, e.g. chipwire --config my.toml poll --once",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $CHIPWIRE_CONFIG, else config/chipwire.toml)",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="store, e.g. sqlite:///data/chipwire.db or postgresql://user@host/db "
        "(default: $CHIPWIRE_DATABASE_URL, else an SQLite file in the config's data_dir)",
    )
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="debug logs from ChipWire; -vv from the libraries too "
        "(default: ChipWire's INFO lines on stderr, libraries' warnings only)",
    )
    noise.add_argument("-q", "--quiet", action="store_true", help="log only warnings and errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run the bot: poll, send digests, answer slash commands where tokens are set",
    )
    run.add_argument("--tick", type=int, default=60, help="seconds between due-feed checks")
    run.add_argument(
        "--slack-mode",
        choices=("socket", "http"),
        default="socket",
        help="Slack over Socket Mode (SLACK_APP_TOKEN) or HTTP at /slack/events",
    )
    run.add_argument(
        "--port", type=int, help="port for /healthz, /metrics and (HTTP mode) /slack/events"
    )

    discord_cmd = commands.add_parser("discord", help="Discord set-up")
    discord_actions = discord_cmd.add_subparsers(
        dest="discord_command", metavar="ACTION", required=True
    )
    sync = discord_actions.add_parser(
        "sync", help="register the slash commands with Discord (run after upgrades)"
    )
    sync.add_argument("--guild", type=int, metavar="ID", help="one server: instant, for testing")

    poll = commands.add_parser("poll", help="poll feeds and store new articles")
    poll.add_argument("--once", action="store_true", help="poll every feed once now, then exit")
    poll.add_argument("--tick", type=int, default=60, help="without --once: seconds between checks")

    feeds = commands.add_parser("feeds", help="list, add or remove feeds")
    feed_commands = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    listing = feed_commands.add_parser("list", help="every feed with its health")
    listing.add_argument("--json", action="store_true", help="print a JSON array instead")
    add = feed_commands.add_parser("add", help="add a feed by URL")
    add.add_argument("url", help="http(s) URL of an RSS, Atom or JSON feed")
    add.add_argument("--name", help="display name (default: the host name)")
    add.add_argument("--language", help="declared language, e.g. en, zh, it")
    add.add_argument("--interval", type=int, default=1800, help="seconds between polls")
    add.add_argument(
        "--allow-private-address",
        action="store_true",
        help="allow a loopback/private host (off by default for safety)",
    )
    importing = feed_commands.add_parser(
        "import", help="add the feeds of an OPML file (another reader's export)"
    )
    importing.add_argument("file", type=Path, help="an .opml file")
    importing.add_argument("--interval", type=int, default=1800, help="seconds between polls")
    importing.add_argument(
        "--allow-private-address",
        action="store_true",
        help="allow loopback/private hosts (off by default for safety)",
    )
    exporting = feed_commands.add_parser("export", help="write every stored feed as OPML")
    exporting.add_argument("--out", type=Path, help="file to write (default: standard output)")
    remove = feed_commands.add_parser("remove", help="remove a feed by id (its articles stay)")
    remove.add_argument("id", type=int, help="feed id, as shown by 'feeds list'")
    edit = feed_commands.add_parser(
        "edit",
        help="change a feed added from the CLI or chat (a config file's feed is edited there)",
    )
    edit.add_argument("id", type=int, help="feed id, as shown by 'feeds list'")
    edit.add_argument("--name", help="display name")
    edit.add_argument("--interval", type=int, help="seconds between polls")
    edit.add_argument(
        "--allow-private-address",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="allow (or, with --no-…, refuse) a loopback/private address for its own host and port",
    )
    for action, verb in (
        ("pause", "stop polling a feed (kept and listed)"),
        ("resume", "poll a paused feed again"),
    ):
        paused = feed_commands.add_parser(action, help=verb)
        paused.add_argument("id", type=int, help="feed id, as shown by 'feeds list'")

    commands.add_parser(
        "classify",
        help="classify JSON lines from stdin: {id, title, summary, lang?} → "
        "{id, relevant, score, companies (subjects), mentions (each with its salience), why}",
    )
    evaluate = commands.add_parser(
        "eval",
        help="precision/recall of the classifier on a labelled set, next to a keyword baseline",
    )
    evaluate.add_argument(
        "--data",
        metavar="PATH",
        help="score only this labelled JSONL (the format of tests/data/classify_labelled.jsonl)",
    )
    evaluate.add_argument(
        "--part",
        choices=("dev", "test"),
        default="test",
        help="which part of the labelled sets to score (default: test, the part never tuned on)",
    )
    evaluate.add_argument(
        "--corpora",
        metavar="DIR",
        help="folder holding real-feeds/ (default: ../shared/corpora or $CHIPWIRE_CORPORA)",
    )
    commands.add_parser(
        "reclassify", help="re-run classification over the store (after a catalog change)"
    )
    why = commands.add_parser("why", help="why an article was classified as it was")
    why.add_argument("article", help="article id or URL")

    digest = commands.add_parser(
        "digest", help="print the digest a subscription would get now (a preview; nothing is sent)"
    )
    digest.add_argument("--subscription", type=int, metavar="ID", help="subscription id")
    digest.add_argument("--since", default="24h", help="how far back: 90m, 24h, 7d (default 24h)")
    digest.add_argument(
        "--company", help="only stories about this company: a name, alias or ticker (华为, NVDA)"
    )
    digest.add_argument(
        "--include-history",
        action="store_true",
        help="also show what first polls stored as history (never posted; a preview only)",
    )
    digest.add_argument(
        "--format",
        choices=("console", "discord", "slack"),
        default="console",
        help="console text, or the JSON payloads that would be sent to Discord or Slack",
    )
    digest.add_argument("--json", action="store_true", help="the digest's stories as JSON")
    latest = commands.add_parser(
        "latest",
        help="the newest relevant articles, of one company when given",
        description="The newest AI-chip articles stored, history included, newest first.",
        epilog="example: chipwire latest 华为 --count 5 --json",
    )
    latest.add_argument("company", nargs="?", help="a name, alias or ticker: nvidia, 华为, NVDA")
    latest.add_argument("--count", type=int, default=10, help="how many (default 10, up to 100)")
    latest.add_argument("--json", action="store_true", help="print a JSON array instead")
    search = commands.add_parser(
        "search",
        help="full-text search over stored titles and summaries, newest first",
        description="Every stored article whose title or summary holds all the words.",
        epilog='example: chipwire search "export controls" --company nvidia --days 30',
    )
    search.add_argument("words", nargs="+", help="what to look for")
    search.add_argument("--company", help="only articles naming this company")
    search.add_argument("--days", type=int, help="only the last DAYS days (default: all)")
    search.add_argument("--count", type=int, default=20, help="how many (default 20, up to 100)")
    search.add_argument("--json", action="store_true", help="print a JSON array instead")

    ask = commands.add_parser(
        "ask",
        help='run a chat command here and print the reply, e.g. chipwire ask "company huawei"',
    )
    ask.add_argument("text", nargs="+", help="the command and its arguments, as typed in chat")
    ask.add_argument(
        "--out-dir", type=Path, help="where a reply's chart is written (default: this folder)"
    )
    trend = commands.add_parser(
        "trend", help="chart daily relevant stories per company into a PNG file"
    )
    trend.add_argument("companies", nargs="+", help="names, aliases or tickers: nvidia 华为 AMD")
    trend.add_argument("--days", type=int, help="window in days (default 30)")
    trend.add_argument(
        "--out", type=Path, help="PNG file to write (default: a name in this folder)"
    )
    share = commands.add_parser(
        "share", help="chart each company's share of the AI-chip news into a PNG file"
    )
    share.add_argument("days", nargs="?", type=int, help="window in days (default 7)")
    share.add_argument(
        "--out", type=Path, help="PNG file to write (default: a name in this folder)"
    )

    check = commands.add_parser(
        "check",
        help="validate the config and look at the store (changes nothing; says what sync would)",
    )
    check.add_argument(
        "--feeds",
        action="store_true",
        help="also fetch every configured feed once (nothing stored) and say what each gave; "
        "exit 1 when one needs a look",
    )
    commands.add_parser(
        "sync",
        help="make the store's config feeds and subscriptions match the config file",
    )
    sent = commands.add_parser(
        "deliveries",
        help="what was sent where and when; with --article, why it was not sent to a target",
        description="What delivery recorded: each digest and alert, its target, state (queued, "
        "sent, dead) and articles. With --article, every subscription's verdict on that "
        "article: sent, or why not (not relevant, history, below the threshold, other company "
        "or language, already shown, capped, not sent yet).",
        epilog="example: chipwire deliveries --target discord:123456789 --article 42",
    )
    sent.add_argument("--target", help='one target only, e.g. "console" or "slack:C0123"')
    sent.add_argument("--article", type=int, metavar="ID", help="one article (ids: ask latest)")
    sent.add_argument("--limit", type=int, default=50, help="posts shown at most (default 50)")
    sent.add_argument("--json", action="store_true", help="print JSON instead")
    companies = commands.add_parser(
        "companies", help="every company id with its names, aliases and tickers"
    )
    companies.add_argument("--json", action="store_true", help="print a JSON array instead")
    commands.add_parser(
        "demo", help="run the whole pipeline offline on bundled sample feeds (temporary store)"
    )
    _explain(commands)
    return parser


EXAMPLES = {
    "run": "chipwire --config my.toml run --port 8080",
    "discord": "chipwire discord sync --guild 123456789012345678",
    "feeds": "chipwire feeds list",
    "discord sync": "chipwire discord sync --guild 123456789012345678",
    "poll": "chipwire poll --once",
    "feeds list": "chipwire feeds list --json",
    "feeds add": "chipwire feeds add https://example.com/feed.xml --name Example --interval 3600",
    "feeds remove": "chipwire feeds remove 12",
    "feeds edit": "chipwire feeds edit 12 --interval 3600 --name 'Chip wire'",
    "feeds pause": "chipwire feeds pause 12",
    "feeds resume": "chipwire feeds resume 12",
    "classify": 'echo \'{"id": 1, "title": "Nvidia H20 exports"}\' | chipwire classify',
    "eval": "chipwire eval --data labelled.jsonl",
    "reclassify": "chipwire reclassify",
    "why": "chipwire why 42",
    "digest": "chipwire digest --since 7d --company 华为",
    "ask": 'chipwire ask "company huawei"',
    "trend": "chipwire trend nvidia huawei --days 90 --out race.png",
    "share": "chipwire share 30 --out share.png",
    "check": "chipwire --config my.toml check",
    "sync": "chipwire --config my.toml sync",
    "demo": "chipwire demo --database-url sqlite:///demo.db",
    "deliveries": "chipwire deliveries --target discord:123456789 --article 42",
    "companies": "chipwire companies --json",
    "latest": "chipwire latest 华为 --count 5",
    "search": 'chipwire search "export controls" --company nvidia --days 30',
}


class _DefaultsShown(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help when it has a real default not yet named."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            default in (None, False, argparse.SUPPRESS)
            or "default" in text
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


def _explain(commands: Any, prefix: str = "") -> None:
    """Every subcommand's --help: what it does, each option's default, and an example."""
    helps = {action.dest: action.help for action in commands._choices_actions}
    for name, sub in commands.choices.items():
        sub.formatter_class = _DefaultsShown
        if sub.description is None:
            sub.description = helps.get(name)
        example = EXAMPLES.get(f"{prefix}{name}")
        if example and sub.epilog is None:
            sub.epilog = f"example: {example}"
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                _explain(action, f"{prefix}{name} ")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.settings import ConfigError
    from bot.store.errors import StoreError

    set_up_logs(args, "kv")
    handler = _HANDLERS[args.command]
    try:
        return asyncio.run(handler(args))
    except ConfigError as exc:
        return _fail(f"config: {exc}", EXIT_CONFIG)
    except StoreError as exc:
        from bot.store.failures import StoreFailure  # loaded by then: a store was opened

        if isinstance(exc, StoreFailure):  # unreachable, unwritable, corrupt or locked
            return _fail(str(exc), EXIT_STORE)  # it says what to do
        return _fail(
            f"store: {exc}. Check --database-url / CHIPWIRE_DATABASE_URL and that the "
            "database is reachable and writable.",
            EXIT_STORE,
        )
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:  # `chipwire … | head`: the reader left; no traceback for that
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def set_up_logs(args: argparse.Namespace, fmt: str) -> None:
    """ChipWire's own lines at INFO (one per poll cycle, failure and delivery), -q warnings
    only, -v debug; the libraries (Alembic, APScheduler, aiohttp, discord) stay below warning
    unless -vv asks for them."""
    from bot.ops.logs import configure_logging

    verbose = getattr(args, "verbose", 0)
    configure_logging(fmt, logging.DEBUG if verbose >= 2 else logging.WARNING)
    own = logging.WARNING if getattr(args, "quiet", False) else logging.INFO
    logging.getLogger("bot").setLevel(logging.DEBUG if verbose else own)


def _fail(message: str, code: int, stream: TextIO | None = None) -> int:
    print(f"chipwire: error: {message}", file=stream or sys.stderr)
    return code


def _settings(args: argparse.Namespace) -> Settings:
    from bot.commands.resolve import checked_settings
    from bot.settings import load_settings

    return checked_settings(load_settings(args.config, args.database_url))


async def _with_app(
    args: argparse.Namespace,
    work: Callable[[App], Awaitable[int]],
    *,
    running: str | None = None,
) -> int:
    """Build the app and run `work` on it. `running` names a command that polls and writes
    (run, poll): it holds the SQLite store's lock and first makes sure the store is writable."""
    from contextlib import nullcontext

    from bot.app import build_app, make_sqlite_folder
    from bot.store.lock import running_lock

    settings = _settings(args)
    make_sqlite_folder(settings.database_url)  # the lock file goes beside the database
    with running_lock(settings.database_url, running) if running else nullcontext():
        app = await build_app(settings)
        async with app:
            if running:
                await app.store.probe_write()
            return await work(app)


async def cmd_poll(args: argparse.Namespace) -> int:
    from bot.platforms.console import ingest_report as console

    if not args.once:
        return await cmd_run(args)

    async def work(app: App) -> int:
        for line in (await app.sync_config()).report():
            console.emit(sys.stdout, line)
        # paused feeds stay out; the parse pool starts with the first body to parse
        feeds = [f for f in await app.store.list_feeds() if not f.paused]
        await console.poll_with_report(app.poll_context(), feeds, sys.stdout)
        return EXIT_OK

    return await _with_app(args, work, running="poll --once")


async def cmd_run(args: argparse.Namespace) -> int:
    from bot.run import run_forever

    async def work(app: App) -> int:
        if app.settings.ops.log_format == "json":
            set_up_logs(args, "json")
        await run_forever(
            app,
            tick_seconds=max(5, args.tick),
            out=sys.stdout,
            slack_mode=getattr(args, "slack_mode", "socket"),
            port=getattr(args, "port", None),
        )
        return EXIT_OK

    return await _with_app(args, work, running=args.command)


async def cmd_feeds(args: argparse.Namespace) -> int:
    async def work(app: App) -> int:
        return await _FEED_ACTIONS[args.feeds_command](app, args)

    return await _with_app(args, work)


async def _feeds_list(app: App, args: argparse.Namespace) -> int:
    from bot.ingest.feedhealth import summary_flags
    from bot.platforms.console import ingest_report as console

    summaries = await app.store.feed_summaries()
    now = app.clock()

    def flags(summary: FeedSummary) -> tuple[str, ...]:
        return summary_flags(summary, now, app.settings.ops)

    if args.json:
        listing = [console.feed_json(s, flags(s)) for s in summaries]
        print(json.dumps(listing, indent=2, ensure_ascii=False))
    else:
        console.print_feed_table(summaries, sys.stdout, flags)
    return EXIT_OK


async def _feeds_add(app: App, args: argparse.Namespace) -> int:
    from bot.ingest.urlsafety import check_url_scheme
    from bot.models import FeedConfig
    from bot.settings import MIN_INTERVAL
    from bot.store.errors import StoreError

    problem = check_url_scheme(args.url)
    if problem:
        return _fail(f"{problem}. Give a full http(s) URL such as https://example.com/feed.xml.", 2)
    if args.interval < MIN_INTERVAL:
        return _fail(f"--interval must be at least {MIN_INTERVAL} seconds.", EXIT_CONFIG)
    private = None if args.allow_private_address else await _private_address(args.url)
    if private:
        return _fail(
            f"{private}; ChipWire refuses private addresses unless asked. If you host this "
            "feed yourself, add it with --allow-private-address (for that host and port only).",
            EXIT_CONFIG,
        )
    feed = FeedConfig(
        url=args.url,
        name=args.name or (_host(args.url)),
        language=args.language,
        interval=args.interval,
        allow_private_address=args.allow_private_address,
    )
    try:
        state = await app.store.add_feed(feed, "cli", app.clock())
    except StoreError as exc:
        from bot.store.failures import StoreFailure

        if isinstance(exc, StoreFailure):
            raise
        return _fail(f"{exc}; nothing changed.", EXIT_CONFIG)
    print(f"added feed {state.id}: {state.name} <{state.url}>; it is polled on the next run.")
    return EXIT_OK


async def _feeds_import(app: App, args: argparse.Namespace) -> int:
    """OPML in, with `feeds add`'s rules for every URL: http(s) with a host, private addresses
    refused at fetch time unless --allow-private-address; one bad entry never stops the rest."""
    from bot.ingest.opml import OpmlError, read_opml
    from bot.ingest.urlsafety import check_url_scheme
    from bot.models import FeedConfig
    from bot.settings import MIN_INTERVAL
    from bot.store.errors import StoreError
    from bot.store.failures import StoreFailure

    if args.interval < MIN_INTERVAL:
        return _fail(f"--interval must be at least {MIN_INTERVAL} seconds.", EXIT_CONFIG)
    try:
        found = read_opml(args.file.read_bytes())
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}", EXIT_CONFIG)
    except OpmlError as exc:
        return _fail(f"{args.file}: {exc}; export the list again as OPML 1.0/2.0.", EXIT_CONFIG)
    if not found:
        return _fail(f"{args.file} lists no feeds (no outline has an xmlUrl).", EXIT_CONFIG)
    added = known = refused = 0
    for entry in found:
        problem = check_url_scheme(entry.url)
        if problem:
            refused += 1
            print(f"refused {entry.url!r}: {problem}")
            continue
        feed = FeedConfig(
            url=entry.url,
            name=entry.title or _host(entry.url),
            language=entry.language,
            interval=args.interval,
            allow_private_address=args.allow_private_address,
        )
        try:
            state = await app.store.add_feed(feed, "cli", app.clock())
        except StoreFailure:
            raise  # the store itself failed: main() says what to do, nothing more is tried
        except StoreError as exc:
            known += 1
            print(f"skipped: {exc}")
            continue
        added += 1
        print(f"added feed {state.id}: {state.name} <{state.url}>")
    print(
        f"imported {added} of {len(found)} feeds from {args.file} "
        f"({known} already stored, {refused} refused); they are polled on the next run."
    )
    return EXIT_OK


async def _feeds_export(app: App, args: argparse.Namespace) -> int:
    """The URL a feed is fetched from now (after a move) is what another reader needs."""
    from bot.ingest.opml import ExportedFeed, write_opml

    stored = await app.store.list_feeds()
    exported = [ExportedFeed(f.poll_url, f.name, f.language) for f in stored]
    document = write_opml(exported, app.clock())
    if args.out is None:
        sys.stdout.write(document.decode("utf-8"))
        return EXIT_OK
    try:
        args.out.write_bytes(document)
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror or exc}", EXIT_CONFIG)
    print(f"wrote {len(exported)} feeds to {args.out}")
    return EXIT_OK


async def _feeds_remove(app: App, args: argparse.Namespace) -> int:
    from bot.commands.binding import CommandError
    from bot.commands.feeds import remove_feed

    try:
        removed = await remove_feed(app.store, app.settings, args.id, str(app.settings.config_path))
    except CommandError as exc:
        return _fail(" ".join((exc.message, *exc.hints)), EXIT_CONFIG)
    print(f"removed feed {removed.id}: {removed.name} <{removed.url}> (its articles stay stored)")
    return EXIT_OK


async def _private_address(url: str) -> str | None:
    """Why the URL's host is loopback/private/link-local, or None (unresolvable: the poll
    says so). The fetcher checks again at every poll; this is so `feeds add` tells at once."""
    import socket
    from urllib.parse import urlsplit

    from bot.ingest.urlsafety import forbidden_reason, parse_ip

    host = urlsplit(url).hostname or ""
    literal = parse_ip(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError:
            return None
        addresses = [ip for info in found if (ip := parse_ip(str(info[4][0]))) is not None]
    for ip in addresses:
        reason = forbidden_reason(ip)
        if reason is not None:
            return (
                f"host {host} is {reason}"
                if literal is not None
                else f"host {host} resolves to {ip} ({reason})"
            )
    return None


async def _feeds_edit(app: App, args: argparse.Namespace) -> int:
    from bot.commands.feeds import owned_by_file
    from bot.settings import MIN_INTERVAL

    feed = await app.store.get_feed(args.id)
    if feed is None:
        return _fail(f"no feed with id {args.id}; 'chipwire feeds list' shows the ids.", 2)
    if owned_by_file(feed, app.settings):
        return _fail(
            f"feed {feed.id} <{feed.url}> belongs to {app.settings.config_path}: change its "
            "[[feeds]] entry there, then run 'chipwire sync' (pause and resume work here).",
            EXIT_CONFIG,
        )
    changes: dict[str, Any] = {}
    if args.name is not None:
        if not args.name.strip():
            return _fail("--name must not be empty.", EXIT_CONFIG)
        changes["name"] = args.name.strip()
    if args.interval is not None:
        if args.interval < MIN_INTERVAL:
            return _fail(f"--interval must be at least {MIN_INTERVAL} seconds.", EXIT_CONFIG)
        changes["interval"] = args.interval
    if args.allow_private_address is not None:
        changes["allow_private_address"] = args.allow_private_address
    if not changes:
        return _fail("nothing to change: give --name, --interval or --allow-private-address.", 2)
    edited = await app.store.edit_feed(feed.id, **changes)
    assert edited is not None
    print(
        f"feed {edited.id}: {edited.name} <{edited.url}>, every {edited.interval} s"
        + (", private address allowed" if edited.allow_private_address else "")
    )
    return EXIT_OK


async def _feeds_pause(app: App, args: argparse.Namespace) -> int:
    pausing = args.feeds_command == "pause"
    edited = await app.store.edit_feed(args.id, paused=pausing)
    if edited is None:
        return _fail(f"no feed with id {args.id}; 'chipwire feeds list' shows the ids.", 2)
    state = "paused: kept and listed, not polled" if pausing else "resumed: polled again"
    print(f"feed {edited.id}: {edited.name} {state}")
    return EXIT_OK


_FEED_ACTIONS: dict[str, Callable[[App, argparse.Namespace], Awaitable[int]]] = {
    "list": _feeds_list,
    "add": _feeds_add,
    "import": _feeds_import,
    "export": _feeds_export,
    "remove": _feeds_remove,
    "edit": _feeds_edit,
    "pause": _feeds_pause,
    "resume": _feeds_pause,
}


async def cmd_check(args: argparse.Namespace) -> int:
    """Validate the config and look at the store without changing either."""
    from bot.store.inspect import inspect_store

    settings = _settings(args)
    print(f"config ok: {settings.config_path} ({len(settings.feeds)} feeds)")
    report = await inspect_store(settings.database_url, settings.feeds, settings.subscriptions)
    for line in _store_lines(report):
        print(line)
    print(_chat_line(settings))
    if report.not_writable:
        return EXIT_STORE
    if getattr(args, "feeds", False):
        return await _check_feeds(settings)
    return EXIT_OK


async def _check_feeds(settings: Settings) -> int:
    from bot.app import fetch_limits
    from bot.ingest.fetch import Fetcher
    from bot.ingest.probe import probe_feeds, probe_line, probe_summary

    async with Fetcher(fetch_limits(settings)) as fetcher:
        probes = await probe_feeds(fetcher, settings.feeds)
    for probe in probes:
        print(probe_line(probe), flush=True)
    print(probe_summary(probes))
    return EXIT_OK if all(probe.ok for probe in probes) else EXIT_NOTHING


def _store_lines(report: StoreReport) -> list[str]:
    if not report.exists:
        return [
            f"store: none yet at {report.url}; 'chipwire sync' or 'chipwire run' creates it "
            f"and adds the config's feeds and subscriptions"
        ]
    if not report.current:
        return [
            f"store: {report.url} ({report.dialect}) is at schema revision {report.revision}; "
            "'chipwire sync' or 'chipwire run' brings it up to date first"
        ]
    if report.not_writable:
        return [
            f"store NOT writable: {report.url} ({report.dialect}): {report.not_writable}. "
            "The bot could read it but would store nothing; fix the permissions or the URL."
        ]
    lines = [
        f"store ok: {report.url} ({report.dialect}); "
        f"{report.feeds} feeds, {report.articles} articles"
    ]
    if report.failing_feeds:
        lines.append(f"{report.failing_feeds} feeds are failing; 'chipwire feeds list' shows why.")
    assert report.plan is not None
    lines += _plan_lines(report.plan, "'chipwire sync' would")
    return lines


def _plan_lines(plan: SyncPlan, verb: str) -> list[str]:
    if plan.empty:
        lines = ["config and store agree: nothing to sync"]
    else:
        lines = [f"{verb}: {plan.summary()}", *(f"  {line}" for line in plan.lines())]
    lines += [f"  left alone: {thing} is not the config file's" for thing in plan.not_owned]
    return lines


async def cmd_sync(args: argparse.Namespace) -> int:
    """Make the store's config-owned feeds and subscriptions match the config file."""

    async def work(app: App) -> int:
        await app.store.probe_write()  # a read-only store must not look "in sync"
        plan = await app.sync_config()
        for line in _plan_lines(plan, f"synced {app.settings.config_path.name}"):
            print(line)
        return EXIT_OK

    return await _with_app(args, work)


def _chat_line(settings: Settings) -> str:
    """Which platforms `chipwire run` would start (names only: no value is ever printed)."""

    from bot.ops.secrets import credentials_for

    found = credentials_for(settings, os.environ)
    platforms = []
    if found.discord_token:
        platforms.append("Discord")
    if found.slack_bot_token:
        mode = "Socket Mode" if found.slack_app_token else "HTTP mode only (no SLACK_APP_TOKEN)"
        platforms.append(f"Slack, {mode}")
    if not platforms:
        return "chat: no tokens set; chipwire run posts to the console"
    return "chat: " + "; ".join(platforms)


def _classifier(settings: Settings) -> Classifier:
    from bot.classify.catalog import CatalogError, load_catalog
    from bot.classify.classifier import Classifier
    from bot.settings import ConfigError

    try:
        catalog = load_catalog(extra=settings.catalog_path)
    except CatalogError as exc:
        raise ConfigError(str(exc)) from None
    return Classifier.from_catalog(catalog, threshold=settings.relevance_threshold)


async def cmd_classify(args: argparse.Namespace) -> int:
    from bot.classify.jsonl import classify_stream

    classify_stream(sys.stdin, sys.stdout, _classifier(_settings(args)))
    return EXIT_OK


async def cmd_eval(args: argparse.Namespace) -> int:
    from bot.classify.evaluate import evaluate, format_report, load_labelled
    from bot.classify.jsonl import DEFAULT_LABELLED
    from bot.classify.report import format_full, full_report

    classifier = _classifier(_settings(args))
    path = Path(args.data) if args.data else DEFAULT_LABELLED
    try:
        items = load_labelled(path)
        full = None if args.data else full_report(classifier, args.part, _corpora(args))
    except (OSError, ValueError) as exc:
        return _fail(f"cannot read a labelled set: {exc}", EXIT_CONFIG)
    report = evaluate(items, classifier)
    if full is None:
        print(format_report(report))
        return EXIT_OK if report.meets_targets else 1
    print(format_full(full))
    print(f"\nthe set written by us ({path.name}, tuned on; companies at any salience):")
    print(format_report(report))
    return EXIT_OK if full.meets_targets else 1


def _corpora(args: argparse.Namespace) -> Path | None:
    return Path(args.corpora) if args.corpora else None


async def cmd_reclassify(args: argparse.Namespace) -> int:
    settings = _settings(args)
    classifier = _classifier(settings)
    store = await _open_store(settings)
    try:
        done = relevant = 0
        async for batch in store.article_texts():
            verdicts = [(a.id, classifier.classify(a.title, a.summary, a.language)) for a in batch]
            await store.set_classifications(verdicts)
            done += len(verdicts)
            relevant += sum(1 for _, verdict in verdicts if verdict.relevant)
    finally:
        await store.close()
    print(f"reclassified {done} articles: {relevant} relevant")
    return EXIT_OK


async def cmd_why(args: argparse.Namespace) -> int:
    from bot.app import company_names
    from bot.commands.articles import article_reference, no_article, why_lines
    from bot.platforms.console import ingest_report as console

    settings = _settings(args)
    store = await _open_store(settings)
    try:
        found = await store.find_article(article_reference(args.article))
    finally:
        await store.close()
    if found is None:
        return _fail(" ".join(no_article(args.article)), 2)
    names = company_names(settings)
    print(console.why_text(found, why_lines(found, names)))
    return EXIT_OK


async def _open_store(settings: Settings) -> Store:
    from bot.app import make_sqlite_folder
    from bot.store.repo import Store

    make_sqlite_folder(settings.database_url)
    return await Store.open(settings.database_url)


MAX_SINCE = timedelta(days=36500)


def parse_since(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", text)
    if not match or int(match[1]) == 0:
        raise ValueError(f"--since {text!r} is not a duration; use e.g. 90m, 24h or 7d")
    try:
        window = timedelta(**{_UNITS[match[2]]: int(match[1])})
    except OverflowError:
        window = MAX_SINCE * 2
    if window > MAX_SINCE:
        raise ValueError(f"--since {text!r} reaches back too far; at most {MAX_SINCE.days}d")
    return window


_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


async def cmd_digest(args: argparse.Namespace) -> int:
    from bot.commands.subscriptions import preview_subscription
    from bot.digest.deliver import compose_digest
    from bot.settings import ConfigError

    try:
        window = parse_since(args.since)
    except ValueError as exc:
        return _fail(str(exc), EXIT_CONFIG)

    async def work(app: App) -> int:
        try:
            company = _company_id(app, args.company) if args.company else None
        except ConfigError as exc:
            return _fail(str(exc), EXIT_CONFIG)
        subscriptions = {s.id: s for s in await app.store.list_subscriptions()}
        if args.subscription is not None and args.subscription not in subscriptions:
            known = ", ".join(map(str, subscriptions)) or "none yet"
            return _fail(f"no subscription {args.subscription} (known: {known}).", EXIT_CONFIG)
        subscription = subscriptions.get(args.subscription) or preview_subscription(
            "preview", app.settings
        )
        now = app.clock()
        ctx = app.delivery_context({})
        digest = await compose_digest(
            ctx,
            subscription,
            now - window,
            now,
            company=company,
            include_history=args.include_history,
        )
        if args.json:
            print(json.dumps(digest_json(digest), indent=2, ensure_ascii=False))
            return EXIT_OK
        print(render_digest(digest, app.company_names, args.format))
        if not digest.stories and not args.include_history and args.format == "console":
            kept = await compose_digest(
                ctx, subscription, now - window, now, company=company, include_history=True
            )
            if kept.stories:
                print(
                    f"note: {len(kept.stories)} stories in this window came from first polls, "
                    "which are kept as history and never posted; "
                    "'chipwire digest --include-history' shows them."
                )
        return EXIT_OK

    return await _with_app(args, work)


def digest_json(digest: Digest) -> dict[str, Any]:
    return {
        "title": digest.title,
        "period_start": digest.period_start.isoformat(),
        "period_end": digest.period_end.isoformat(),
        "timezone": digest.timezone,
        "empty_note": digest.empty_note,
        "sections": [
            {
                "heading": section.heading,
                "stories": [
                    {
                        "key": story.key,
                        "title": story.title,
                        "url": story.url,
                        "published_at": story.published_at.isoformat(),
                        "language": story.language,
                        "companies": list(story.companies),
                        "score": story.score,
                        "sources": list(story.sources),
                        "article_ids": list(story.article_ids),
                    }
                    for story in section.stories
                ],
            }
            for section in digest.sections
        ],
    }


def article_json(article: StoredArticle) -> dict[str, Any]:
    return {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "summary": article.summary,
        "published_at": article.published_at.isoformat(),
        "language": article.language,
        "source": article.source,
        "relevant": article.relevant,
        "score": article.score,
        "companies": list(article.companies),
        "history": article.is_history,
    }


def _print_articles(articles: Sequence[StoredArticle], as_json: bool, empty: str) -> None:
    if as_json:
        print(json.dumps([article_json(a) for a in articles], indent=2, ensure_ascii=False))
        return
    for a in articles:
        about = ", ".join(a.companies) or "-"
        print(f"#{a.id:<6} {a.published_at:%Y-%m-%d %H:%M}  {a.title}  ({about}; {a.source})")
        print(f"        {a.url}")
    if not articles:
        print(empty)


async def cmd_latest(args: argparse.Namespace) -> int:
    async def work(app: App) -> int:
        from bot.settings import ConfigError

        try:
            company = _company_id(app, args.company) if args.company else None
        except ConfigError as exc:
            return _fail(str(exc), EXIT_CONFIG)
        count = max(1, min(args.count, 100))
        threshold = app.settings.relevance_threshold
        found = await app.store.latest_articles(company, limit=count, min_score=threshold)
        _print_articles(found, args.json, "no relevant articles stored yet: 'chipwire poll --once'")
        return EXIT_OK

    return await _with_app(args, work)


async def cmd_search(args: argparse.Namespace) -> int:
    async def work(app: App) -> int:
        from bot.settings import ConfigError

        try:
            company = _company_id(app, args.company) if args.company else None
        except ConfigError as exc:
            return _fail(str(exc), EXIT_CONFIG)
        if args.days is not None and not 1 <= args.days <= 36500:
            return _fail("--days must be from 1 to 36500.", EXIT_CONFIG)
        since = app.clock() - timedelta(days=args.days) if args.days else None
        found = await app.store.search(
            " ".join(args.words), max(1, min(args.count, 100)), company=company, since=since
        )
        _print_articles(found, args.json, "nothing found")
        return EXIT_OK

    return await _with_app(args, work)


def _company_id(app: App, name: str) -> str:
    """A company as the user typed it (alias, language, ticker) → its id; ConfigError if none."""
    from bot.commands.resolve import load_index

    return load_index(app.settings.catalog_path).resolve_all([name], "--company")[0]


def render_digest(digest: Digest, names: Mapping[str, str], form: str) -> str:
    if form == "discord":
        from bot.platforms.discord.render import render_discord

        return json.dumps(render_discord(digest, names), indent=2, ensure_ascii=False)
    if form == "slack":
        from bot.platforms.slack.render import render_slack

        return json.dumps(render_slack(digest, names), indent=2, ensure_ascii=False)
    from bot.platforms.console.render import render_console

    return render_console(digest, names) or "(nothing to show)"


async def cmd_ask(args: argparse.Namespace) -> int:
    from bot.commands.messages import join_words
    from bot.platforms.console.commands import answer_text, ask_reply, standalone_reply

    text = args.text[0] if len(args.text) == 1 else join_words(args.text)
    answer = standalone_reply(text)
    if answer is not None:  # `ask help`: no store, config or network to open
        print(answer_text(answer, args.out_dir))
        return EXIT_CONFIG if answer.error else EXIT_OK

    async def work(app: App) -> int:
        reply = await ask_reply(app.command_context(), text)
        print(answer_text(reply, args.out_dir))
        return EXIT_CONFIG if reply.error else EXIT_OK

    return await _with_app(args, work)


async def cmd_trend(args: argparse.Namespace) -> int:
    words = ["trend", *args.companies, *([str(args.days)] if args.days is not None else [])]
    return await _chart_command(args, words)


async def cmd_share(args: argparse.Namespace) -> int:
    return await _chart_command(
        args, ["share", *([str(args.days)] if args.days is not None else [])]
    )


async def _chart_command(args: argparse.Namespace, words: list[str]) -> int:
    """`trend` and `share` run the chat command's own handler and write its chart.
    Exit 0: written; 1: nothing to draw in the window; 2: bad arguments or config."""
    from bot.commands.messages import join_words
    from bot.platforms.console.commands import ask_reply
    from bot.platforms.console.render import render_reply

    async def work(app: App) -> int:
        reply = await ask_reply(app.command_context(), join_words(words))
        print(render_reply(reply), end="")
        if reply.error:
            return EXIT_CONFIG
        if reply.attachment is None:
            return EXIT_NOTHING
        path = args.out or Path(reply.attachment.filename)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(reply.attachment.data)
        except OSError as exc:
            return _fail(f"cannot write {path}: {exc.strerror or exc}", EXIT_CONFIG)
        print(f"chart: {path}")
        return EXIT_OK

    return await _with_app(args, work)


async def cmd_discord(args: argparse.Namespace) -> int:
    from bot.ops.secrets import credentials_for

    credentials = credentials_for(_settings(args), os.environ)
    if not credentials.discord_token:
        return _fail(
            "DISCORD_TOKEN is not set; export the bot token from the Discord developer portal, "
            "or put it in the file [chat] secrets_file names (see deploy/README.md).",
            EXIT_CONFIG,
        )
    from bot.platforms.discord.commands import sync_commands

    token, api_url = credentials.discord_token, credentials.discord_api_url
    count = await sync_commands(token, args.guild, api_url)
    where = f"server {args.guild}" if args.guild else "all servers (may take up to an hour)"
    print(f"registered {count} slash commands for {where}")
    return EXIT_OK


async def cmd_deliveries(args: argparse.Namespace) -> int:
    async def work(app: App) -> int:
        posts = await app.store.delivery_posts(
            target=args.target, article_id=args.article, limit=max(1, args.limit)
        )
        verdicts = None
        if args.article is not None:
            verdicts = await app.store.article_verdicts(args.article, args.target)
            if verdicts is None:
                return _fail(
                    f"no stored article {args.article}; 'chipwire ask latest' shows ids.", 2
                )
        if args.json:
            print(json.dumps(_deliveries_json(posts, verdicts), indent=2, ensure_ascii=False))
            return EXIT_OK
        for post in posts:
            when = post.sent_at or post.queued_at
            error = f" ({post.last_error})" if post.last_error and post.state != "sent" else ""
            print(
                f"{when:%Y-%m-%d %H:%M} {post.kind:<6} {post.target:<24} {post.state:<6} "
                f"{len(post.article_ids)} articles{error}"
            )
        if not posts:
            print("nothing recorded yet" + (f" for {args.target}" if args.target else ""))
        for verdict in verdicts or ():
            print(f"article {args.article} → {verdict.target}: {verdict.reason}")
        if verdicts == []:
            print(
                f"article {args.article}: no subscription"
                + (f" for {args.target}" if args.target else "")
            )
        return EXIT_OK

    return await _with_app(args, work)


def _deliveries_json(posts: Sequence[Any], verdicts: Sequence[Any] | None) -> dict[str, Any]:
    def iso(moment: Any) -> str | None:
        return moment.isoformat() if moment is not None else None

    found: dict[str, Any] = {
        "posts": [
            {
                "id": p.id,
                "kind": p.kind,
                "target": p.target,
                "state": p.state,
                "queued_at": iso(p.queued_at),
                "sent_at": iso(p.sent_at),
                "article_ids": list(p.article_ids),
                "attempts": p.attempts,
                "last_error": p.last_error,
            }
            for p in posts
        ]
    }
    if verdicts is not None:
        found["article"] = [
            {"target": v.target, "sent": v.sent, "reason": v.reason} for v in verdicts
        ]
    return found


async def cmd_companies(args: argparse.Namespace) -> int:
    """What `--company`, chat and `[[subscriptions]] companies` accept, per company."""
    from bot.classify.catalog import CatalogError, load_catalog
    from bot.settings import ConfigError

    settings = _settings(args)
    try:
        catalog = load_catalog(extra=settings.catalog_path)
    except CatalogError as exc:
        raise ConfigError(str(exc)) from None
    listing = [
        {
            "id": c.id,
            "name": c.name,
            "aliases": sorted(set(c.all_names) - {c.name}),
            "tickers": list(c.tickers),
        }
        for c in sorted(catalog.companies, key=lambda c: c.id)
    ]
    if args.json:
        print(json.dumps(listing, indent=2, ensure_ascii=False))
        return EXIT_OK
    for entry in listing:
        tickers = (t.split(":", 1)[1] for t in entry["tickers"])
        also = [n for n in dict.fromkeys([*entry["aliases"], *tickers]) if n != entry["name"]]
        print(f"{entry['id']:<16} {entry['name']}" + (f"  ({', '.join(also)})" if also else ""))
    return EXIT_OK


async def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return await run_demo(args.config, args.database_url, sys.stdout)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or url


_HANDLERS: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "run": cmd_run,
    "poll": cmd_poll,
    "feeds": cmd_feeds,
    "check": cmd_check,
    "sync": cmd_sync,
    "digest": cmd_digest,
    "ask": cmd_ask,
    "trend": cmd_trend,
    "share": cmd_share,
    "discord": cmd_discord,
    "classify": cmd_classify,
    "eval": cmd_eval,
    "reclassify": cmd_reclassify,
    "why": cmd_why,
    "demo": cmd_demo,
    "companies": cmd_companies,
    "deliveries": cmd_deliveries,
    "latest": cmd_latest,
    "search": cmd_search,
}
