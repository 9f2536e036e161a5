"""`chipwire ask "company huawei"`: one command through the shared table, rendered as text."""

from __future__ import annotations

from bot.app import App
from bot.chat.commands import Context, dispatch, make_context
from bot.chat.messages import Command, Reply, error_reply, parse_command_line
from bot.news.catalog import load_catalog
from bot.platforms.console.reply_render import render_reply

CONSOLE = "console"


def context_from_app(app: App) -> Context:
    """The command context for a built (and entered) App; the chat adapters can use it too."""
    catalog = load_catalog(extra=app.settings.catalog_path)
    return make_context(app.store, catalog, app.clock, app.settings, fetcher=app.fetcher)


async def ask_reply(app: App, text: str, *, user: str = CONSOLE, is_admin: bool = True) -> Reply:
    try:
        name, args = parse_command_line(text)
    except ValueError as exc:
        return error_reply(str(exc))
    command = Command(name=name, args=args, channel=CONSOLE, user=user, is_admin=is_admin)
    return await dispatch(context_from_app(app), command)


async def ask(app: App, text: str, *, user: str = CONSOLE, is_admin: bool = True) -> str:
    """The rendered reply; `reply.error` (from `ask_reply`) tells a caller to exit non-zero."""
    return render_reply(await ask_reply(app, text, user=user, is_admin=is_admin))
