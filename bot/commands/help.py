"""`help`: what each command does, from the registry."""

from __future__ import annotations

from bot.commands.messages import Command, Reply
from bot.commands.table import Context, Param, command, commands, spec_named, unknown


@command("help", "What each command does", Param("command", "A command to explain"))
async def _help(ctx: Context, command: Command) -> Reply:
    if command.args:
        spec = spec_named(command.args[0])
        if spec is None:
            return unknown(command.args[0])
        lines = [f"usage: {spec.usage()}", *(f"{p.name}: {p.help}" for p in spec.params)]
        if spec.admin:
            lines.append("Only admins can use it.")
        return Reply(title=f"{spec.name}: {spec.help}", lines=tuple(lines), ephemeral=True)
    overview = tuple(
        f"{spec.usage()} — {spec.help}{' (admins)' if spec.admin else ''}" for spec in commands()
    )
    return Reply(title="ChipWire commands", lines=overview, ephemeral=True)
