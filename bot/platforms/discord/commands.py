"""Slash commands: a Discord interaction → `Command` → `dispatch` → `Reply` → embeds.

The commands come from the one registry, `bot.commands.table.commands()`. Discord lets a default
permission be set only on a top-level command, so the table splits in two groups:

* `/chipnews <command>` for everyone, in servers and the bot's DMs;
* `/chipnews-admin <command>` for the admin-only commands (subscribe, unsubscribe, feeds), in
  servers only, with Manage Server as the default member permission. Discord itself decides who
  may use it, so what a server admin grants in Server Settings → Integrations holds; there is no
  second check here.

Each command's callback is built from its `CommandSpec` with discord.py's own decorators
(`describe`, `rename`, `choices`, `autocomplete`) on a generated signature, so discord.py
validates and serialises the options itself; a ranged int or float is an `app_commands.Range`,
registered with min_value/max_value. The typed option values go to the table's binder as they
are (`Command.options`), never back through words: `company:2330` is TSMC's ticker, not a count.
A `company` option that takes several names (`subscribe companies:`) is read like a chat line,
so quote a name with a space: `"Intel Foundry" nvidia`.

Answering: what is wrong before the command runs (no channel; `subscribe` where the bot lacks a
permission a digest needs) is answered privately at once. A reply ready within `DEFER_AFTER` is
the interaction's response, as private as the reply says; a slower one is deferred first
(privately for the `PRIVATE` commands) and then edits the deferred response. Should Discord refuse
the answer (a URL it calls malformed, an upload too large), its refusal is shown instead, and the
tree's error handler answers whatever else failed: "thinking…" never stays.

A reply's chart goes in the same answer as a file, shown inside the first embed; one larger than
the interaction's upload limit is left out and the reply says so.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands

from bot.commands.binding import Param
from bot.commands.messages import Card, Command, Moment, Phrase, Reply, error_reply
from bot.commands.table import GENERIC_ERROR, CommandSpec, Context, commands, dispatch
from bot.platforms.discord.poster import _RoutedHTTPClient, chart_file
from bot.platforms.discord.render import (
    CHART_TOO_LARGE,
    COLOUR,
    MAX_DESCRIPTION,
    MAX_EMBEDS,
    MAX_FIELD_NAME,
    MAX_FIELD_VALUE,
    MAX_FIELDS,
    MAX_FILE,
    MAX_TITLE,
    MAX_TOTAL,
    chart_fits,
    escape_markdown,
    image_url,
    link_url,
    timestamp,
)
from bot.text import fit, linkable, one_line, text_len, truncate

log = logging.getLogger(__name__)

ContextFactory = Callable[[], Context]

GROUP = "chipnews"
ADMIN_GROUP = "chipnews-admin"
GROUP_HELP = "AI-chip news: latest stories, company cards, search, digests"
ADMIN_GROUP_HELP = "ChipWire admin: digest subscriptions and feeds (Manage Server)"
ADMIN_PERMISSIONS = discord.Permissions(manage_guild=True)

# Commands whose replies are always private: their "thinking…" placeholder is private too.
PRIVATE = frozenset({"help", "subscriptions", "digest", "feeds"})
# Discord wants an interaction answered within 3 s; a reply not ready by then is deferred first.
DEFER_AFTER = 1.5
SUBSCRIBE = "subscribe"
# What a digest needs in its channel: (discord.py's name, the name in Discord's settings).
POSTING_PERMISSIONS = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
    ("attach_files", "Attach Files"),
)
TOO_LARGE = 40005  # Request entity too large

MAX_NAME = 32
MAX_HELP = 100
MAX_CHOICE = 100
ERROR_COLOUR = 0xED4245
CARD_BODY = 1000  # a card's summary; the message-wide 6,000 limits the total anyway
CARD_FIELD_VALUE = 300
MORE_RESERVE = 80  # room kept in the header for the "N more not shown" line
_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")


# options -------------------------------------------------------------------------------------


def option_name(name: str) -> str:
    """A Discord option/command name (^[-_a-z0-9]{1,32}$) for a table name."""
    cleaned = re.sub(r"[^-_a-z0-9]", "-", name.lower())[:MAX_NAME]
    if not _NAME.fullmatch(cleaned):
        raise ValueError(f"cannot make a Discord name of {name!r}")
    return cleaned


def _help(text: str) -> str:
    return truncate(one_line(text), MAX_HELP) or "…"


def _annotation(param: Param) -> Any:
    """The option's type; a declared range becomes Discord's min_value/max_value."""
    base: Any = str
    if param.kind == "int":
        low = int(param.low) if param.low is not None else None
        high = int(param.high) if param.high is not None else None
        base = app_commands.Range[int, low, high] if (low, high) != (None, None) else int
    elif param.kind == "float":
        ranged = (param.low, param.high) != (None, None)
        base = app_commands.Range[float, param.low, param.high] if ranged else float
    return base if param.required else base | None


# autocomplete --------------------------------------------------------------------------------


def company_choices(
    ctx: Context, current: str, *, many: bool = False
) -> list[app_commands.Choice[str]]:
    """Choices for a company option; with `many`, the last word is completed, earlier kept."""
    before, last = _completed_part(ctx, current) if many else ("", current)
    choices = []
    for company_id, label in ctx.companies.suggest(last):
        value = before + company_id
        if text_len(value) > MAX_CHOICE:
            continue
        name = truncate(one_line(before + label), MAX_CHOICE) or company_id
        choices.append(app_commands.Choice(name=name, value=value))
    return choices


def _completed_part(ctx: Context, current: str) -> tuple[str, str]:
    """(kept words, the name being typed): the longest run of last words that starts a known
    name, so "nvidia SK hyn" completes "SK hyn", not "hyn"."""
    if current.endswith(" "):  # a new name begins
        return current, ""
    words = current.split(" ")
    for start in range(len(words)):
        tail = " ".join(words[start:])
        if tail.strip() and ctx.companies.suggest(tail, limit=1):
            head = " ".join(words[:start])
            return (f"{head} " if head.strip() else ""), tail
    return "", current


def _autocompleter(
    context_factory: ContextFactory, many: bool
) -> Callable[[discord.Interaction, str], Awaitable[list[app_commands.Choice[str]]]]:
    async def complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            return company_choices(context_factory(), current, many=many)
        except Exception:
            log.exception("company autocomplete failed")
            return []

    return complete


# the callback --------------------------------------------------------------------------------


def is_admin(interaction: discord.Interaction, spec: CommandSpec) -> bool:
    """An admin command reached us, so Discord let this member use it: Manage Server by default
    (`default_permissions`), or whoever a server admin allowed in Server Settings → Integrations.
    Checking a permission here again would refuse the members those overrides allow."""
    return spec.admin and interaction.guild_id is not None


def missing_permissions(granted: discord.Permissions) -> list[str]:
    """The permissions a digest needs in its channel that the bot lacks there, by their names
    in Discord's channel settings."""
    return [label for name, label in POSTING_PERMISSIONS if not getattr(granted, name)]


def refusal(interaction: discord.Interaction, spec: CommandSpec) -> Reply | None:
    """What is wrong before the command runs (answered privately at once), else None."""
    if interaction.channel_id is None:  # never "discord:None": it would be a subscription target
        return error_reply("I cannot tell which channel this is.", "Run it from a channel.")
    if spec.name == SUBSCRIBE:
        missing = missing_permissions(interaction.app_permissions)
        if missing:
            return error_reply(
                f"I cannot post digests here: I lack {', '.join(missing)} in this channel.",
                "Allow them for ChipWire in the channel's settings (Permissions), then subscribe "
                "again.",
            )
    return None


async def run_command(
    interaction: discord.Interaction,
    context_factory: ContextFactory,
    spec: CommandSpec,
    options: Mapping[str, object],
) -> Reply:
    """Answer the interaction; returns the reply meant to be shown. `options` by parameter name.

    A reply ready within `DEFER_AFTER` is the interaction's response, private or public as the
    reply says. A slower one is deferred first, private for the commands in `PRIVATE`, and then
    edits the deferred response, so it keeps the privacy the defer chose.
    """
    reply = refusal(interaction, spec)
    if reply is not None:
        await answer(interaction, reply)
        return reply
    command = Command(
        name=spec.name,
        args=(),
        channel=f"discord:{interaction.channel_id}",
        user=str(interaction.user.id),
        is_admin=is_admin(interaction, spec),
        options=options,
    )
    work = asyncio.ensure_future(_dispatch(context_factory, command))
    try:
        done, _ = await asyncio.wait({work}, timeout=DEFER_AFTER)
        if not done:
            await interaction.response.defer(ephemeral=spec.name in PRIVATE, thinking=True)
        reply = await work
    finally:
        work.cancel()  # a failed defer leaves nobody to show the reply to
    reply = within_upload_limit(reply, upload_limit(interaction))
    await answer(interaction, reply)
    return reply


async def _dispatch(context_factory: ContextFactory, command: Command) -> Reply:
    try:
        return await dispatch(context_factory(), command)
    except Exception:  # dispatch never raises; the context factory might
        log.exception("slash command %r failed", command.name)
        return error_reply(GENERIC_ERROR)


async def answer(interaction: discord.Interaction, reply: Reply) -> None:
    """Show `reply`: the response, or an edit of the deferred one. Should Discord refuse it, its
    refusal is shown instead, so "thinking…" never stays; a second refusal is logged."""
    try:
        await _show(interaction, reply)
        return
    except discord.HTTPException as exc:
        log.warning(
            "Discord refused a reply to %r: %s %s", _name(interaction), exc.status, exc.text
        )
        refused = refused_reply(exc)
    try:
        await _show(interaction, refused)
    except discord.HTTPException as exc:
        log.error("could not answer %r at all: %s %s", _name(interaction), exc.status, exc.text)


def _name(interaction: discord.Interaction) -> str:
    return interaction.command.qualified_name if interaction.command else "an interaction"


async def _show(interaction: discord.Interaction, reply: Reply) -> None:
    embeds = reply_embeds(reply)
    files = [chart_file(reply.attachment)] if reply.attachment else []
    mentions = discord.AllowedMentions.none()
    if interaction.response.is_done():  # deferred: the answer is an edit of that response
        await interaction.edit_original_response(
            embeds=embeds, attachments=files, allowed_mentions=mentions
        )
        return
    await interaction.response.send_message(
        embeds=embeds, files=files, ephemeral=reply.ephemeral, allowed_mentions=mentions
    )


def refused_reply(exc: discord.HTTPException) -> Reply:
    """Discord's refusal of a reply, said to the asker."""
    if exc.status == 413 or exc.code == TOO_LARGE:
        return error_reply(
            "Discord refused this reply: its chart is larger than this server's upload limit.",
            "Ask for fewer companies or a shorter period.",
        )
    detail = truncate(one_line(exc.text), MAX_HELP) if exc.text else f"HTTP {exc.status}"
    return error_reply(
        f"Discord refused this reply ({detail}).",
        "This is ChipWire's fault, not yours; the log has the details.",
    )


async def on_tree_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    """The tree's one error handler: whatever failed, the interaction gets an answer."""
    log.error("slash command %r failed", _name(interaction), exc_info=error)
    try:
        await answer(interaction, error_reply(GENERIC_ERROR))
    except Exception:  # answering is best effort here; the failure is logged above
        log.exception("could not tell the user that %r failed", _name(interaction))


def upload_limit(interaction: discord.Interaction) -> int:
    """The interaction's own limit (boosted servers allow more); discord.py < 2.6 lacks it."""
    return getattr(interaction, "filesize_limit", None) or MAX_FILE


def within_upload_limit(reply: Reply, limit: int) -> Reply:
    """The reply without a chart too large to attach, saying so first."""
    if reply.attachment is None or chart_fits(reply.attachment, limit):
        return reply
    return replace(reply, lines=(CHART_TOO_LARGE, *reply.lines), attachment=None)


def _callback(spec: CommandSpec, context_factory: ContextFactory) -> Any:
    """A coroutine with one keyword parameter per table parameter, decorated for discord.py."""

    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        given = {param.name: options.get(param.identifier) for param in spec.params}
        await run_command(interaction, context_factory, spec, given)

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    described: dict[str, str] = {}
    renamed: dict[str, str] = {}
    choices: dict[str, list[app_commands.Choice[str]]] = {}
    completers: dict[str, Any] = {}
    for param in spec.params:
        ident = param.identifier
        parameters.append(
            inspect.Parameter(
                ident,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if param.required else None,
                annotation=_annotation(param),
            )
        )
        described[ident] = _help(param.help)
        if option_name(param.name) != ident:
            renamed[ident] = option_name(param.name)
        if param.choices:
            choices[ident] = [
                app_commands.Choice(name=c, value=c) for c in param.choices[:MAX_FIELDS]
            ]
        elif param.kind == "company":
            completers[ident] = _autocompleter(context_factory, param.many)
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__qualname__ = callback.__name__ = "chipnews_" + re.sub(r"\W", "_", spec.name)
    decorated: Any = callback
    if described:
        decorated = app_commands.describe(**described)(decorated)
    if renamed:
        decorated = app_commands.rename(**renamed)(decorated)
    if choices:
        decorated = app_commands.choices(**choices)(decorated)
    if completers:
        decorated = app_commands.autocomplete(**completers)(decorated)
    return decorated


def slash_command(
    spec: CommandSpec, context_factory: ContextFactory
) -> app_commands.Command[Any, ..., None]:
    return app_commands.Command(
        name=option_name(spec.name),
        description=_help(spec.help),
        callback=_callback(spec, context_factory),
    )


def build_tree(
    client: discord.Client,
    context_factory: ContextFactory,
    specs: Sequence[CommandSpec] | None = None,
) -> app_commands.CommandTree[discord.Client]:
    """`/chipnews` and `/chipnews-admin` with one subcommand per table entry.

    `context_factory` is called per interaction (and per autocomplete keystroke): pass one that
    returns a Context built once, e.g. `lambda: ctx` with `ctx = app.command_context()`.
    """
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(
        client, allowed_installs=app_commands.AppInstallationType(guild=True)
    )
    tree.error(on_tree_error)
    public = app_commands.Group(
        name=GROUP,
        description=GROUP_HELP,
        allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True),
    )
    admin = app_commands.Group(
        name=ADMIN_GROUP,
        description=ADMIN_GROUP_HELP,
        default_permissions=ADMIN_PERMISSIONS,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
    )
    for spec in commands() if specs is None else specs:
        (admin if spec.admin else public).add_command(slash_command(spec, context_factory))
    for group in (public, admin):
        if group.commands:
            tree.add_command(group)
    return tree


# embeds --------------------------------------------------------------------------------------


def _embed_size(embed: discord.Embed) -> int:
    size = text_len(embed.title or "") + text_len(embed.description or "")
    for item in embed.fields:
        size += text_len(item.name or "") + text_len(item.value or "")
    return size


def _lines_text(lines: Sequence[str], limit: int) -> str:
    """Escaped lines joined by newlines within `limit`: long lines are shortened, and when the
    rest do not fit an "… N more lines" line ends the text."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        rest = len(lines) - index
        reserve = 0 if rest == 1 else text_len(f"\n… {rest} more lines")
        gap = 1 if kept else 0
        room = min(limit - used - gap - reserve, MAX_DESCRIPTION)
        text = one_line(line)
        piece = inline_markdown(line, room) if room > 0 else ""
        if text and not piece:
            kept.append(f"… {rest} more lines")
            break
        kept.append(piece)
        used += gap + text_len(piece)
    return "\n".join(kept)


def inline_markdown(text: str, limit: int) -> str:
    """Reply text escaped for Discord within `limit`, its moments as `<t:unix:f>` (each reader
    sees their own zone and locale); when that does not fit, the text cut, moments as their
    fallback text."""
    parts = text.parts if isinstance(text, Phrase) else (text,)
    rendered = "".join(_markdown_part(part) for part in parts).strip()
    if text_len(rendered) <= limit:
        return rendered
    return fit(one_line(text), limit, escape_markdown)


def _markdown_part(part: str) -> str:
    if isinstance(part, Moment):
        return timestamp(part.at)
    # escaping puts the text on one line: keep the spaces that join it to its neighbours
    lead = " " if part[:1].isspace() else ""
    trail = " " if part[-1:].isspace() and part.strip() else ""
    return lead + escape_markdown(part) + trail


def card_embed(card: Card, colour: int = COLOUR) -> discord.Embed:
    url = link_url(card.url) if card.url and linkable(card.url) else None
    embed = discord.Embed(
        title=fit(one_line(card.title), MAX_TITLE, escape_markdown) or "\\(untitled\\)",
        url=url if url and len(url) <= 2048 else None,
        description=fit(one_line(card.body), CARD_BODY, escape_markdown) or None,
        colour=colour,
    )
    for name, value in card.fields[:MAX_FIELDS]:
        embed.add_field(
            name=fit(one_line(name), min(MAX_FIELD_NAME, 64), escape_markdown) or "·",
            value=inline_markdown(value, min(MAX_FIELD_VALUE, CARD_FIELD_VALUE)) or "—",
            inline=True,
        )
    return embed


def reply_embeds(reply: Reply) -> list[discord.Embed]:
    """A header embed (title, lines, the chart) then one embed per card, within Discord's message
    limits: at most 10 embeds and 6,000 characters; cards that do not fit are counted in the
    header. The chart's file must go in the same message (`chart_file`)."""
    colour = ERROR_COLOUR if reply.error else COLOUR
    title = fit(one_line(reply.title), MAX_TITLE, escape_markdown) or "ChipWire"
    budget = MAX_DESCRIPTION - (MORE_RESERVE if reply.cards else 0)
    budget = min(budget, MAX_TOTAL - text_len(title) - MORE_RESERVE)
    description = _lines_text(reply.lines, budget) if reply.lines else ""
    header = discord.Embed(title=title, description=description or None, colour=colour)
    if reply.attachment is not None:
        header.set_image(url=image_url(reply.attachment))
    embeds = [header]
    used = _embed_size(header)
    shown = 0
    for card in reply.cards:
        if len(embeds) >= MAX_EMBEDS:
            break
        embed = card_embed(card, colour)
        size = _embed_size(embed)
        if used + size > MAX_TOTAL - MORE_RESERVE:
            break
        embeds.append(embed)
        used += size
        shown += 1
    hidden = len(reply.cards) - shown
    if hidden:
        note = f"… {hidden} more not shown"
        header.description = f"{description}\n{note}" if description else note
    return embeds


# syncing -------------------------------------------------------------------------------------


def _no_context() -> Context:
    raise RuntimeError("commands are only registered here, not served")


def routed_client(api_base: str | None = None) -> discord.Client:
    """A gateway-less-capable client whose REST calls go to `api_base` (tests, proxies).

    Interaction responses and follow-ups go through discord.py's webhook adapter, which always
    uses `discord.http.Route.BASE`; only REST calls made with `client.http` are rerouted.
    """
    # Slash commands need no privileged intent; `guilds` keeps discord.py's cache coherent.
    client = discord.Client(intents=discord.Intents(guilds=True))
    if api_base is not None:
        http = _RoutedHTTPClient(client.loop, api_base)
        client.http = http
        client._connection.http = http
    return client


async def sync_commands(token: str, guild_id: int | None, api_base: str | None = None) -> int:
    """Register the slash commands (globally, or in one guild: instant, for testing) over HTTP
    only, no gateway; the number of top-level commands Discord now has."""
    client = routed_client(api_base)
    try:
        await client.login(token)
        tree = build_tree(client, _no_context)
        guild = discord.Object(id=guild_id) if guild_id is not None else None
        if guild is not None:  # a test guild gets the global set, registered instantly
            tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
        return len(synced)
    finally:
        await client.close()
