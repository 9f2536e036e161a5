"""`help`: what each command does, from the registry."""

from __future__ import annotations

from bot.commands.binding import Param
from bot.commands.messages import Command, Reply
from bot.commands.table import Context, command, commands, spec_named, unknown


@command("help", "What each command does", Param("command", "A command to explain"))
async def _help(ctx: Context, invocation: Command, /, *, command: str | None) -> Reply:
    return help_reply(command)


def help_reply(name: str | None) -> Reply:
    """`help [command]`; reads no store and no config, so `chipwire ask help` needs neither."""
    if name:
        spec = spec_named(name)
        if spec is None:
            return unknown(name)
        lines = [f"usage: {spec.usage()}", *(f"{p.name}: {p.help}" for p in spec.params)]
        if spec.admin:
            lines.append("Only admins can use it.")
        return Reply(title=f"{spec.name}: {spec.help}", lines=tuple(lines), ephemeral=True)
    overview = tuple(
        f"{spec.usage()} — {spec.help}{' (admins)' if spec.admin else ''}" for spec in commands()
    )
    return Reply(title="ChipWire commands", lines=overview, ephemeral=True)
