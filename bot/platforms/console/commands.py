"""`chipwire ask "company huawei"`: one command through the shared table, rendered as text.

A reply's chart is written to a file (in the working directory unless told otherwise) and its
path printed.
"""

from __future__ import annotations

from pathlib import Path

from bot.commands.help import help_reply
from bot.commands.messages import Command, Reply, error_reply, parse_command_line
from bot.commands.table import Context, dispatch
from bot.platforms.console.poster import save_chart
from bot.platforms.console.render import render_reply

CONSOLE = "console"


def standalone_reply(text: str) -> Reply | None:
    """The reply to a command that reads nothing (`help`, `help latest`), without building the
    app; None when the command needs the store, the config or the network."""
    try:
        name, args = parse_command_line(text)
    except ValueError:
        return None
    if name.lower() != "help" or len(args) > 1:
        return None  # a usage error is the table's to word
    return help_reply(args[0] if args else None)


async def ask_reply(
    context: Context, text: str, *, user: str = CONSOLE, is_admin: bool = True
) -> Reply:
    try:
        name, args = parse_command_line(text)
    except ValueError as exc:
        return error_reply(str(exc))
    command = Command(name=name, args=args, channel=CONSOLE, user=user, is_admin=is_admin)
    return await dispatch(context, command)


def answer_text(reply: Reply, out_dir: Path | None = None) -> str:
    """The rendered reply; its chart, if any, written to `out_dir` (default: the working
    directory) with the path on the last lines."""
    text = render_reply(reply)
    if reply.attachment is None:
        return text
    return text + save_chart(reply.attachment, out_dir or Path.cwd())


async def ask(
    context: Context,
    text: str,
    *,
    user: str = CONSOLE,
    is_admin: bool = True,
    out_dir: Path | None = None,
) -> str:
    """The rendered reply; `reply.error` (from `ask_reply`) tells a caller to exit non-zero."""
    reply = await ask_reply(context, text, user=user, is_admin=is_admin)
    return answer_text(reply, out_dir)
